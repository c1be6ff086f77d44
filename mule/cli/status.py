"""``python -m mule status [--json]``: a running node's status, through its local API."""

from __future__ import annotations

import argparse
import json

from mule.cli.api import api_client, api_options
from mule.cli.exits import CommandError, Exit


def register(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "status", parents=[*parents, api_options()], help="a running node's status (through its API)"
    )
    parser.add_argument("--json", action="store_true", help="the status, routing zones and shaper figures as JSON")
    parser.set_defaults(handler=run)


def call(args: argparse.Namespace, action):  # runs ``action(client)``, API failures as one-line command errors
    from mule.api.client import ApiRefused, ApiUnreachable

    client = api_client(args)
    try:
        return action(client)
    except ApiUnreachable as exc:
        raise CommandError(f"{exc}; is the node running with api.enabled = true?", Exit.FAILED) from exc
    except ApiRefused as exc:
        code = Exit.CONFIG if exc.code == "unauthorized" else Exit.FAILED
        raise CommandError(f"the node refused: {exc}", code) from exc


def release_line(release: dict | None) -> str:
    """The release thread, which keeps each datagram's instant on the wire (absent on the SAM TCP path)."""
    if release is None:
        return "release   none: datagrams leave when the event loop hands them over (the SAM TCP path)"
    priority = "SCHED_FIFO" if release["realtime"] else "the process's priority (SCHED_FIFO not allowed here)"
    return (
        f"release   thread at {priority}: lateness p50 {release['lateness_p50'] * 1e3:.3f} ms "
        f"p99 {release['lateness_p99'] * 1e3:.3f} ms max {release['lateness_max'] * 1e3:.3f} ms "
        f"over {release['samples']} sends, {release['refused']} refused by the kernel"
    )


def run(args: argparse.Namespace) -> int:
    status, routing, shaper = call(args, lambda c: (c.get("/status"), c.get("/routing"), c.get("/shaper")))
    if args.json:
        print(json.dumps({"status": status, "zones": routing["zones"], "shaper": shaper}, indent=2))
        return Exit.OK
    quantiles = shaper["lateness_quantiles"]
    print(f"node {status['kad_id']} at {status['destination']}")
    print(f"contacts  {status['contacts']} ({status['verified']} verified), {status['seeds']} seeds")
    print(
        f"zones     {len(routing['zones'])} leaves, fullest {max((z['contacts'] for z in routing['zones']), default=0)}"
    )
    print(
        f"traffic   {status['sent']} sent, {status['queued']} queued, {status['admitted']} admitted, "
        f"{status['dropped_inputs']} inputs dropped"
    )
    print(
        f"shaper    {shaper['profile']}: {shaper['capped']} capped, {shaper['congested']} congested "
        f"({shaper['expired']} past deadline), lateness p50 {quantiles['0.5'] * 1e3:.1f} ms "
        f"p99 {quantiles['0.99'] * 1e3:.1f} ms"
    )
    print(release_line(shaper.get("release")))
    print(f"faults    {status['faults']}")
    return Exit.OK
