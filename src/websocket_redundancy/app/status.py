"""``websocket-redundancy status``: the coordinator's status document, from any tier.

Asks ``GET /status`` of each URL in turn (default: every configured tier's
``http://host:port``) and prints the first document as a table, or as JSON with
``--json``; ``--watch`` refreshes every second until Ctrl-C. Exit status 0 when a
document was printed, 1 when no tier answered or none had a document yet.
"""
from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from ..core.settings import Settings
from ..core.status import STATUS_VERSION, render_table


@dataclass(frozen=True)
class Answer:
    doc: dict[str, Any] | None  # the document, if any tier had one
    tried: tuple[str, ...]  # base URLs asked
    reachable: tuple[str, ...]  # those that answered at all


def base_url(url: str) -> str:
    """``ws://h:p`` or ``http://h:p/...`` as ``http://h:p`` (wss -> https)."""
    url = url.strip().rstrip('/')
    for ws, http in (('wss://', 'https://'), ('ws://', 'http://')):
        if url.startswith(ws):
            url = http + url[len(ws):]
    if '://' not in url:
        url = 'http://' + url
    return url[: -len('/status')] if url.endswith('/status') else url


def default_urls(settings: Settings) -> list[str]:
    return [base_url(t.public_url(tls=settings.security.tls)) for t in settings.tiers]


def _get(url: str, timeout: float) -> tuple[int | None, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b'null')
        except ValueError:
            return exc.code, None
    except (OSError, ValueError):
        return None, None


def fetch_status(urls: Sequence[str], timeout: float = 2.0,
                 get: Callable[[str, float], tuple[int | None, Any]] = _get) -> Answer:
    """The first status document any of ``urls`` serves, and who was asked."""
    tried, reachable = [], []
    for url in urls:
        base = base_url(url)
        tried.append(base)
        code, body = get(base + '/status', timeout)
        if code is None:
            continue
        reachable.append(base)
        if code == 200 and isinstance(body, dict) and body.get('version') == STATUS_VERSION:
            return Answer(body, tuple(tried), tuple(reachable))
    return Answer(None, tuple(tried), tuple(reachable))


def explain(answer: Answer) -> str:
    """One sentence for the person at the terminal when there is no document."""
    if not answer.reachable:
        return (f'no tier answered at {", ".join(answer.tried)}; start the system with '
                '`websocket-redundancy up` or pass --url of a running tier.')
    return (f'{", ".join(answer.reachable)} answered but has no status document yet: the '
            'coordinator is not running or not yet reporting (start it with '
            '`websocket-redundancy coordinator`).')


def run_status(settings: Settings, urls: Sequence[str] | None = None, as_json: bool = False,
               watch: bool = False, out: TextIO | None = None,
               get: Callable[[str, float], tuple[int | None, Any]] = _get) -> int:
    out = out or sys.stdout
    urls = list(urls or default_urls(settings))
    while True:
        answer = fetch_status(urls, get=get)
        if watch and out.isatty():
            out.write('\x1b[2J\x1b[H')
        if answer.doc is None:
            print(f'error: {explain(answer)}', file=sys.stderr if not watch else out)
            if not watch:
                return 1
        elif as_json:
            out.write(json.dumps(answer.doc, indent=2) + '\n')
        else:
            out.write(render_table(answer.doc))
        out.flush()
        if not watch:
            return 0
        try:
            time.sleep(1.0)
        except KeyboardInterrupt:
            return 0 if answer.doc is not None else 1
