"""Tier URLs and the TCP/TLS endpoints behind them: the one place that parses a
``ws://``/``wss://`` URL and the one place that loads TLS support.

TLS is loaded only when a ``wss://`` URL or a TLS listener is asked for, so a plain
``ws://`` system runs without pyOpenSSL; where it is missing, the error is one sentence
that says what to install.
"""
from __future__ import annotations

import os
from urllib.parse import urlsplit

from .core.settings import SettingsError

TLS_MISSING = ('TLS (wss:// and https://) needs pyOpenSSL and service-identity, which are '
               'not installed: pip install "twisted[tls]" (Debian/Ubuntu: apt-get install '
               'python3-openssl python3-service-identity)')


def split_ws_url(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a ``ws://`` or ``wss://`` URL; ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ('ws', 'wss') or not parts.hostname:
        raise ValueError(f'tier URL {url!r} must look like ws://host:port')
    return parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == 'wss' else 80)


def status_url(ws_url: str) -> str:
    """The tier's ``GET /status`` URL (same host and port as its WebSocket)."""
    scheme, host, port = split_ws_url(ws_url)
    host = f'[{host}]' if ':' in host else host
    return f'{"https" if scheme == "wss" else "http"}://{host}:{port}/status'


def _ssl():
    """``twisted.internet.ssl``, or a SettingsError naming what to install."""
    try:
        from twisted.internet import ssl
    except ImportError as exc:
        raise SettingsError([TLS_MISSING]) from exc
    return ssl


def client_endpoint(reactor, url: str, timeout: float):
    """The endpoint that connects to the tier at ``url`` (TLS for ``wss://``)."""
    from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS

    scheme, host, port = split_ws_url(url)
    endpoint = HostnameEndpoint(reactor, host, port, timeout=timeout)
    if scheme == 'wss':
        endpoint = wrapClientTLS(_ssl().optionsForClientTLS(host), endpoint)
    return endpoint


def server_tls_context(key_file: str, cert_file: str):
    """The context a TLS listener serves with (``reactor.listenSSL``); a SettingsError
    naming the file when a key or certificate cannot be read or used."""
    for key, path in (('security.tls_cert', cert_file), ('security.tls_key', key_file)):
        if not os.access(path, os.R_OK):
            raise SettingsError([f'{key} {path} cannot be read: '
                                 f'{"no such file" if not os.path.exists(path) else "no permission"}'])
    ssl = _ssl()
    from OpenSSL import SSL
    try:
        return ssl.DefaultOpenSSLContextFactory(key_file, cert_file)
    except SSL.Error as exc:
        raise SettingsError([f'security.tls_cert {cert_file} and security.tls_key {key_file} '
                             f'are not a PEM certificate and its private key ({exc})']) from exc
