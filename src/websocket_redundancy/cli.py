"""``websocket-redundancy``: run the whole system or one piece of it.

    up                    simulator (or --bag) + four tiers, supervised
    demo                  up, plus a random tier broken on a schedule (chaos demo)
    tier NAME             one tier
    sim                   the rover simulator
    replay PATH           a rosbag2 file at recorded pace
    coordinator           health witnesses, recovery, the status document
    status                the status document as a table (or --json)
    echo TOPIC            print a topic through the failover client

Every command reads the same configuration (``--config``, default: the packaged
``config/redundancy.yaml`` defaults) and reports a bad one as a list of sentences.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from typing import Any

from .core.settings import Settings, SettingsError, settings_from_dict


def load_settings(path: str | None) -> Settings:
    data: dict[str, Any] = {}
    if path:
        import yaml
        try:
            with open(path, encoding='utf-8') as handle:
                data = yaml.safe_load(handle) or {}
        except OSError as exc:
            raise SettingsError([f'cannot read config file {path}: {exc.strerror}']) from exc
        except yaml.YAMLError as exc:
            raise SettingsError([f'{path} is not valid YAML: {exc}']) from exc
        if not isinstance(data, dict):
            raise SettingsError([f'{path} must hold a mapping at the top level'])
    return settings_from_dict(data, os.environ)


def open_graph(settings: Settings, args: argparse.Namespace, name: str):
    """The graph this process joins, from settings and the --graph-* flags."""
    if settings.graph.mode == 'ros':
        raise SettingsError(['graph.mode ros runs under ROS 2: start it with '
                             '`ros2 launch websocket_redundancy redundancy.launch.py`'])
    try:
        from .graph.embedded.graph import EmbeddedGraph
    except ImportError as exc:
        raise SettingsError([f'the embedded graph needs its extras ({exc.name} is missing): '
                             'pip install "websocket-redundancy[embedded]"']) from exc
    domain = settings.graph.domain if args.domain is None else args.domain
    listen = args.graph_listen or list(settings.graph.listen) or None
    connect = args.graph_connect or list(settings.graph.connect) or None
    try:
        return EmbeddedGraph(domain=domain, listen=listen, connect=connect, name=name)
    except Exception as exc:  # zenoh.ZError: the endpoint is taken or not an address here
        reason = str(exc).split(' at /', 1)[0]
        raise SettingsError([
            f'{name} cannot join the embedded graph: {reason}. Another websocket-redundancy '
            'may be using these graph ports: stop it, or choose others with '
            '--graph-base-port (up), --graph-listen (one process) or graph.base_port'
        ]) from exc


def _wait_for_signal() -> None:
    """Block the main thread until SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass


def cmd_tier(settings: Settings, args) -> int:
    from dataclasses import replace

    from .app.processes import run_tier
    from .core.endpoints import default_endpoint, node_name
    tier = settings.tier(args.name)  # an unknown name fails before the graph opens
    if args.url and not args.url.startswith(('ws://', 'wss://')):
        raise SettingsError([f'--url {args.url} must start with ws:// or wss://'])
    if args.port is not None and not 0 <= args.port <= 65535:
        raise SettingsError([f'--port must be 0-65535 (0: any free port), got {args.port}'])
    endpoint = args.endpoint or default_endpoint(args.name, tier.port, args.port,
                                                 args.host or tier.host, socket.gethostname())
    # The flags are folded into the settings here, once; everything after reads the tier.
    settings = settings.with_tier(replace(
        tier, host=args.host or tier.host, url=args.url or tier.url,
        port=tier.port if args.port is None else args.port))
    return run_tier(settings, args.name, open_graph(settings, args, node_name(endpoint)),
                    autostart=args.autostart, endpoint=endpoint)


def cmd_sim(settings: Settings, args) -> int:
    from .sim.rover import RoverSim
    graph = open_graph(settings, args, 'sim')
    sim = RoverSim(graph, rate_factor=args.rate)
    sim.start()
    print(f'READY sim pid={os.getpid()}', flush=True)
    try:
        _wait_for_signal()
    finally:
        sim.stop()
        graph.close()
    return 0


def cmd_replay(settings: Settings, args) -> int:
    from .sim.replay import ReplayError, replay
    graph = open_graph(settings, args, 'replay')
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f'READY replay pid={os.getpid()}', flush=True)
    last = [-1]

    def progress(done: int, total: int, bag_s: float) -> None:
        percent = int(100 * done / total) if total else 100
        if percent // 10 != last[0] // 10 or done == total:
            last[0] = percent
            print(f'replay: {done}/{total} messages ({percent}%), {bag_s:.1f} s of bag',
                  file=sys.stderr, flush=True)
    try:
        count = replay(graph, args.path, rate=args.rate, loop=args.loop,
                       topics=args.topics or None, start_offset=args.start,
                       on_progress=progress, stop_event=stop)
    except ReplayError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    finally:
        graph.close()
    print(f'replay: published {count} messages', file=sys.stderr)
    return 0


def cmd_up(settings: Settings, args) -> int:
    from .app.up import run_up
    return run_up(settings, args)


def cmd_demo(settings: Settings, args) -> int:
    from .app.demo import run_demo
    from .core.chaos import parse_faults, parse_interval
    try:
        args.interval = parse_interval(args.interval)
        args.faults = parse_faults(args.faults)
    except ValueError as exc:
        raise SettingsError([str(exc)]) from None
    if args.duration is not None and args.duration <= 0:
        raise SettingsError([f'--duration must be a positive number of seconds, '
                             f'got {args.duration}'])
    return run_demo(settings, args)


def cmd_coordinator(settings: Settings, args) -> int:
    from dataclasses import replace

    from .app.processes import run_coordinator
    from .coordinator.shell import CoordinatorSettings
    config = CoordinatorSettings()
    if args.forget_after is not None:
        if args.forget_after <= 0:
            raise SettingsError([f'--forget-after must be a positive number of seconds, '
                                 f'got {args.forget_after}'])
        config = replace(config, forget_after=args.forget_after)
    return run_coordinator(settings, open_graph(settings, args, 'coordinator'),
                           autostart=args.autostart, config=config)


def cmd_status(settings: Settings, args) -> int:
    from .app.status import run_status
    return run_status(settings, urls=args.url or None, as_json=args.json, watch=args.watch)


def cmd_echo(settings: Settings, args) -> int:
    from .app.echo import run_echo
    return run_echo(settings, args.topic, args.type, urls=args.url or None, jsonl=args.jsonl,
                    count=args.count, token=args.token)


def _graph_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group('graph')
    group.add_argument('--domain', type=int, help='graph domain (default: from config)')
    group.add_argument('--graph-listen', action='append', metavar='ENDPOINT',
                       help='Zenoh endpoint to listen on, e.g. tcp/127.0.0.1:7450 '
                       '(default: config graph.listen)')
    group.add_argument('--graph-connect', action='append', metavar='ENDPOINT',
                       help='Zenoh endpoint of another process (repeatable; default: '
                       'config graph.connect)')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='websocket-redundancy', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config', help='YAML config (default: built-in defaults)')
    parser.add_argument('--log-level', default='WARNING',
                        choices=['DEBUG', 'INFO', 'WARNING', 'ERROR'])
    sub = parser.add_subparsers(dest='command', required=True)

    up = sub.add_parser('up', help='simulator (or a bag) and all tiers, supervised')
    up.add_argument('--bag', help='replay this rosbag2 directory or file instead of the simulator')
    up.add_argument('--rate', type=float, default=1.0, help='replay/simulation speed factor')
    up.add_argument('--no-sim', action='store_true', help='start no data source (a real rover '
                    'or another replay publishes into the graph)')
    up.add_argument('--tiers', help='comma-separated tiers to run (default: all)')
    up.add_argument('--no-coordinator', action='store_true',
                    help='run no coordinator; tiers configure and activate themselves')
    up.add_argument('--base-port', type=int,
                    help='put the tiers on BASE, BASE+1, ... in priority order')
    up.add_argument('--domain', type=int)
    up.add_argument('--graph-base-port', type=int,
                    help='graph endpoints on 127.0.0.1:N.. (default: config graph.base_port)')
    up.set_defaults(func=cmd_up)

    demo = sub.add_parser('demo', help='run the system and break a random tier on a schedule, '
                          'printing detection, failover and recovery times')
    demo.add_argument('--interval', default='20-40', metavar='S|LO-HI',
                      help='seconds between a recovery and the next fault (default 20-40)')
    demo.add_argument('--seed', type=int, help='seed of the random schedule (repeatable runs)')
    demo.add_argument('--duration', type=float, metavar='S',
                      help='stop injecting after S seconds, then print the summary')
    demo.add_argument('--faults', default='kill,hang,deactivate',
                      help='comma-separated kinds: kill (-9), hang (SIGSTOP), deactivate')
    demo.add_argument('--hang', type=float, default=3.0, metavar='S',
                      help='how long a hung tier stays stopped (default 3 s)')
    demo.add_argument('--topic', default='/gps/fix',
                      help="the built-in failover client's topic (default /gps/fix)")
    demo.add_argument('--rate', type=float, default=1.0, help='simulation speed factor')
    demo.add_argument('--base-port', type=int, help='tiers on BASE, BASE+1, ...')
    demo.add_argument('--domain', type=int)
    demo.add_argument('--graph-base-port', type=int)
    demo.set_defaults(func=cmd_demo)

    tier = sub.add_parser('tier', help='run one tier')
    tier.add_argument('name')
    tier.add_argument('--port', type=int, help='override the configured port (0: any free)')
    tier.add_argument('--no-autostart', dest='autostart', action='store_false',
                      help='start unconfigured and wait for the coordinator to configure and '
                      'activate this tier (as a ROS 2 lifecycle node does)')
    tier.add_argument('--endpoint', metavar='NAME',
                      help='endpoint id in the directory (default: the tier name on its '
                      'configured port, else TIER@HOST:PORT); a replica registers itself')
    tier.add_argument('--host', help='interface to listen on (default: tiers.NAME.host)')
    tier.add_argument('--url', help='URL announced to clients (default: ws://HOST:PORT)')
    _graph_flags(tier)
    tier.set_defaults(func=cmd_tier)

    sim = sub.add_parser('sim', help='run the rover simulator')
    sim.add_argument('--rate', type=float, default=1.0, help='speed factor')
    _graph_flags(sim)
    sim.set_defaults(func=cmd_sim)

    rep = sub.add_parser('replay', help='replay a rosbag2 directory or file (MCAP or sqlite3)')
    rep.add_argument('path')
    rep.add_argument('--rate', type=float, default=1.0, help='2.0 plays twice as fast')
    rep.add_argument('--loop', action='store_true')
    rep.add_argument('--start', type=float, default=0.0, help='skip this many seconds')
    rep.add_argument('--topics', nargs='*', help='only these topics')
    _graph_flags(rep)
    rep.set_defaults(func=cmd_replay)

    coord = sub.add_parser('coordinator', help='watch the tiers and bring failed ones back')
    coord.add_argument('--no-autostart', dest='autostart', action='store_false',
                       help='start unconfigured and wait for a change_state call')
    coord.add_argument('--forget-after', type=float, metavar='S',
                       help='drop a self-registered endpoint that has been DOWN and gone '
                       'from the graph this long (default 10 s)')
    _graph_flags(coord)
    coord.set_defaults(func=cmd_coordinator)

    status = sub.add_parser('status', help="print the coordinator's status from a tier")
    status.add_argument('--url', action='append', metavar='URL',
                        help='tier to ask, e.g. http://127.0.0.1:8080 (repeatable; default: '
                        'the configured tiers)')
    status.add_argument('--json', action='store_true', help='print the JSON document')
    status.add_argument('--watch', action='store_true', help='refresh every second')
    status.set_defaults(func=cmd_status)

    echo = sub.add_parser('echo', help='print a topic through the failover client')
    echo.add_argument('topic')
    echo.add_argument('--type', default='', help='message type, e.g. sensor_msgs/msg/Imu')
    echo.add_argument('--url', action='append', metavar='URL',
                      help='tier to use, most preferred first (repeatable; default: the '
                      'configured tiers in priority order)')
    echo.add_argument('--jsonl', action='store_true',
                      help='one JSON object per line: {"tier", "epoch", "seq", "msg"}')
    echo.add_argument('--count', type=int, help='exit after this many messages')
    echo.add_argument('--token', help='sent as Authorization: Bearer TOKEN')
    echo.set_defaults(func=cmd_echo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level,
                        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    try:
        settings = load_settings(args.config)
        return args.func(settings, args)
    except SettingsError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:  # an install that lacks a dependency
        print(f'error: websocket-redundancy {args.command} needs the Python module '
              f'{exc.name!r}, which is not installed here: pip install '
              '"websocket-redundancy[embedded]" (from a checkout: pip install ".[embedded]")',
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
