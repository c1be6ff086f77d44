"""``python -m mule selftest --sam HOST:PORT``: does this router's SAM bridge carry mule's datagrams?

Creates two DATAGRAM sessions per datagram path (forwarded UDP and the session's TCP
socket), sends datagrams both ways on each, and prints what took how long. It uses
transient destinations, so it never touches a node's keys. The bridge and the session
options come from the config file (``sam.address``, ``sam.options``) unless flags say
otherwise. Exit codes (mule.cli.exits): 0 all delivered, 1 some path did not deliver,
3 a bad setting, 4 no usable SAM bridge, 130 interrupted. Errors are one line on stderr,
never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from mule.cli.common import settings_for
from mule.cli.exits import CommandError, Exit
from mule.cli.run import parse_options
from mule.i2p.errors import SamFailure
from mule.i2p.sam_client import SamConnection
from mule.i2p.session import DatagramPath, DatagramSession, SessionSpec
from mule.node.config import SamAddress
from mule.node.runner import Stopped, run_until_signal, unless_stopped

DEFAULT_TIMEOUT_S = 180.0
DEFAULT_COUNT = 10
PAYLOAD_BYTES = 64
SEND_INTERVAL_S = 0.5


@dataclass
class _Inbox:
    payloads: set[bytes] = field(default_factory=set)
    first_at: float | None = None

    def add(self, source: bytes, payload: bytes) -> None:
        if self.first_at is None:
            self.first_at = time.monotonic()
        self.payloads.add(payload)


@dataclass(frozen=True, slots=True)
class PathReport:
    path: DatagramPath
    sent: int
    delivered: tuple[int, int]
    """Datagrams that arrived at B (from A) and at A (from B)."""
    first_delivery_s: float | None

    def summary(self) -> str:
        first = "nothing delivered" if self.first_delivery_s is None else f"first after {self.first_delivery_s:.2f} s"
        return f"{self.path}: A->B {self.delivered[0]}/{self.sent}, B->A {self.delivered[1]}/{self.sent}, {first}"


def register(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "selftest",
        parents=parents,
        help="check that a router's SAM bridge carries datagrams both ways on both datagram paths",
    )
    parser.add_argument("--sam", metavar="HOST:PORT", help="sam.address: the router's SAM bridge (127.0.0.1:7656)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds to wait for sessions and deliveries (default {DEFAULT_TIMEOUT_S:g})",
    )
    parser.add_argument(
        "--udp-port",
        type=int,
        default=None,
        help="sam.udp_port: the bridge's UDP port for forwarded datagrams (default: SAM port - 1)",
    )
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="datagrams each way per path")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="sam.options: a session option for the router (repeatable), e.g. inbound.length=1",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.timeout <= 0 or args.count <= 0:
        raise CommandError("--timeout and --count must be positive", Exit.CONFIG)
    overrides = {
        "sam.address": args.sam,
        "sam.udp_port": args.udp_port,
        "sam.options": parse_options(args.option, "--option"),
    }
    settings = settings_for(args, overrides)
    options = dict(settings.sam_options)
    return run_until_signal(
        lambda stop: _until_stopped(
            _selftest(settings.sam, settings.sam_udp_port, options, args.timeout, args.count), stop
        )
    )


async def _until_stopped(selftest: Coroutine[Any, Any, int], stop: asyncio.Event) -> int:
    try:
        return await unless_stopped(selftest, stop)
    except Stopped:
        return Exit.INTERRUPTED


async def _selftest(sam: SamAddress, udp_port: int | None, options: dict[str, str], timeout: float, count: int) -> int:
    started = time.monotonic()
    try:
        connection = await SamConnection.open(sam.host, sam.port, timeout=min(timeout, 10.0))
    except SamFailure as exc:
        raise CommandError(
            f"{exc} - is the router running with SAM enabled (sam.address)? See docs/deploy.md",
            Exit.NO_ROUTER,
        ) from exc
    print(f"HELLO: SAM {connection.version} at {sam} in {time.monotonic() - started:.2f} s")
    await connection.close()

    run_id = os.urandom(4).hex()
    inboxes = {(path, side): _Inbox() for path in DatagramPath for side in "AB"}
    specs = {
        (path, side): SessionSpec(
            sam.host,
            sam.port,
            f"mule-selftest-{run_id}-{path}-{side}",
            None,
            path=path,
            udp_port=udp_port,
            options=options,
            session_timeout=timeout,
        )
        for path in DatagramPath
        for side in "AB"
    }
    created_at = time.monotonic()
    try:
        created = await DatagramSession.create_all([(spec, inboxes[key].add) for key, spec in specs.items()])
    except SamFailure as exc:
        raise CommandError(f"SESSION CREATE failed: {exc}", Exit.NO_ROUTER) from exc
    sessions = dict(zip(specs, created, strict=True))
    try:
        print(f"SESSION CREATE: 4 sessions (2 per path) in {time.monotonic() - created_at:.1f} s")
        reports = await asyncio.gather(*(_exchange(path, sessions, inboxes, count, timeout) for path in DatagramPath))
    finally:
        await asyncio.gather(*(session.close() for session in sessions.values()))
    for report in reports:
        print(report.summary())
    broken = [report for report in reports if min(report.delivered) < report.sent]
    if broken:
        paths = ", ".join(str(report.path) for report in broken)
        print(f"selftest: datagrams not delivered within {timeout:g} s on: {paths}", file=sys.stderr)
        return Exit.FAILED
    print(f"selftest: all datagrams delivered ({time.monotonic() - started:.1f} s in all)")
    return Exit.OK


async def _exchange(
    path: DatagramPath,
    sessions: dict[tuple[DatagramPath, str], DatagramSession],
    inboxes: dict[tuple[DatagramPath, str], _Inbox],
    count: int,
    timeout: float,
) -> PathReport:
    """Send ``count`` datagrams each way, paced, re-sending the missing ones until all arrive or time runs out."""
    a, b = sessions[(path, "A")], sessions[(path, "B")]
    at_a, at_b = inboxes[(path, "A")], inboxes[(path, "B")]
    payloads = [f"mule-selftest {path} {i:04d} ".encode().ljust(PAYLOAD_BYTES, b".") for i in range(count)]
    wanted = set(payloads)
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline and not (wanted <= at_a.payloads and wanted <= at_b.payloads):
        for payload in payloads:
            if payload not in at_b.payloads:
                _send_quietly(a, b.destination, payload)
            if payload not in at_a.payloads:
                _send_quietly(b, a.destination, payload)
            await asyncio.sleep(SEND_INTERVAL_S / count)
    first = [inbox.first_at - started for inbox in (at_a, at_b) if inbox.first_at is not None]
    delivered = (len(at_b.payloads & wanted), len(at_a.payloads & wanted))
    return PathReport(path, count, delivered, min(first) if first else None)


def _send_quietly(session: DatagramSession, destination: bytes, payload: bytes) -> None:
    with contextlib.suppress(SamFailure):  # a dropped session shows up as missing deliveries in the report
        session.send(destination, payload)
