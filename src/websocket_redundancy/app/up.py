"""``websocket-redundancy up``: the data source, the coordinator and every tier,
supervised.

Each piece is its own process on one embedded graph: process ``i`` listens on graph
endpoint ``base_port + i`` on 127.0.0.1 and dials all the others, so no process is a
broker the rest depend on. Tokens for roles without one are generated here, handed
to the children through ``WR_TOKEN_<ROLE>`` and printed once.
"""
from __future__ import annotations

import secrets
import signal
import sys
import time

from ..core.settings import Settings, SettingsError
from .supervisor import ChildSpec, Supervisor, python_argv


def _say(text: str) -> None:
    print(text, flush=True)


def plan_children(settings: Settings, args, env: dict[str, str]) -> list[ChildSpec]:
    """The processes ``up`` runs, each with its graph endpoints and port."""
    names = [t.name for t in settings.tiers]
    if args.tiers:
        wanted = [n.strip() for n in args.tiers.split(',') if n.strip()]
        for name in wanted:
            settings.tier(name)  # raises naming the known tiers
        names = [n for n in names if n in wanted]
    pieces: list[tuple[str, list[str]]] = []
    if args.bag:
        pieces.append(('replay', ['replay', args.bag, '--rate', str(args.rate), '--loop']))
    elif not args.no_sim:
        pieces.append(('sim', ['sim', '--rate', str(args.rate)]))
    coordinated = not args.no_coordinator
    if coordinated:
        pieces.append(('coordinator', ['coordinator']))
    for index, name in enumerate(names):
        port = settings.tier(name).port if args.base_port is None else args.base_port + index
        # Under a coordinator a tier starts unconfigured, as a ROS 2 lifecycle node does,
        # and is configured and activated by it (after a crash and respawn, too).
        autostart = [] if not coordinated else ['--no-autostart']
        pieces.append((name, ['tier', name, '--port', str(port), '--endpoint', name,
                              *autostart]))

    graph_base = settings.graph.base_port if args.graph_base_port is None else args.graph_base_port
    endpoints = graph_endpoints(settings.graph.listen, graph_base, len(pieces))
    domain = settings.graph.domain if args.domain is None else args.domain
    common = ['--config', args.config] if args.config else []
    specs = []
    for i, (name, argv) in enumerate(pieces):
        graph_flags = ['--domain', str(domain), '--graph-listen', endpoints[i]]
        for j, other in enumerate(endpoints):
            if j != i:
                graph_flags += ['--graph-connect', other]
        for remote in settings.graph.connect:  # processes on other hosts
            graph_flags += ['--graph-connect', remote]
        specs.append(ChildSpec(name, python_argv(*common, '--log-level', args.log_level,
                                                  *argv, *graph_flags), env=dict(env)))
    return specs


def graph_endpoints(listen: tuple[str, ...], base_port: int, count: int) -> list[str]:
    """Each child's graph endpoint: on 127.0.0.1 from ``base_port``, or, with
    ``graph.listen`` set (several hosts), on its first endpoint's address from its port."""
    if not listen:
        return [f'tcp/127.0.0.1:{base_port + i}' for i in range(count)]
    where, _, port = listen[0].rpartition(':')
    return [f'{where}:{int(port) + i}' for i in range(count)]


def role_tokens(settings: Settings) -> tuple[dict[str, str], list[str]]:
    """Env for the children, and the roles whose tokens were generated here."""
    env, generated = {}, []
    for role, token in settings.roles.items():
        if not token:
            token = secrets.token_urlsafe(12)
            generated.append(role)
        env[f'WR_TOKEN_{role.upper()}'] = token
    return env, generated


def run_up(settings: Settings, args) -> int:
    from twisted.internet import reactor

    env, generated = role_tokens(settings)
    try:
        specs = plan_children(settings, args, env)
    except SettingsError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    tier_names = {t.name for t in settings.tiers}
    supervisor = Supervisor(reactor, specs, out=_say)
    started = time.monotonic()
    pending = {spec.name for spec in specs}
    source = next((s.name for s in specs if s.name in ('sim', 'replay')), None)
    n_tiers = sum(1 for s in specs if s.name in tier_names)
    coordinator = ' and the coordinator' if 'coordinator' in pending else ''
    _say(f'websocket-redundancy: starting {source or "no data source"}, {n_tiers} tiers{coordinator} '
         f'(graph domain {args.domain if args.domain is not None else settings.graph.domain})')

    def on_ready(name: str, line: str) -> None:
        fields = dict(part.split('=', 1) for part in line.split()[1:] if '=' in part)
        if name in tier_names:
            tier = settings.tier(name)
            _say(f'  {name:<11} ready  {fields.get("url", "?"):<24} pid {fields.get("pid", "?"):<7}'
                 f' subscribe: {tier.subscribe}')
        else:
            _say(f'  {name:<11} ready  {"":<24} pid {fields.get("pid", "?")}')
        if name in pending:
            pending.discard(name)
            if not pending:
                _summary(settings, specs, tier_names, generated, env, time.monotonic() - started)

    supervisor.on_ready = on_ready
    exit_code = [0]

    def on_fatal(name: str) -> None:
        exit_code[0] = 2
        if reactor.running:
            reactor.stop()
    supervisor.on_fatal = on_fatal
    reactor.addSystemEventTrigger('before', 'shutdown', supervisor.stop)
    reactor.callWhenRunning(supervisor.start)
    # Started in the background of a script, SIGINT may be inherited as ignored, and
    # Twisted then leaves it so; Ctrl-C / SIGINT must still stop everything cleanly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    reactor.run()
    _say('websocket-redundancy: stopped')
    return exit_code[0]


def _summary(settings, specs, tier_names, generated, env, elapsed: float) -> None:
    first = next((s for s in specs if s.name in tier_names), None)
    _say(f'all {sum(1 for s in specs if s.name in tier_names)} tiers ready in {elapsed:.1f} s.')
    if first is not None:
        port = first.argv[first.argv.index('--port') + 1]
        _say(f'  dashboard: http://127.0.0.1:{port}/   health: http://127.0.0.1:{port}/health')
    if 'team' in generated:
        _say(f'  team token (publishing needs it): {env["WR_TOKEN_TEAM"]} '
             '(set WR_TOKEN_TEAM to choose your own)')
    if any(s.name == 'coordinator' for s in specs):
        _say('  status: websocket-redundancy status   (or GET /status on any tier)')
    _say('Ctrl-C stops everything.')
