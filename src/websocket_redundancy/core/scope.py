"""Glob scopes over ROS names.

A scope is an allow-list of patterns: ``*`` matches within one name segment and
``**`` matches any number of segments (``/mission/**`` covers ``/mission/state`` and
``/mission/a/b``; ``/mission/**`` does not cover ``/mission`` itself, list both if
needed). Matching is exact otherwise: ``/odom`` does not cover ``/odom2``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_NAME = re.compile(r'^/[A-Za-z0-9_~{}/]*$')


def pattern_problem(pattern: str) -> str:
    """'' when ``pattern`` is a valid scope pattern, otherwise a sentence saying why."""
    if not isinstance(pattern, str) or not pattern:
        return f'scope pattern {pattern!r} must be a non-empty string'
    if pattern == '**':
        return ''
    if not pattern.startswith('/'):
        return f"scope pattern {pattern!r} must start with '/' (or be '**')"
    for segment in pattern[1:].split('/'):
        if segment in ('', '*', '**'):
            continue
        if '**' in segment:
            return f"scope pattern {pattern!r}: '**' must be a whole segment"
        if not re.fullmatch(r'[A-Za-z0-9_*]+', segment):
            return f'scope pattern {pattern!r}: segment {segment!r} has characters a ROS name cannot'
    return ''


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    if pattern == '**':
        return re.compile(r'^/.*$')
    parts = []
    for segment in pattern[1:].split('/'):
        if segment == '**':
            parts.append(r'(?:[^/]+(?:/[^/]+)*)')
        else:
            parts.append(re.escape(segment).replace(r'\*', r'[^/]*'))
    return re.compile('^/' + '/'.join(parts) + '$')


def is_ros_name(name: object) -> bool:
    """When ``name`` is a fully-qualified ROS topic or service name, True."""
    return isinstance(name, str) and len(name) <= 256 and bool(_NAME.match(name))


@dataclass(frozen=True)
class Scope:
    """An allow-list of glob patterns."""

    patterns: tuple[str, ...]

    def allows(self, name: str) -> bool:
        return any(_compile(p).match(name) for p in self.patterns)

    def __str__(self) -> str:
        return ', '.join(self.patterns) if self.patterns else '(nothing)'
