"""``python -m mule run``: the node's main job, against an I2P router's SAM bridge (or the offline test bed).

Start-up, in order: settings (config file, then flags); the data dir (created 0700) and its lock; stale
temporaries removed; state files checked (read only); the router's SAM bridge reached; only then is
anything written (Kad ID, keys) and the session created. Every phase is reported, every wait counted, and
SIGINT/SIGTERM end any phase within ``CANCEL_GRACE_S`` plus the node's own stop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from mule.cli.common import settings_for
from mule.cli.exits import CommandError, Exit
from mule.config.lock import DataDirLock, DataDirLocked
from mule.i2p.keys import KEY_FILE_NAME, KeyFileError, load_keys
from mule.node.config import ConfigError, SamAddress, default_data_dir, prepare_data_dir, remove_stale_temporaries
from mule.node.identity import read_kad_id, read_udp_key
from mule.node.priority import priority_advice, take_deployed_priority
from mule.node.runner import Stopped, run_until_signal, unless_stopped

if TYPE_CHECKING:
    from mule.api.server import ApiServer
    from mule.cli.progress import RunProgress
    from mule.clock import LoopClock
    from mule.config.settings import Settings
    from mule.node.service import NodeService

# The SAM client, the transport and the node service are imported where they are first needed: a run that
# ends at once (a bad setting, a held lock) should not pay for loading the codec first.

log = logging.getLogger("mule.progress")

HELLO_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 30.0
"""The node's own stop (saving nodes.dat, the shaper's bounded drain, closing the session) gets this long."""
MAX_PEERS = 16


def register(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        parents=parents,
        help="run the node (needs an I2P router with SAM enabled)",
        description="Run a mule node against an I2P router's SAM bridge until SIGINT/SIGTERM. Settings come from "
        "the config file (see `python -m mule config sample`); these flags override it.",
    )
    parser.add_argument("--sam", metavar="HOST:PORT", help="sam.address: the router's SAM bridge (127.0.0.1:7656)")
    parser.add_argument("--data-dir", metavar="DIR", help=f"node.data_dir: keys and Kad state ({default_data_dir()})")
    parser.add_argument(
        "--sam-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="sam.options: a session option for the router (repeatable), e.g. inbound.length=3",
    )
    parser.add_argument(
        "--testbed",
        action="store_true",
        help="no I2P access needed: start real i2pd routers in a loopback-only network namespace (root) and run "
        "the node with a few peer nodes on them; see docs/testing.md",
    )
    parser.add_argument(
        "--peers",
        type=_peer_count,
        default=4,
        help=f"with --testbed: peer nodes besides ours, 1 to {MAX_PEERS} (default 4; the first one seeds the rest)",
    )
    parser.set_defaults(handler=run, interrupt_code=Exit.OK)


def _peer_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_PEERS:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_PEERS} (a peer seeds the network)")
    return int(text)


def parse_options(pairs: list[str], flag: str) -> dict[str, str] | None:
    """``KEY=VALUE`` flags as a table for ``sam.options`` (``None`` when none were given: keep the file's)."""
    if not pairs:
        return None
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            raise CommandError(f"{flag} {pair!r} is not KEY=VALUE", Exit.CONFIG)
        options[key] = value
    return options


def run(args: argparse.Namespace) -> int:
    if args.testbed:
        from mule.node.testbed_network import run_testbed_network

        settings_for(args)  # logging as configured; the bed brings its own SAM bridges and options
        return run_testbed_network(args.peers, args.data_dir)
    overrides = {
        "sam.address": args.sam,
        "node.data_dir": args.data_dir,
        "sam.options": parse_options(args.sam_option, "--sam-option"),
    }
    settings = settings_for(args, overrides)
    try:
        data_dir = prepare_data_dir(settings.data_dir)
        with DataDirLock(data_dir):
            remove_stale_temporaries(data_dir)
            check_state_files(data_dir)
            _take_priority()
            return run_until_signal(lambda stop: serve(settings, data_dir, stop))
    except DataDirLocked as exc:
        raise CommandError(str(exc), Exit.LOCKED) from exc
    except (ConfigError, KeyFileError) as exc:
        raise CommandError(str(exc), Exit.CONFIG) from exc


def _take_priority() -> None:
    """Before the event loop starts any thread (niceness is per thread and inherited)."""
    priority = take_deployed_priority()
    if priority.raised:
        log.info("priority raised: niceness %d -> %d (docs/deploy.md)", priority.before, priority.after)
    advice = priority_advice(priority.after)
    if advice is not None:
        log.warning("%s", advice)


def check_state_files(data_dir: Path) -> None:
    """Read (never write) every identity file, so a corrupt one stops the node before it touches the router."""
    read_kad_id(data_dir)
    read_udp_key(data_dir)
    load_keys(data_dir / KEY_FILE_NAME)


async def sam_hello(sam: SamAddress) -> str:
    """The SAM version the bridge speaks; ``CommandError`` (no router) when nothing answers."""
    from mule.i2p.errors import SamFailure
    from mule.i2p.sam_client import SamConnection

    try:
        connection = await SamConnection.open(sam.host, sam.port, timeout=HELLO_TIMEOUT_S)
    except SamFailure as exc:
        raise CommandError(
            f"{exc}. Start an I2P router with SAM enabled (sam.address = {sam}): see docs/deploy.md", Exit.NO_ROUTER
        ) from exc
    version = connection.version
    await connection.close()
    return version


async def serve(settings: Settings, data_dir: Path, stop: asyncio.Event) -> int:
    from mule.cli.progress import RunProgress, counting
    from mule.cli.sdnotify import sd_notify
    from mule.clock import LoopClock
    from mule.i2p.errors import SamConnectionError, SamError
    from mule.i2p.session import DatagramPath
    from mule.i2p.transport import SamTransport, SamTransportSettings
    from mule.node.service import NodeService

    started = time.monotonic()
    sam = settings.sam
    log.info("data dir %s (locked by us); contacting the SAM bridge at %s", data_dir, sam)
    try:
        version = await unless_stopped(sam_hello(sam), stop)
    except Stopped:
        return Exit.OK
    log.info("router reachable: SAM %s at %s (%.2f s)", version, sam, time.monotonic() - started)
    transport_settings = SamTransportSettings(
        path=DatagramPath(settings.sam_datagram_path),
        udp_port=settings.sam_udp_port,
        options=dict(settings.sam_options),
    )
    clock = LoopClock()
    node = NodeService(SamTransport(sam, data_dir, transport_settings), clock, data_dir)
    log.info("creating the SAM session (a fresh router can take minutes)")
    session_started = time.monotonic()
    try:
        await unless_stopped(counting(node.start(), "creating the SAM session"), stop)
    except Stopped:
        await _stop_node(node)
        return Exit.OK
    except SamError as exc:
        raise CommandError(
            f"the router at {sam} refused the session ({exc}); check sam.options and docs/deploy.md", Exit.NO_ROUTER
        ) from exc
    except SamConnectionError as exc:
        raise CommandError(
            f"the router at {sam} answered but the session did not come up ({exc}); a new router may need minutes "
            "to integrate, and a private or offline network needs its session options (sam.options)",
            Exit.NO_ROUTER,
        ) from exc
    progress = RunProgress(started)
    progress.up(node.status(), node.local_destination, time.monotonic() - session_started)
    api = await _start_api(node, clock, settings, data_dir) if settings.api_enabled else None
    await _watch(node, progress, settings.status_interval, stop)
    if api is not None:
        await api.stop()
    log.info("stopping the node: saving %d contacts to nodes.dat, closing the session", node.status().contacts)
    sd_notify("STOPPING=1")
    await _stop_node(node)
    log.info("stopped")
    return Exit.OK


async def _start_api(node: NodeService, clock: LoopClock, settings: Settings, data_dir: Path) -> ApiServer:
    """The local API beside the node, on its loop; a refused address is a config error before anything listens."""
    from mule.api.node_parts import node_parts
    from mule.api.server import ApiServer, BindRefused, Listen

    listen = Listen(settings.api_listen.host, settings.api_listen.port, settings.api_allow_remote)
    try:
        api = ApiServer(node, clock, data_dir, listen, node_parts(node))
        await api.start()
    except BindRefused as exc:
        await _stop_node(node)
        raise CommandError(f"api.listen: {exc}", Exit.CONFIG) from exc
    except OSError as exc:
        await _stop_node(node)
        raise CommandError(f"api.listen: cannot listen on {settings.api_listen} ({exc.strerror})", Exit.CONFIG) from exc
    return api


async def _watch(node: NodeService, progress: RunProgress, interval: float, stop: asyncio.Event) -> None:
    """Until ``stop``: check for news every second, a full status line every ``interval`` seconds."""
    next_status = time.monotonic() + interval
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        status = node.status()
        progress.check(status)
        if time.monotonic() >= next_status:
            next_status += interval
            progress.periodic(status)


async def _stop_node(node: NodeService) -> None:
    try:
        await asyncio.wait_for(node.stop(), STOP_TIMEOUT_S)
    except TimeoutError:
        log.warning("the node did not stop within %.0f s; exiting anyway", STOP_TIMEOUT_S)
    except Exception as exc:  # we are leaving anyway: say what went wrong, in one line
        log.warning("error while stopping the node: %r", exc)
        log.debug("stop failure", exc_info=True)
