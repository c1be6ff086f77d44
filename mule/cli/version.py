"""``python -m mule version``: the version, the protocol profile and the loaded core."""

from __future__ import annotations

import argparse
from pathlib import Path

import mule
import mule._core as core


def register(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "version", parents=parents, help="print the version and which core implementation is loaded"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    print(f"mule {mule.__version__}")
    print(f"core: {core.IMPLEMENTATION}")
    print(f"from: {Path(mule.__file__).parent}")
    return 0
