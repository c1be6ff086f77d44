"""``python -m mule simulate``: many mule nodes (the production node core and shaper) on a virtual clock, one process.

Progress goes to stderr when it is a terminal; the figures go to stdout at the end, as text or,
with ``--json``, as one JSON object (docs/simulation.md explains each figure).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from typing import TextIO

from mule.cli.exits import CommandError, Exit


def register(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "simulate", parents=parents, help="simulate a network of mule nodes on a virtual clock and report figures"
    )
    parser.add_argument("--nodes", type=int, default=500, metavar="N", help="nodes at the start (default 500)")
    parser.add_argument("--hours", type=float, default=1.0, metavar="H", help="simulated hours (default 1)")
    parser.add_argument("--seed", type=int, default=1, metavar="S", help="the seed of every random choice (default 1)")
    parser.add_argument(
        "--churn", type=float, default=0.0, metavar="F", help="share of nodes that leave, and of new ones that join"
    )
    parser.add_argument("--loss", type=float, default=0.0, metavar="P", help="share of datagrams the network loses")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument(
        "--memory", action="store_true", help="measure memory per node with tracemalloc (slows the run down)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mule.sim import Latency, SimConfig, Simulation

    try:
        config = SimConfig(
            nodes=args.nodes, hours=args.hours, seed=args.seed, churn=args.churn, latency=Latency(loss=args.loss)
        )
    except ValueError as exc:
        raise CommandError(f"simulate: {exc}", Exit.USAGE) from exc
    if args.memory:
        tracemalloc.start()
    simulation = Simulation(config)
    progress = _progress(sys.stderr, config.seconds) if sys.stderr.isatty() else None
    figures = simulation.run(progress)
    if args.memory:
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        figures.memory = {"per_node_bytes": current / max(1, figures.nodes_live), "peak_bytes": peak}
    if progress is not None:
        print(file=sys.stderr)
    print(json.dumps(figures.as_dict(), indent=2) if args.json else figures.render())
    return Exit.OK


def _progress(stream: TextIO, end: float):
    started = time.process_time()

    def show(simulation) -> None:
        now = simulation.clock.now()
        stream.write(
            f"\r{now / 60:6.1f}/{end / 60:.0f} min simulated, {len(simulation.network.nodes)} nodes live, "
            f"{simulation.network.datagrams} datagrams, {time.process_time() - started:.1f} s CPU "
        )
        stream.flush()

    return show
