"""``python -m mule bench micro``: being built (see the issue tracker)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("micro", parents=parents, help="not available yet")
    parser.set_defaults(handler=lambda args: 2)
