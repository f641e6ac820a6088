"""A system under test: ``websocket-redundancy up --no-sim`` on free ports, plus the
benchmark's own source publishing ``/bench/stream`` into its graph.

``tiers`` picks the tiers (all four by default); ``coordinator=False`` runs
``--no-coordinator``; ``wide=True`` lets every tier serve every topic (so a client can
fail over for ``/bench/stream``, which only the primary serves by default);
``capacity`` raises every tier's client limit. Tokens: ``TOKEN`` for the team role,
and every tier may be published to on ``/bench/**`` with it (the external-target
self-test publishes through a tier).
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import yaml

from .procs import BenchError, Child, free_port_block, http_json, python, wait_for

TIERS = ('primary', 'secondary', 'tertiary', 'emergency')
DEFAULT_SCOPES = {
    'primary': ['**'],
    'secondary': ['/odom', '/gps/fix', '/battery_state', '/rover/state', '/mission/**',
                  '/emergency_stop', '/diagnostics'],
    'tertiary': ['/emergency_stop', '/gps/fix', '/battery_state', '/diagnostics',
                 '/rover/state'],
    'emergency': ['/emergency_stop', '/gps/fix', '/battery_state'],
}
TOKEN = 'benchmark-team-token'
READY = re.compile(r'^\s*(\S+)\s+ready\b.*\bpid (\d+)')


def write_config(path: Path, *, wide: bool, capacity: int) -> Path:
    tiers = {}
    for name in TIERS:
        tiers[name] = {'subscribe': ['**'] if wide else DEFAULT_SCOPES[name],
                       'capacity': capacity,
                       'publish': ['/bench/**', '/emergency_stop'], 'publish_roles': ['team']}
    data = {'auth': {'roles': {'team': TOKEN}},
            'limits': {'max_ops_per_s': 2000},
            'tiers': tiers}
    path.write_text(yaml.safe_dump(data))
    return path


class UpSystem:
    """Start with ``start()``; ``ports[tier]``, ``pids()``, ``source(...)``; ``stop()``."""

    def __init__(self, workdir: Path, label: str, *, tiers: tuple[str, ...] = TIERS,
                 coordinator: bool = True, wide: bool = True, capacity: int = 1200) -> None:
        self.label, self.tiers, self.coordinator = label, tuple(tiers), coordinator
        self.config = write_config(Path(workdir) / f'{label}.yaml', wide=wide,
                                   capacity=capacity)
        self._assign_ports()
        self.up: Child | None = None
        self.sources: list[Child] = []
        self.piece_pids: dict[str, int] = {}

    def start(self, timeout: float = 45.0, attempts: int = 2) -> UpSystem:
        """Start ``up`` and wait until every tier answers /health active; on a busy
        machine a start can stall, so it is retried once on fresh ports."""
        for attempt in range(1, attempts + 1):
            try:
                return self._start(timeout)
            except BenchError:
                self.stop()
                if attempt == attempts:
                    raise
                self._assign_ports()
        return self

    def _start(self, timeout: float) -> UpSystem:
        argv = python('websocket_redundancy', '--config', str(self.config), 'up', '--no-sim',
                      '--base-port', str(self.base), '--graph-base-port', str(self.graph_base),
                      '--domain', str(self.domain), '--tiers', ','.join(self.tiers))
        if not self.coordinator:
            argv.append('--no-coordinator')
        self.up = Child(argv, f'up ({self.label})', on_line=self._on_line)
        self.up.wait_line('all ', timeout)
        for name, port in self.ports.items():
            wait_for(lambda port=port: self.health(port).get('state') == 'active', timeout,
                     f'{name} (port {port}) to answer /health active')
        return self

    def _assign_ports(self) -> None:
        self.base = free_port_block(len(self.tiers))
        pieces = len(self.tiers) + (1 if self.coordinator else 0)
        self.graph_base = free_port_block(pieces)
        self.endpoints = [f'tcp/127.0.0.1:{self.graph_base + i}' for i in range(pieces)]
        self.domain = 1 + self.graph_base % 200
        self.ports = {name: self.base + i for i, name in enumerate(self.tiers)}

    def _on_line(self, _at: float, line: str) -> None:
        match = READY.match(line)
        if match:
            self.piece_pids[match.group(1)] = int(match.group(2))

    @staticmethod
    def health(port: int) -> dict:
        status, body = http_json(port, '/health', timeout=1.0)
        return body if status == 200 and isinstance(body, dict) else {}

    def url(self, tier: str = 'primary') -> str:
        return f'ws://127.0.0.1:{self.ports[tier]}'

    def urls(self) -> list[str]:
        return [self.url(name) for name in self.tiers]

    def tier_pid(self, tier: str) -> int:
        pid = self.health(self.ports[tier]).get('pid')
        if not pid:
            raise RuntimeError(f'{tier} did not report its pid on /health')
        return pid

    def pids(self) -> dict[str, int]:
        """Every process of the system under test (tiers and coordinator), by name."""
        out = {name: self.tier_pid(name) for name in self.tiers}
        if self.coordinator and 'coordinator' in self.piece_pids:
            out['coordinator'] = self.piece_pids['coordinator']
        return out

    def graph_args(self) -> list[str]:
        """Arguments joining this system's graph from a new process (its own port)."""
        args = ['--domain', str(self.domain),
                '--graph-listen', f'tcp/127.0.0.1:{free_port_block(1)}']
        for endpoint in self.endpoints:
            args += ['--graph-connect', endpoint]
        return args

    def source(self, rate: float, size: int = 100, topic: str = '/bench/stream',
               max_seconds: float = 900.0) -> Child:
        """Start a source publishing into this system's graph; wait until it runs and
        the primary has seen the topic (tiers look for topics every 0.5 s)."""
        args = self.graph_args() + ['--rate', f'{rate:g}', '--size', str(size),
                                    '--topic', topic, '--max-seconds', f'{max_seconds:g}']
        child = Child(python('benchmarks.source', *args), f'source ({self.label})', stdin=True)
        child.wait_line('READY', 30)
        self.sources.append(child)
        time.sleep(1.0)  # discovery + the tiers' topic lookup
        return child

    def stop_sources(self) -> None:
        for child in self.sources:
            child.stop()
        self.sources.clear()

    def stop(self) -> None:
        self.stop_sources()
        if self.up is not None:
            self.up.stop(grace=10.0)
            self.up = None

    def __enter__(self) -> UpSystem:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
