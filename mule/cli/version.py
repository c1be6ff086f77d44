"""``python -m mule version``: the version, the protocol profile and the loaded core."""

from __future__ import annotations

import argparse

import mule
import mule._core as core


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("version", help="print the version and which core implementation is loaded")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    print(f"mule {mule.__version__}")
    print(f"core: {core.IMPLEMENTATION}")
    return 0
