"""rosbridge: under real ROS 2, the ROS-mode primary tier beside rosbridge_server, on one
ROS graph, at the same loads (``python -m benchmarks --ros``).

Needs a sourced ROS 2 (rclpy importable, ``rosbridge_server`` installed, ``ros2`` on the
PATH); anywhere else the scenario is recorded as skipped, with the reason. Both servers
run the whole time on their own ROS domain (``ROS_DOMAIN_ID`` from this run's ports):
the tier (``websocket_redundancy.ros.tier_node``, node ``primary``, configured and
activated with ``ros2 lifecycle set``, every topic in scope) and ``rosbridge_websocket``
(127.0.0.1). Per point (clients, rate, size) and repeat: a fresh ROS source node
(``benchmarks.source --ros``, std_msgs/msg/String, reliable, depth 10) and a fresh
``wsload`` process (plain rosbridge clients: standard frames from both servers), first
against the tier, then against rosbridge_server, then against the bare broadcaster
(``benchmarks.bare``, the yardstick of ``fanout``); the window is ``fanout``'s. The tier keeps every in-scope topic subscribed (its resume buffer) while
rosbridge_server is measured; rosbridge_server subscribes only while it has clients.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

from ..context import Context, figure
from ..procs import BenchError, Child, free_port_block, http_json, python, wait_for
from ..stats import ratio
from ..system import write_config
from .fanout import SATURATED, interleave, measure, pooled, run_bare

TARGET = 5.0  # rosbridge_server's CPU per delivered frame ÷ the tier's, at least


def missing() -> str:
    """Why this machine cannot run the scenario, or ''."""
    try:
        import rclpy  # noqa: F401
    except ImportError:
        return 'rclpy is not importable: source a ROS 2 setup (e.g. /opt/ros/jazzy/setup.bash)'
    try:
        from rosbridge_library.internal import message_conversion  # noqa: F401
    except ImportError as exc:  # the ROS tier converts with it; it needs bson (pymongo)
        return f'rosbridge_library is not importable ({exc}); install python3-bson / pymongo'
    if shutil.which('ros2') is None:
        return 'the ros2 command is not on the PATH'
    prefix = _rosbridge_prefix()
    if not prefix:
        return 'rosbridge_server is not installed in the sourced ROS 2 (apt: ros-<distro>-rosbridge-server)'
    return ''


def _rosbridge_prefix() -> str:
    try:
        done = subprocess.run(['ros2', 'pkg', 'prefix', 'rosbridge_server'], capture_output=True,
                              text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ''
    return done.stdout.strip() if done.returncode == 0 else ''


def _listening(port: int) -> bool:
    try:
        socket.create_connection(('127.0.0.1', port), timeout=1).close()
    except OSError:
        return False
    return True


class RosServers:
    """The ROS-mode tier and rosbridge_server on one fresh ROS domain."""

    def __init__(self, ctx: Context) -> None:
        self.tier_port, self.rosbridge_port = free_port_block(2), 0
        self.rosbridge_port = self.tier_port + 1
        self.env = {'ROS_DOMAIN_ID': str(100 + self.tier_port % 100)}
        self.config = write_config(ctx.out / 'work' / 'rosbridge-tier.yaml', wide=True,
                                   capacity=1200)
        self.children: list[Child] = []

    def __enter__(self) -> RosServers:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        tier = Child(python('websocket_redundancy.ros.tier_node', '--ros-args', '-r',
                            '__node:=primary', '-p', f'config_file:={self.config}', '-p',
                            f'tiers.primary.port:={self.tier_port}'),
                     'ROS tier', extra_env=self.env)
        self.children.append(tier)
        for transition in ('configure', 'activate'):
            self._lifecycle(transition)
        def active():
            status, body = http_json(self.tier_port, '/health')
            return body if status == 200 and body.get('state') == 'active' else None
        self.tier_pid = wait_for(active, 30, 'the ROS tier to answer /health active')['pid']
        script = os.path.join(_rosbridge_prefix(), 'lib', 'rosbridge_server',
                              'rosbridge_websocket')
        rosbridge = Child([script, '--ros-args', '-p', f'port:={self.rosbridge_port}',
                           '-p', 'address:=127.0.0.1'], 'rosbridge_server',
                          extra_env=self.env)
        self.children.append(rosbridge)
        wait_for(lambda: _listening(self.rosbridge_port) or rosbridge.proc.poll() is not None,
                 60, f'rosbridge_server to listen on {self.rosbridge_port}')
        if rosbridge.proc.poll() is not None:
            raise BenchError('rosbridge_server exited: ' + '\n  '.join(rosbridge.lines[-10:]))
        self.rosbridge_pid = rosbridge.pid

    def _lifecycle(self, transition: str) -> None:
        deadline = time.monotonic() + 60
        while True:
            done = subprocess.run(['ros2', 'lifecycle', 'set', '/primary', transition],
                                  capture_output=True, text=True, timeout=60,
                                  env={**os.environ, **self.env})
            if done.returncode == 0 and 'successful' in done.stdout.lower():
                return
            if time.monotonic() > deadline:
                raise BenchError(f'ros2 lifecycle set /primary {transition} failed: '
                                 f'{(done.stdout + done.stderr).strip()[-300:]}')
            time.sleep(1.0)

    def source(self, rate: float, size: int) -> Child:
        child = Child(python('benchmarks.source', '--ros', '--rate', f'{rate:g}', '--size',
                             str(size)), 'ROS source', stdin=True, extra_env=self.env)
        child.wait_line('READY', 30)
        return child

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
        self.children.clear()


def run(ctx: Context) -> dict:
    reason = missing()
    if reason:
        ctx.progress('rosbridge', text=f'skipped: {reason}')
        return {'figures': [], 'data': {}, 'skipped': reason}
    p = ctx.params
    servers = ('tier', 'rosbridge', 'bare')
    with RosServers(ctx) as ros:
        urls = {'tier': f'ws://127.0.0.1:{ros.tier_port}',
                'rosbridge': f'ws://127.0.0.1:{ros.rosbridge_port}'}
        pids = {'tier': ros.tier_pid, 'rosbridge': ros.rosbridge_pid}

        def one(server, c, r, s):
            if server == 'bare':
                return run_bare(ctx, c, r, s)
            source = ros.source(r, s)
            try:
                time.sleep(1.0)  # discovery: the server subscribes on demand
                return measure(ctx, urls[server], source, pids[server], c, r, standard=True)
            finally:
                source.stop()
        points = interleave(ctx, 'rosbridge', servers, one)
    return summarize(points, servers, p)


def summarize(points: list[dict], servers: tuple[str, ...], p: dict) -> dict:
    figures, out = [], []
    for point in points:
        row = {k: point[k] for k in ('clients', 'rate', 'size')}
        for server in servers:
            row[server] = pooled(point[server])
        t, b = row['tier'], row['rosbridge']
        row['rosbridge_over_tier'] = ratio(b['cpu_us_per_frame'], t['cpu_us_per_frame'])
        row['tier_over_bare'] = ratio(t['cpu_us_per_frame'], row['bare']['cpu_us_per_frame'])
        row['saturated'] = {server: row[server]['achieved_rate_hz'] for server in servers
                            if row[server]['achieved_rate_hz'] < SATURATED * row['rate']}
        out.append(row)
        label = f'{row["clients"]} clients × {row["rate"]:g} Hz × {row["size"]} B'
        behind = ''.join(f' ({server} reached only {hz:g} Hz)'
                         for server, hz in row['saturated'].items())
        k = row['rosbridge_over_tier']
        figures.append(figure(f'CPU/frame tier / rosbridge_server µs, {label}{behind}',
                              f'{t["cpu_us_per_frame"]} / {b["cpu_us_per_frame"]}', 'µs'))
        figures.append(figure(f'CPU/frame rosbridge_server ÷ tier, {label}', k, '×',
                              f'≥ {TARGET:g}×', None if k is None else k >= TARGET))
        figures.append(figure(f'delivered/offered tier / rosbridge_server, {label}',
                              f'{t["delivered_ratio"]} / {b["delivered_ratio"]}', 'ratio'))
        tl, bl = t['latency_ms'] or {}, b['latency_ms'] or {}
        figures.append(figure(f'latency p99 tier / rosbridge_server, {label}',
                              f'{tl.get("p99")} / {bl.get("p99")}', 'ms'))
        figures.append(figure(f'CPU/frame tier (ROS) ÷ bare, {label}', row['tier_over_bare'],
                              '×'))
    setup = (f'ROS tier (node primary) and rosbridge_server on one ROS domain, fed by a ROS '
             f'source node; {p["repeats"]} repeat(s) of {p["window_s"]:g} s windows per '
             'point, interleaved tier / rosbridge_server / bare; 1 wsload process holds all '
             'connections')
    return {'figures': figures, 'data': {'points': out, 'setup': setup}}
