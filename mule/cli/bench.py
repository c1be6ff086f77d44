"""``python -m mule bench <suite>``: measurements an operator runs on their own machine.

- ``micro``: CPU cost of the hot paths against baselines measured in the same run (ratios, not absolute times).
- ``constancy``: whether anything observable on the wire depends on this machine's load, state or core.

Each suite lives in its own module under ``mule.bench`` and exposes ``register(subparsers, parents)``.
"""

from __future__ import annotations

import argparse
import importlib

SUITES: tuple[str, ...] = ("micro", "constancy")


def register(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("bench", parents=parents, help="measure this machine: micro, constancy")
    suites = parser.add_subparsers(dest="suite", metavar="SUITE", required=True)
    for name in SUITES:
        importlib.import_module(f"mule.bench.{name}").register(suites, parents)
