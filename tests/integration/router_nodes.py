"""Whole mule nodes on the test bed's real i2pd router: started from one seed, each with its own data dir.
Shared by the tests that run nodes on the router."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mule.clock import LoopClock
from mule.contract import Profile
from mule.i2p import testbed
from mule.i2p.transport import SamTransport, SamTransportSettings
from mule.kad.contact import Contact
from mule.kad.files.nodes_dat import NodeEntry, write_nodes_dat
from mule.kad.opcodes import KAD_VERSION
from mule.node.service import NODES_DAT, NodeService


async def start_nodes(bed: testbed.Testbed, root: Path, count: int, profile: Profile) -> list[NodeService]:
    """``count`` nodes on the bed's router; the first one is the others' only seed (their nodes.dat)."""
    clock = LoopClock()
    settings = SamTransportSettings(options=bed.session_options)
    dirs = [root / f"node{n}" for n in range(count)]
    nodes = []
    for data_dir in dirs:
        data_dir.mkdir()
        nodes.append(NodeService(SamTransport(bed.pair()[0].sam_address, data_dir, settings), clock, data_dir, profile))
    seed, others = nodes[0], nodes[1:]
    await seed.start()
    entry = NodeEntry(Contact(KAD_VERSION, seed.kad_id, seed.local_destination), verified=True)
    for data_dir in dirs[1:]:
        write_nodes_dat(data_dir / NODES_DAT, (entry,))
    await asyncio.gather(*(node.start() for node in others))
    return nodes


async def until_converged(nodes: list[NodeService], within_s: float) -> None:
    """Wait until every node knows all the others and has verified one (at most ``within_s`` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while loop.time() < deadline and not all(
        node.status().contacts == len(nodes) - 1 and node.status().verified >= 1 for node in nodes
    ):
        await asyncio.sleep(1.0)
