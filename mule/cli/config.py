"""``python -m mule config sample`` (the commented sample config) and ``config check [FILE]`` (every mistake)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mule.cli.exits import CommandError, Exit
from mule.config import sample_text
from mule.config.settings import ConfigProblems, default_config_path, find_config, read_config_file
from mule.node.config import ConfigError


def register(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("config", parents=parents, help="print a sample config or check one")
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    sample = actions.add_parser("sample", parents=parents, help="print the commented sample config (every key)")
    sample.set_defaults(handler=run_sample)
    check = actions.add_parser(
        "check", parents=parents, help="check a config file and report every mistake with its key"
    )
    check.add_argument("file", nargs="?", help="the file (default: --config, $MULE_CONFIG, ~/.config/mule/...)")
    check.set_defaults(handler=run_check)


def run_sample(args: argparse.Namespace) -> int:
    sys.stdout.write(sample_text())
    return Exit.OK


def run_check(args: argparse.Namespace) -> int:
    try:
        path = Path(args.file) if args.file else find_config(getattr(args, "config", None))
    except ConfigError as exc:
        raise CommandError(str(exc), Exit.CONFIG) from exc
    if path is None:
        print(f"config check: no config file at {default_config_path()} (and no --config or $MULE_CONFIG): defaults")
        return Exit.OK
    try:
        settings = read_config_file(path)
    except ConfigProblems as problems:
        for issue in problems.issues:
            print(f"{path}: {issue}", file=sys.stderr)
        print(f"config check: {len(problems.issues)} mistake(s) in {path}", file=sys.stderr)
        return Exit.CONFIG
    print(f"{path}: OK (SAM bridge {settings.sam}, data dir {settings.data_dir}, log {settings.log_level})")
    return Exit.OK
