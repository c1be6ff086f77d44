"""The command line: ``python -m mule <command>``.

Each command lives in its own module under ``mule.cli`` and exposes
``register(subparsers)``, which adds its parser and sets ``handler`` to a function
taking the parsed arguments and returning the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

import mule

COMMANDS: tuple[str, ...] = ("run", "nodes", "selftest", "version")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mule",
        description="mule: an I2P-only, iMule-compatible Kad2 node with uniform wire behaviour.",
    )
    parser.add_argument("--version", action="version", version=f"mule {mule.__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (repeat for debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"mule.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args.handler(args))
    except BrokenPipeError:
        # Output piped into e.g. `head`: stop quietly, and keep Python from complaining again at exit.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
