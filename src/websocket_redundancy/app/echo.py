"""``websocket-redundancy echo TOPIC``: print a topic through the failover client.

Each message goes to stdout as it arrives (``--jsonl``: one JSON object per line,
``{"tier", "epoch", "seq", "msg"}``; otherwise a short line), flushed per line. Tier
switches, gaps and scope changes go to stderr with a wall-clock timestamp. Stops after
``--count`` messages, on Ctrl-C, or when stdout is closed (``| head``).
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import IO, Any

from ..core.settings import Settings

SHORT = 160


def default_urls(settings: Settings) -> list[str]:
    """The configured tiers' WebSocket URLs, most preferred first."""
    return [tier.public_url(tls=settings.security.tls) for tier in sorted(settings.tiers, key=lambda t: t.priority)]


def stamp() -> str:
    now = time.time()
    return time.strftime('%H:%M:%S', time.localtime(now)) + f'.{int(now % 1 * 1000):03d}'


def describe(kind: str, detail: Any) -> str:
    """One human line for a client event."""
    if kind == 'tier_changed':
        return f'tier changed: {detail.previous or "-"} -> {detail.current} ({detail.reason})'
    if kind == 'gap':
        return (f'gap on {detail.topic} at {detail.tier}: {detail.reason} '
                f'(after {detail.last}, next {detail.next})')
    if kind in ('scope_degraded', 'scope_restored'):
        what = 'outside' if kind == 'scope_degraded' else 'back in'
        return f'{kind}: {detail.topic} is {what} the scope of {detail.tier}'
    if kind == 'all_down':
        return f'all tiers down (attempt {detail.attempt}); retrying in {detail.retry_in:.2f} s'
    return f'{kind}: {detail}'


class Echo:
    """Formats deliveries and events; counts towards ``count``."""

    def __init__(self, out: IO[str], err: IO[str], jsonl: bool, count: int | None,
                 on_done) -> None:
        self.out, self.err, self.jsonl = out, err, jsonl
        self.count, self.seen, self.on_done = count, 0, on_done

    def message(self, msg: Any, meta) -> None:
        if self.count is not None and self.seen >= self.count:
            return
        if self.jsonl:
            line = json.dumps({'tier': meta.tier, 'epoch': meta.epoch, 'seq': meta.seq,
                               'msg': msg}, separators=(',', ':'))
        else:
            body = json.dumps(msg, separators=(',', ':'))
            if len(body) > SHORT:
                body = body[:SHORT - 3] + '...'
            line = f'[{meta.tier} #{meta.seq}] {body}'
        try:
            self.out.write(line + '\n')
            self.out.flush()
        except (BrokenPipeError, ValueError):
            self.on_done()
            return
        self.seen += 1
        if self.count is not None and self.seen >= self.count:
            self.on_done()

    def event(self, kind: str, detail: Any) -> None:
        self.err.write(f'{stamp()} {describe(kind, detail)}\n')
        self.err.flush()


def run_echo(settings: Settings, topic: str, type_name: str = '',
             urls: Sequence[str] | None = None, jsonl: bool = False,
             count: int | None = None, token: str | None = None) -> int:
    from twisted.internet import reactor

    from ..client.shell import EVENT_KINDS, FailoverClient

    if not topic.startswith('/'):
        print(f'error: topic {topic!r} must start with /, e.g. /{topic}', file=sys.stderr)
        return 2
    if count is not None and count < 1:
        print(f'error: --count must be at least 1, got {count}', file=sys.stderr)
        return 2
    urls = list(urls or default_urls(settings))
    try:
        client = FailoverClient(urls, token=token)
    except ValueError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2

    def done() -> None:
        if reactor.running:
            reactor.stop()

    echo = Echo(sys.stdout, sys.stderr, jsonl, count, done)
    for kind in EVENT_KINDS:
        client.on(kind, lambda detail, kind=kind: echo.event(kind, detail))
    client.subscribe(topic, type_name, echo.message)
    reactor.addSystemEventTrigger('before', 'shutdown', client.close)
    print(f'{stamp()} echo {topic} via {", ".join(urls)}', file=sys.stderr, flush=True)
    reactor.callWhenRunning(client.connect)
    reactor.run()
    return 0
