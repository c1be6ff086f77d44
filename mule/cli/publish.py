"""``python -m mule publish FILE_HASH --name NAME --size BYTES``: ask a running node to publish a file."""

from __future__ import annotations

import argparse

from mule.cli.api import api_options
from mule.cli.exits import Exit
from mule.cli.status import call

KINDS = ("keyword", "source", "notes")


def register(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "publish",
        parents=[*parents, api_options()],
        help="publish a file's keywords, source or note via a running node",
    )
    parser.add_argument("file_hash", metavar="FILE_HASH", help="the ed2k (MD4) file hash, 32 hex digits")
    parser.add_argument("--kind", choices=KINDS, default="keyword", help="what to publish (default: keyword)")
    parser.add_argument("--name", default="", help="the file name (keyword publishes index its words)")
    parser.add_argument("--size", type=int, default=0, help="the file size in bytes")
    parser.add_argument("--note", default="", help="the comment (for --kind notes)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    body = {"kind": args.kind, "file_hash": args.file_hash, "name": args.name, "size": args.size, "note": args.note}
    info = call(args, lambda client: client.post("/publish", body))
    print(f"publish {info['id']} ({info['kind']} {info['file_hash']}) {info['state']}")
    return Exit.OK
