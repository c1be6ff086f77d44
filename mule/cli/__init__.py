"""The command line: ``python -m mule <command>``.

Each command lives in its own module under ``mule.cli`` and exposes ``register(subparsers, parents)``,
which adds its parser (with the common options in ``parents``) and sets ``handler`` to a function taking
the parsed arguments and returning an exit code from ``mule.cli.exits``. A handler may raise
``CommandError`` for a one-line failure; nothing else ever reaches the terminal as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

import mule
from mule.cli.exits import CommandError, Exit

COMMANDS: tuple[str, ...] = (
    "run",
    "config",
    "nodes",
    "selftest",
    "bench",
    "simulate",
    "version",
    "api",
    "status",
    "search",
    "publish",
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or with ``only`` one command's module imported and the others as bare names.

    Importing only the chosen command keeps ``run`` from loading the self-test (a declared exception of the
    one-outbound-gate rule) and keeps quick commands quick.
    """
    from mule.cli.common import common_options

    common = common_options()
    parser = argparse.ArgumentParser(
        prog="python -m mule",
        parents=[common],
        description="mule: an I2P-only, iMule-compatible Kad2 node with uniform wire behaviour. "
        "Exit codes: 0 ok, 1 check failed, 2 usage, 3 config or data dir, 4 no router, 5 data dir locked, "
        "70 internal error, 130 interrupted (docs/deploy.md).",
    )
    parser.add_argument("--version", action="version", version=f"mule {mule.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if only is None or name == only:
            importlib.import_module(f"mule.cli.{name}").register(subparsers, [common])
        else:
            subparsers.add_parser(name, parents=[common], add_help=False)
    return parser


def _parse(argv: Sequence[str] | None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    words = list(sys.argv[1:] if argv is None else argv)
    guess = next((word for word in words if word in COMMANDS), None)
    parser = build_parser(guess)
    args = parser.parse_args(words)
    if guess is not None and args.command != guess:  # the guess was an option's value: parse with every command
        parser = build_parser()
        args = parser.parse_args(words)
    return parser, args


def _fail(message: str, code: int) -> int:
    for line in message.splitlines() or [""]:
        print(f"mule: {line}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = None
    try:
        parser, args = _parse(argv)
        if getattr(args, "handler", None) is None:
            parser.print_help()
            return Exit.OK
        # run and selftest configure logging from their settings; version logs nothing (and starts fast)
        if args.command not in ("run", "selftest", "version"):
            from mule.cli.common import configure_default_logging

            configure_default_logging(args)
        return int(args.handler(args))
    except CommandError as exc:
        return _fail(str(exc), exc.code)
    except ImportError as exc:
        # mule._core failed to import, so its CompiledCoreMissing cannot be imported to compare with: match the name.
        if type(exc).__name__ == "CompiledCoreMissing":
            return _fail(f"{exc}; build it with `pip install -e .` (or install the wheel)", Exit.CONFIG)
        raise
    except KeyboardInterrupt:
        return _fail("interrupted", getattr(args, "interrupt_code", Exit.INTERRUPTED))
    except BrokenPipeError:
        # Output piped into e.g. `head`: stop quietly, and keep Python from complaining again at exit.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return Exit.OK
    except Exception as exc:
        if getattr(args, "verbose", 0):
            traceback.print_exc(file=sys.stderr)
        return _fail(f"internal error: {exc!r}; rerun with -v for the traceback and please report it", Exit.INTERNAL)
