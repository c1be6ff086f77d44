"""``python -m mule search KEYWORDS``: start a search on a running node and print results as they arrive."""

from __future__ import annotations

import argparse
import json

from mule.cli.api import api_options
from mule.cli.exits import Exit
from mule.cli.status import call

KINDS = ("keyword", "source", "notes")


def register(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "search", parents=[*parents, api_options()], help="search the network through a running node (streams)"
    )
    parser.add_argument("keywords", nargs="+", help="the words to search for (a file hash for --kind source/notes)")
    parser.add_argument("--kind", choices=KINDS, default="keyword", help="what to search (default: keyword)")
    parser.add_argument("--json", action="store_true", help="one JSON object per result")
    parser.add_argument("--max", type=int, default=0, metavar="N", help="stop after N results (default: until done)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    query = " ".join(args.keywords)
    return call(args, lambda client: _stream(client, args, query))


def _stream(client, args: argparse.Namespace, query: str) -> int:
    events = client.events()  # subscribe first, so no result can arrive unseen between start and stream
    next(events)  # the opening status
    search = client.post("/searches", {"kind": args.kind, "query": query})
    if not args.json:
        print(f"search {search['id']} ({search['kind']} {query!r}) {search['state']}; results as they arrive:")
    shown: set[int] = set()  # seqs: a result can come both in the catch-up read and on the stream

    def show(result: dict) -> bool:
        """Print ``result`` once; whether ``--max`` is reached."""
        if result["seq"] not in shown:
            shown.add(result["seq"])
            _show(result, args.json)
        return bool(args.max) and len(shown) >= args.max

    done = any(show(result) for result in client.get(f"/searches/{search['id']}/results")["results"])
    for name, data in () if done else events:
        if name == "search-result" and data["search_id"] == search["id"]:
            if show(data):
                break
        elif name == "status":
            state = client.get(f"/searches/{search['id']}")["state"]
            if state in ("done", "cancelled"):
                break
    count = len(shown)
    if not args.json:
        print(f"{count} result(s)")
    return Exit.OK


def _show(result: dict, as_json: bool) -> None:
    fields = result["fields"]
    if as_json:
        print(json.dumps(fields), flush=True)
    else:
        print(f"{fields.get('file_hash', ''):32}  {fields.get('size', ''):>12}  {fields.get('name', '')}", flush=True)
