"""``python -m benchmarks [--smoke|--quick|--full] [--only NAME ...] [--out DIR]``

Runs the named scenarios (default: all, in the order below), one line of progress per
trial or step on stderr, and writes ``results.json``, ``results.md`` and PNG plots
into ``--out`` (default ``benchmarks/results/<timestamp>/``). Ctrl-C stops cleanly:
every child process is stopped (a SIGSTOPped tier gets SIGCONT first) and the
scenarios completed so far are written.

``--soak-minutes M`` and ``--stress-minutes M`` set those scenarios' durations.

``--ros`` adds the ``rosbridge`` scenario to the chosen ones (the ROS-mode tier beside
rosbridge_server on one ROS 2 graph; it needs a sourced ROS 2 and is recorded as skipped
elsewhere); ``--only rosbridge`` runs it alone.

External target (fanout and latency): ``--target ws://HOST:PORT --source-cmd CMD``
measures another rosbridge server beside ours. CMD publishes the source topic into
that server's graph; ``{rate}``, ``{size}`` and ``{topic}`` in it are filled in, and
each ``msg.data`` must start "<index> <send time> " (``python -m benchmarks.source
--ws URL`` does this through any rosbridge server).
"""
from __future__ import annotations

import argparse
import importlib
import shlex
import signal
import sys
import time
import traceback
from pathlib import Path

from . import procs, report
from .context import Context
from .profiles import DEFAULT, ORDER, PROFILES

RESULTS = Path(__file__).resolve().parent / 'results'


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='python -m benchmarks', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    for name, help_text in (('smoke', 'tiny: each scenario 1-2 trials, about 2-3 minutes'),
                            ('quick', 'every scenario, small (default)'),
                            ('full', 'the published figures, about 1.5 h (soak is 60 min)')):
        mode.add_argument(f'--{name}', dest='mode', action='store_const', const=name,
                          help=help_text)
    parser.add_argument('--only', nargs='+', choices=ORDER, metavar='NAME',
                        help=f'run only these scenarios ({", ".join(ORDER)})')
    parser.add_argument('--ros', action='store_true',
                        help='also run rosbridge: the ROS-mode tier beside rosbridge_server '
                             '(needs a sourced ROS 2 with rosbridge_server)')
    parser.add_argument('--out', type=Path, help='where to write (default: '
                        'benchmarks/results/<timestamp>/)')
    parser.add_argument('--target', help='another rosbridge server, ws://HOST:PORT, for '
                        'fanout and latency')
    parser.add_argument('--source-cmd', help='shell command publishing the source topic into '
                        "the target's graph ({rate}, {size}, {topic} are filled in)")
    parser.add_argument('--soak-minutes', type=float, metavar='M',
                        help="soak's duration (default: full 60, quick 3, smoke 2/3)")
    parser.add_argument('--stress-minutes', type=float, metavar='M',
                        help="stress's duration under load (default: full 10, quick 1, "
                             'smoke 0.2)')
    parser.set_defaults(mode='quick')
    return parser


def _params(args: argparse.Namespace, name: str) -> dict:
    params = dict(PROFILES[args.mode][name])
    minutes = {'soak': args.soak_minutes, 'stress': args.stress_minutes}.get(name)
    if minutes is not None:
        params['duration_s'] = round(60 * minutes, 1)
    return params


def _terminate(_signum, _frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for option in ('soak_minutes', 'stress_minutes'):
        if getattr(args, option) is not None and getattr(args, option) <= 0:
            parser.error(f'--{option.replace("_", "-")} must be positive')
    if bool(args.target) != bool(args.source_cmd):
        parser.error('--target and --source-cmd go together: the target needs a source '
                     'publishing /bench/stream into its graph')
    out = args.out or RESULTS / time.strftime('%Y%m%d-%H%M%S')
    (out / 'work').mkdir(parents=True, exist_ok=True)
    chosen = set(args.only or DEFAULT)
    if args.ros:
        chosen.add('rosbridge')
    names = [n for n in ORDER if n in chosen]
    command = 'python -m benchmarks ' + ' '.join(shlex.quote(a) for a in
                                                 (sys.argv[1:] if argv is None else argv))
    results = {'command': command.strip(), 'mode': args.mode, 'machine': procs.machine(),
               'started_at': time.strftime('%Y-%m-%d %H:%M:%S %z'),
               'target': args.target, 'scenarios': {}}
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _terminate)
    # Started in the background of a script, SIGINT arrives ignored; Ctrl-C must still stop.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print(f'benchmarks: {args.mode} mode, {", ".join(names)} -> {out}', file=sys.stderr)
    code = 0
    try:
        for name in names:
            ctx = Context(args.mode, _params(args, name), out, args.target,
                          args.source_cmd, started=started)
            scenario_started = time.monotonic()
            ctx.progress(name, text='starting')
            module = importlib.import_module(f'.scenarios.{name}', __package__)
            try:
                result = module.run(ctx)
            except procs.BenchError as exc:
                result = {'figures': [], 'data': {}, 'error': str(exc)}
                ctx.progress(name, text=f'FAILED: {exc}')
                code = 1
            except Exception as exc:  # a bug in a scenario must not lose the others' results
                result = {'figures': [], 'data': {}, 'error': f'{type(exc).__name__}: {exc}',
                          'traceback': traceback.format_exc()}
                ctx.progress(name, text=f'FAILED: {type(exc).__name__}: {exc}')
                code = 1
            finally:
                procs.stop_all()
            result['wall_s'] = round(time.monotonic() - scenario_started, 1)
            results['scenarios'][name] = result
            ctx.progress(name, text=f'done in {result["wall_s"]:.0f} s')
    except KeyboardInterrupt:
        print('benchmarks: interrupted; stopping every child and writing what was measured',
              file=sys.stderr)
        results['interrupted'] = True
        code = 130
    finally:
        procs.stop_all()
        results['wall_s'] = round(time.monotonic() - started, 1)
        report.write(out, results)
    print(f'benchmarks: wrote {out / "results.md"} ({results["wall_s"]:.0f} s)',
          file=sys.stderr)
    print((out / 'results.md').read_text())
    return code
