"""``python -m mule run --testbed``: a small mule network on real i2pd routers, with no I2P access at all.

The process re-executes itself inside a fresh loopback-only network namespace (root), starts the
offline test bed's routers there, then runs our node plus a few peer nodes, each with its own SAM
session. The last peer is everyone's seed, so lookups have somewhere to go. Nothing can leave the
namespace; the routers and all state live in a temp dir that is removed at the end.

``--data-dir D`` keeps our node's test-bed state in D across runs. The bed rewrites D's ``nodes.dat``
(with the bed's seed) at every start, so D must be empty or a previous test bed's (``TESTBED_MARKER``):
a real node's data dir is refused, never overwritten. SIGINT/SIGTERM are honoured at every phase:
while the routers come up they are killed at once (they hold nothing worth a graceful stop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import tempfile
from pathlib import Path

from mule.cli.exits import CommandError, Exit
from mule.cli.progress import counting, ours, short_b32, status_line
from mule.clock import LoopClock
from mule.config.lock import DataDirLock, DataDirLocked
from mule.i2p.errors import SamFailure
from mule.i2p.testbed import BedOptions, NotIsolatedError, Testbed, TestbedError, reexec_isolated
from mule.i2p.transport import SamTransport, SamTransportSettings
from mule.kad.contact import Contact
from mule.kad.files.nodes_dat import NodeEntry, write_nodes_dat
from mule.kad.opcodes import KAD_VERSION
from mule.node.config import ConfigError, check_data_dir, parse_data_dir, prepare_data_dir, remove_stale_temporaries
from mule.node.runner import Stopped, interruptible, run_until_signal, unless_stopped
from mule.node.service import NODES_DAT, NodeService

TESTBED_MARKER = "mule-testbed"
"""A file in a data dir the test bed made: the bed may reuse it. Any other non-empty dir is a real node's."""
STATUS_EVERY_S = 60.0

log = logging.getLogger("mule.progress")


def kill_routers(bed: Testbed) -> None:
    """SIGKILL every router process now: an offline bed's routers hold nothing worth waiting for (i2pd can take
    many seconds to honour SIGTERM), and a blocked start-up step then returns at once."""
    for router in bed.routers:
        process = router.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGKILL)


def check_testbed_dir(data_dir: Path) -> None:
    """Refuse a data dir that holds a real node's state (the bed would overwrite its nodes.dat)."""
    check_data_dir(data_dir)
    if not data_dir.exists() or (data_dir / TESTBED_MARKER).exists():
        return
    kept = sorted(entry.name for entry in data_dir.iterdir() if entry.name != "mule.lock")
    if kept:
        raise ConfigError(
            f"{data_dir} holds a node's state ({', '.join(kept[:4])}) and is not a test bed's: --testbed would "
            "overwrite its nodes.dat and use its identity on the offline bed; give an empty or new --data-dir"
        )


def run_testbed_network(peers: int, data_dir_text: str | None) -> int:
    if os.geteuid() != 0:
        raise CommandError("--testbed needs root: it makes a loopback-only network namespace (unshare -n)", Exit.CONFIG)
    data_dir = None
    try:
        if data_dir_text is not None:
            data_dir = parse_data_dir(data_dir_text)
            check_testbed_dir(data_dir)
        reexec_isolated()
    except ConfigError as exc:
        raise CommandError(str(exc), Exit.CONFIG) from exc
    except (NotIsolatedError, OSError) as exc:
        raise CommandError(f"cannot isolate the test bed: {exc}", Exit.CONFIG) from exc
    root = Path(tempfile.mkdtemp(prefix="mule-testbed-"))
    lock = None
    try:
        if data_dir is not None:
            data_dir = prepare_data_dir(data_dir)
            lock = DataDirLock(data_dir)
            lock.acquire()
            (data_dir / TESTBED_MARKER).touch()
            remove_stale_temporaries(data_dir)
        return _run_bed(peers, [data_dir or root / "node", *(root / f"peer{n}" for n in range(peers))], root)
    except DataDirLocked as exc:
        raise CommandError(str(exc), Exit.LOCKED) from exc
    except ConfigError as exc:
        raise CommandError(str(exc), Exit.CONFIG) from exc
    finally:
        if lock is not None:
            lock.release()
        shutil.rmtree(root, ignore_errors=True)


def _run_bed(peers: int, data_dirs: list[Path], root: Path) -> int:
    log.info("starting the offline I2P test bed in %s (routers need a minute; Ctrl-C stops at any time)", root)
    bed = Testbed(BedOptions(), root / "routers")
    try:
        try:
            with interruptible(lambda: kill_routers(bed)):
                bed.start()
        except KeyboardInterrupt:
            return Exit.OK
        log.info("routers up after %.1f s; starting our node and %d peers", bed.startup_s or 0.0, peers)
        return run_until_signal(lambda stop: _serve(bed, data_dirs, stop))
    except TestbedError as exc:
        raise CommandError(f"the test bed did not come up: {exc}", Exit.NO_ROUTER) from exc
    finally:
        kill_routers(bed)
        bed.cleanup()


async def _serve(bed: Testbed, data_dirs: list[Path], stop: asyncio.Event) -> int:
    clock = LoopClock()
    addresses = bed.sam_addresses
    nodes = []
    for n, data_dir in enumerate(data_dirs):
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        transport = SamTransport(
            addresses[n % len(addresses)], data_dir, SamTransportSettings(options=bed.session_options)
        )
        nodes.append(NodeService(transport, clock, data_dir))
    ours_node, seed, others = nodes[0], nodes[-1], nodes[1:-1]
    try:
        try:
            # The last peer seeds the rest: its destination exists once its session is up.
            await unless_stopped(counting(seed.start(), "creating the seed peer's SAM session"), stop)
            entry = NodeEntry(Contact(KAD_VERSION, seed.kad_id, seed.local_destination), verified=True)
            for data_dir in data_dirs[:-1]:
                write_nodes_dat(data_dir / NODES_DAT, (entry,))
            starting = asyncio.gather(*(node.start() for node in (ours_node, *others)))
            await unless_stopped(counting(starting, "creating our node's and the peers' SAM sessions"), stop)
        except Stopped:
            return Exit.OK
        except SamFailure as exc:
            raise CommandError(f"a test-bed session did not come up: {exc}", Exit.NO_ROUTER) from exc
        log.info(
            "node %s is up as %s with %d peers on %d routers; Ctrl-C stops it",
            ours(ours_node.kad_id),
            short_b32(ours_node.local_destination),
            len(nodes) - 1,
            len(addresses),
        )
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=STATUS_EVERY_S)
            if not stop.is_set():
                log.info("%s", status_line(ours_node.status()))
    finally:
        results = await asyncio.gather(*(node.stop() for node in nodes), return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                log.debug("a test-bed node failed to stop cleanly: %r", result)
    return Exit.OK
