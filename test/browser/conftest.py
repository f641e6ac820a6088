"""Browser tests: the dashboard and a roslibjs-style page in real Chromium (Playwright
drives the system's /usr/bin/chromium; no browser is ever downloaded) against
`websocket-redundancy up`. Skipped, with the reason, only when Chromium is missing."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'test'))  # the integration harness, as pytest imports it
from integration.harness import Process, child_env, cli, free_port_block, http_json, wait_for  # noqa: E402

ARTIFACTS = ROOT / 'test-artifacts'
TOKEN = 'browser-team-token'
TIERS = ('primary', 'secondary', 'tertiary', 'emergency')
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync']


def chromium_path() -> str | None:
    for candidate in (os.environ.get('WR_CHROMIUM'), '/usr/bin/chromium',
                      shutil.which('chromium'), shutil.which('chromium-browser')):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f'rep_{report.when}', report)


@pytest.fixture(scope='module')
def system():
    """`up` on free ports, with a team token; the ports by tier name and the process."""
    base = free_port_block(4)
    graph = free_port_block(6)
    up = Process(cli('up', '--base-port', str(base), '--graph-base-port', str(graph),
                     '--domain', str(graph % 200)), child_env(WR_TOKEN_TEAM=TOKEN))
    try:
        up.wait_line('tiers ready', timeout=60)
        yield {name: base + i for i, name in enumerate(TIERS)} | {'up': up}
    finally:
        up.stop()


@pytest.fixture(scope='module')
def browser():
    path = chromium_path()
    if path is None:
        pytest.skip('Chromium not found at /usr/bin/chromium (or WR_CHROMIUM): install it with '
                    '`apt-get install chromium`; .ci/run does')
    sync_api = pytest.importorskip('playwright.sync_api',
                                   reason='playwright is in the test extra: pip install -e ".[test]"')
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    """A fresh page; on failure its screenshot and console go to test-artifacts/."""
    context = browser.new_context(viewport={'width': 1400, 'height': 1000})
    pg = context.new_page()
    console: list[str] = []
    pg.on('console', lambda m: console.append(f'{m.type}: {m.text}'))
    pg.on('pageerror', lambda e: console.append(f'pageerror: {e}'))
    pg.console_lines = console
    yield pg
    failed = any(getattr(request.node, f'rep_{w}', None) is not None
                 and getattr(request.node, f'rep_{w}').failed for w in ('setup', 'call'))
    if failed:
        ARTIFACTS.mkdir(exist_ok=True)
        try:
            pg.screenshot(path=str(ARTIFACTS / f'{request.node.name}.png'), full_page=True)
        except Exception as exc:  # the page may be gone; say so next to the log
            console.append(f'screenshot failed: {exc}')
        (ARTIFACTS / f'{request.node.name}.console.txt').write_text('\n'.join(console))
    context.close()


def kill_primary(system) -> int:
    """kill -9 the primary tier (pid from its /health); its pid."""
    import signal
    status, health = http_json(system['primary'], '/health')
    assert status == 200, f'primary /health answered {status}'
    os.kill(health['pid'], signal.SIGKILL)
    return health['pid']


def wait_primary_back(system, old_pid: int, timeout: float = 30) -> None:
    def back():
        status, health = http_json(system['primary'], '/health', timeout=0.5)
        return status == 200 and health['pid'] != old_pid
    wait_for(back, timeout, 'the primary to be restarted by up and active again')
