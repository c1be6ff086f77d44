"""``python -m mule bench constancy``: whether anything observable on the wire depends on this machine.

Runs a real node (uvloop, the real clock, one process per run) under conditions interleaved in
randomized blocks, measures what an observer measures, and writes ``report.html`` (with its main
figure), ``constancy.json`` (summary and raw per-run samples) and a one-line verdict.
``--compare A.json B.json`` says whether two such files (two machines, two versions) can be told
apart. Needs the ``bench`` extra (scikit-learn, matplotlib, scipy); docs/constancy.md explains it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import time
from pathlib import Path

from mule.cli.exits import CommandError, Exit

EXTRAS = ("sklearn", "matplotlib", "scipy")
INSTALL_HINT = "pip install 'mule[bench]'  (or: pip install scikit-learn matplotlib scipy)"


def register(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "constancy",
        parents=parents,
        help="is anything on the wire a function of this machine's load, core, table or neighbours?",
        description="Measure a real node under conditions in randomized blocks; write report.html, constancy.json "
        "and a verdict (exit 0: nothing told apart and every control caught; 1 otherwise).",
    )
    parser.add_argument("--quick", action="store_true", help="6 blocks of 2.5 s runs (under 10 minutes on 2 cores)")
    parser.add_argument("--out", type=Path, default=Path("constancy-report"), help="directory for the report")
    parser.add_argument("--blocks", type=int, help="blocks (each runs every condition once)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the block order and probe schedules")
    parser.add_argument("--conditions", help="comma-separated subset (idle is always included)")
    parser.add_argument("--leak", help="make every node leaky with this control (to check --compare catches it)")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A.json", "B.json"), help="two constancy.json files")
    parser.set_defaults(handler=handle)


def _check_extras() -> None:
    missing = [name for name in EXTRAS if importlib.util.find_spec(name) is None]
    if missing:
        raise CommandError(f"the constancy bench needs {', '.join(missing)}: {INSTALL_HINT}", Exit.CONFIG)


def handle(args: argparse.Namespace) -> int:
    _check_extras()
    from mule.bench.constancy import summary

    if args.compare:
        return summary.compare_files(*args.compare, out=args.out if args.out != Path("constancy-report") else None)
    from mule.bench.constancy import controls, runner
    from mule.node.priority import DEPLOYED_NICE

    settings = dict(runner.QUICK if args.quick else runner.FULL)
    if args.blocks:
        settings["blocks"] = args.blocks
    chosen = runner.CONDITIONS
    if args.conditions:
        wanted = {"idle", *args.conditions.split(",")}
        unknown = wanted - {c.name for c in runner.CONDITIONS}
        if unknown:
            raise CommandError(f"unknown condition(s): {', '.join(sorted(unknown))}", Exit.USAGE)
        chosen = tuple(c for c in runner.CONDITIONS if c.name in wanted)
    niceness = runner.node_niceness()
    if niceness > DEPLOYED_NICE:
        print(
            f"constancy: the nodes run at niceness {niceness} here, the hogs' own (raising it to {DEPLOYED_NICE} "
            "needs root, CAP_SYS_NICE or RLIMIT_NICE): loaded measures a node at equal priority",
            file=sys.stderr,
            flush=True,
        )
    if args.leak is not None and args.leak not in controls.CONTROLS:
        raise CommandError(f"--leak must be one of {', '.join(controls.CONTROLS)}", Exit.USAGE)
    plan = runner.Plan(
        int(settings["blocks"]),
        float(settings["duration"]),
        float(settings["rate"]),
        args.seed,
        chosen,
        args.leak,
        niceness,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    print(
        f"constancy: {plan.blocks} blocks x {len(chosen)} conditions, {plan.duration:g} s runs at {plan.rate:g} "
        f"requests/s; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    runs = runner.measure(plan, lambda line: print(line, file=sys.stderr, flush=True))
    measured = time.monotonic() - started
    print("constancy: analysing (statistics and classifiers) ...", file=sys.stderr, flush=True)
    machine = (
        f"{platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()} · load average {os.getloadavg()[0]:.2f} at the end · "
        f"measured in {measured / 60:.1f} min"
    )
    result = summary.build(plan, runs, machine, permutations=19 if args.quick else 99)
    result["timing"] = {"measure_s": measured, "total_s": time.monotonic() - started}
    summary.write(result, runs, args.out)
    print(result["verdict"])
    print(f"report: {args.out / 'report.html'} ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    return 0 if result["ok"] else 1
