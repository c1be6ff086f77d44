"""``python -m mule nodes inspect PATH [--json]``: what a nodes.dat holds."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from mule.cli.exits import Exit
from mule.kad.destination import is_imule_destination, to_base64
from mule.kad.errors import CorruptFile
from mule.kad.files.nodes_dat import NodesDat, read_nodes_dat


def register(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("nodes", parents=parents, help="inspect a nodes.dat file")
    actions = parser.add_subparsers(dest="nodes_action", metavar="ACTION", required=True)
    inspect = actions.add_parser(
        "inspect", parents=parents, help="summarise a nodes.dat (version, contacts, Kad versions)"
    )
    inspect.add_argument("path", help="the nodes.dat file")
    inspect.add_argument("--json", action="store_true", help="print every contact as JSON")
    inspect.set_defaults(handler=run_inspect)


def _summary(nodes: NodesDat) -> str:
    kind = " (bootstrap edition)" if nodes.is_bootstrap else ""
    histogram = Counter(entry.contact.version for entry in nodes.entries)
    versions = ", ".join(f"v{version}: {count}" for version, count in sorted(histogram.items())) or "none"
    verified = sum(entry.verified for entry in nodes.entries)
    return (
        f"nodes.dat version {nodes.version}{kind}\n"
        f"contacts: {len(nodes.entries)} ({verified} verified)\n"
        f"kad versions: {versions}"
    )


def _as_json(nodes: NodesDat) -> str:
    contacts = [
        {
            "kad_id": f"{entry.contact.kad_id:032x}",
            "version": entry.contact.version,
            "dest_hash": f"{entry.contact.hash_code:08x}",
            "dest_valid": is_imule_destination(entry.contact.udp_dest),
            "udp_key": entry.udp_key,
            "udp_key_ip": f"{entry.udp_key_ip:08x}",
            "verified": entry.verified,
            "dest": to_base64(entry.contact.udp_dest),
        }
        for entry in nodes.entries
    ]
    document = {"version": nodes.version, "edition": nodes.edition, "count": len(contacts), "contacts": contacts}
    return json.dumps(document, indent=2)


def run_inspect(args: argparse.Namespace) -> int:
    try:
        nodes = read_nodes_dat(args.path)
    except CorruptFile as exc:
        print(f"nodes inspect: {args.path}: {exc}", file=sys.stderr)
        return Exit.FAILED
    except OSError as exc:
        print(f"nodes inspect: {args.path}: {exc.strerror or exc}", file=sys.stderr)
        return Exit.FAILED
    print(_as_json(nodes) if args.json else _summary(nodes))
    return Exit.OK
