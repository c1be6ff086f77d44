"""``python -m mule run --testbed``: a small mule network on real i2pd routers, with no I2P access at all.

The process re-executes itself inside a fresh loopback-only network namespace (root), starts the
offline test bed's routers there, then runs our node plus a few peer nodes, each with its own SAM
session. The first peer is everyone's seed, so lookups have somewhere to go. Nothing can leave the
namespace; the routers and all state live in a temp dir that is removed at the end (our node's state
is kept only where ``--data-dir`` puts it).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

from mule.clock import LoopClock
from mule.i2p.address import b32_address
from mule.i2p.testbed import BedOptions, NotIsolatedError, Testbed, TestbedError, reexec_isolated
from mule.i2p.transport import SamTransport, SamTransportSettings
from mule.kad.contact import Contact
from mule.kad.files.nodes_dat import NodeEntry, write_nodes_dat
from mule.kad.opcodes import KAD_VERSION
from mule.node.runner import run_until_signal
from mule.node.service import NODES_DAT, NodeService


def run_testbed_network(peers: int, data_dir: Path | None) -> int:
    if os.geteuid() != 0:
        print("mule: --testbed needs root: it creates a loopback-only network namespace (unshare -n)", file=sys.stderr)
        return 2
    try:
        reexec_isolated()
    except (NotIsolatedError, OSError) as exc:
        print(f"mule: cannot isolate the test bed: {exc}", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="mule-testbed-"))
    print(f"mule: starting the offline I2P test bed in {root} (routers need a minute)", file=sys.stderr)
    try:
        with Testbed(BedOptions(), root / "routers") as bed:
            dirs = [data_dir or root / "node", *(root / f"peer{n}" for n in range(peers))]
            return run_until_signal(lambda stop: _serve(bed, dirs, stop))
    except TestbedError as exc:
        print(f"mule: the test bed did not come up: {exc}", file=sys.stderr)
        return 3
    finally:
        shutil.rmtree(root, ignore_errors=True)


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
    ours, seed, others = nodes[0], nodes[-1], nodes[1:-1]
    await seed.start()  # the last peer seeds the rest: its destination exists only once its session is up
    entry = NodeEntry(Contact(KAD_VERSION, seed.kad_id, seed.local_destination), verified=True)
    for data_dir in data_dirs[:-1]:
        write_nodes_dat(data_dir / NODES_DAT, (entry,))
    await asyncio.gather(*(node.start() for node in (ours, *others)))
    print(
        f"mule: our node {ours.kad_id:032x} is up as {b32_address(ours.local_destination)} with "
        f"{len(nodes) - 1} peers on {len(addresses)} routers; Ctrl-C stops it",
        file=sys.stderr,
    )
    try:
        await stop.wait()  # every node logs its own status line (NodeService), ours included
    finally:
        await asyncio.gather(*(node.stop() for node in nodes), return_exceptions=True)
    return 0
