"""``python -m mule run``: the node's main job, against an I2P router's SAM bridge (or the offline test bed)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from mule.clock import LoopClock
from mule.i2p.address import b32_address
from mule.i2p.errors import SamConnectionError, SamFailure
from mule.i2p.transport import SamTransport
from mule.node.config import (
    DEFAULT_SAM_HOST,
    DEFAULT_SAM_PORT,
    ConfigError,
    SamAddress,
    default_data_dir,
    parse_sam_address,
    prepare_data_dir,
)
from mule.node.runner import run_until_signal
from mule.node.service import NodeService

EXIT_CONFIG = 2
EXIT_NO_ROUTER = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the node (needs an I2P router with SAM enabled)",
        description="Run a mule node against an I2P router's SAM bridge until SIGINT/SIGTERM.",
    )
    parser.add_argument(
        "--sam",
        default=f"{DEFAULT_SAM_HOST}:{DEFAULT_SAM_PORT}",
        metavar="HOST:PORT",
        help="the router's SAM bridge (default: %(default)s)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"keys and Kad state (default: {default_data_dir()})",
    )
    parser.add_argument(
        "--testbed",
        action="store_true",
        help="no I2P access needed: start real i2pd routers in a loopback-only network namespace (root) and run "
        "the node with a few peer nodes on them; see docs/testing.md",
    )
    parser.add_argument("--peers", type=int, default=4, help="with --testbed: peer nodes besides ours (default 4)")
    parser.set_defaults(handler=run)


def fail(message: str, code: int) -> int:
    print(f"mule: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    if args.verbose == 0:
        logging.getLogger("mule").setLevel(logging.INFO)  # status lines, no per-packet noise
    if args.testbed:
        from mule.node.testbed_network import run_testbed_network

        return run_testbed_network(args.peers, args.data_dir)
    try:
        sam = parse_sam_address(args.sam)
        data_dir = prepare_data_dir(args.data_dir or default_data_dir())
    except ConfigError as exc:
        return fail(f"error: {exc}", EXIT_CONFIG)
    return run_until_signal(lambda stop: serve(sam, data_dir, stop))


async def serve(sam: SamAddress, data_dir: Path, stop: asyncio.Event) -> int:
    logging.getLogger(__name__).info("connecting to the SAM bridge at %s (a new session can take a minute)", sam)
    node = NodeService(SamTransport(sam, data_dir), LoopClock(), data_dir)
    try:
        await node.start()
    except SamConnectionError as exc:
        return fail(f"{exc}. Start an I2P router with SAM enabled: see docs/deploy.md", EXIT_NO_ROUTER)
    except SamFailure as exc:
        return fail(f"the SAM bridge at {sam} refused the session ({exc}); see docs/deploy.md", EXIT_NO_ROUTER)
    print(
        f"mule: node {node.kad_id:032x} is up as {b32_address(node.local_destination)}; Ctrl-C stops it",
        file=sys.stderr,
    )
    await stop.wait()
    await node.stop()
    return 0
