"""Who may connect from where: the Origin allow-list and the TLS files.

Browsers send ``Origin``; other clients (roslibpy, the failover client, scripts) do
not, and are let through to the token checks. A browser page is accepted when its
origin is the tier's own (same origin as the ``Host`` it asked for), one of the
configured tiers' origins (the dashboard served by one tier talks to all of them), or
matches ``security.allowed_origins`` (``*`` matches any run of characters, so
``http://127.0.0.1:*`` is any port on loopback; ``*`` alone allows every origin).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

DEFAULT_ORIGINS = ('http://127.0.0.1:*', 'http://localhost:*', 'http://[::1]:*')


@dataclass(frozen=True)
class SecuritySettings:
    allowed_origins: tuple[str, ...] = DEFAULT_ORIGINS
    tls_cert: str = ''  # PEM files; both set: tiers serve wss:// and https://
    tls_key: str = ''

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert and self.tls_key)


@lru_cache(maxsize=256)
def _pattern(glob: str) -> re.Pattern[str]:
    return re.compile('^' + '.*'.join(re.escape(p) for p in glob.split('*')) + '$')


def origin_of(url: str) -> str:
    """'ws://host:8080/x' -> 'http://host:8080' (the origin a page served there has)."""
    parts = urlsplit(url)
    scheme = {'ws': 'http', 'wss': 'https'}.get(parts.scheme, parts.scheme)
    return f'{scheme}://{parts.netloc}'.lower()


def origin_allowed(origin: str | None, host: str | None, allowed: Iterable[str],
                   tier_urls: Iterable[str] = ()) -> bool:
    """When a handshake carries ``origin`` (None: not a browser), may it connect?"""
    if not origin:
        return True
    origin = origin.lower().rstrip('/')
    if host and urlsplit(origin).netloc == host.lower():
        return True
    if origin in {origin_of(u) for u in tier_urls}:
        return True
    return any(_pattern(p.lower().rstrip('/')).match(origin) for p in allowed)


def security_from_dict(data: Any, problems: list[str]) -> SecuritySettings:
    """Parse the ``security`` section, adding a sentence to ``problems`` per error."""
    if data is None:
        return SecuritySettings()
    if not isinstance(data, Mapping):
        problems.append(f'security must be a mapping, got {data!r}')
        return SecuritySettings()
    for key in data:
        if key not in ('allowed_origins', 'tls_cert', 'tls_key'):
            problems.append(f"security: unknown key {key!r} (known keys: allowed_origins, "
                            'tls_cert, tls_key)')
    origins = data.get('allowed_origins', list(DEFAULT_ORIGINS))
    if isinstance(origins, str) or not isinstance(origins, (list, tuple)) or not all(
            isinstance(o, str) and o for o in origins):
        problems.append('security.allowed_origins must be a list of origins like '
                        f"'https://dash.example.org' or 'http://127.0.0.1:*', got {origins!r}")
        origins = list(DEFAULT_ORIGINS)
    cert, key = data.get('tls_cert', '') or '', data.get('tls_key', '') or ''
    if not isinstance(cert, str) or not isinstance(key, str):
        problems.append('security.tls_cert and security.tls_key must be file paths')
        cert, key = '', ''
    elif bool(cert) != bool(key):
        problems.append('security.tls_cert and security.tls_key go together: set both PEM '
                        'files for wss://, or neither')
    return SecuritySettings(tuple(origins), cert, key)
