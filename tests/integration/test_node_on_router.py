"""Whole mule nodes on a real i2pd router: they bootstrap from one seed and learn each other over I2P.

This is what ``python -m mule run --testbed`` shows a newcomer, as a test. The nodes use an explicit test
profile whose only change is a short upkeep interval, so the run takes seconds of upkeep instead of minutes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mule.clock import LoopClock
from mule.contract import DelayLaw
from mule.contract.profile import profile_for_tests
from mule.i2p import testbed
from mule.i2p.transport import SamTransport, SamTransportSettings
from mule.kad.contact import Contact
from mule.kad.files.nodes_dat import NodeEntry, read_nodes_dat, write_nodes_dat
from mule.kad.opcodes import KAD_VERSION
from mule.node.service import NODES_DAT, NodeService

pytestmark = pytest.mark.integration

NODES = 3
PROFILE = profile_for_tests(upkeep=DelayLaw(1.0, 2.0))  # mean 2 s
CONVERGE_WITHIN_S = 90.0


async def _network(bed: testbed.Testbed, root: Path) -> None:
    clock = LoopClock()
    settings = SamTransportSettings(options=bed.session_options)
    dirs = [root / f"node{n}" for n in range(NODES)]
    nodes = []
    for data_dir in dirs:
        data_dir.mkdir()
        nodes.append(NodeService(SamTransport(bed.pair()[0].sam_address, data_dir, settings), clock, data_dir, PROFILE))
    seed, others = nodes[0], nodes[1:]
    await seed.start()
    entry = NodeEntry(Contact(KAD_VERSION, seed.kad_id, seed.local_destination), verified=True)
    for data_dir in dirs[1:]:
        write_nodes_dat(data_dir / NODES_DAT, (entry,))
    await asyncio.gather(*(node.start() for node in others))
    try:
        deadline = clock.now() + CONVERGE_WITHIN_S
        while clock.now() < deadline and not all(
            node.status().contacts == NODES - 1 and node.status().verified >= 1 for node in nodes
        ):
            await asyncio.sleep(1.0)
        statuses = [node.status() for node in nodes]
        assert all(status.contacts == NODES - 1 for status in statuses), statuses
        assert all(status.verified >= 1 for status in statuses), statuses
        assert all(node.shaper.counters.congested == 0 for node in nodes)
    finally:
        await asyncio.gather(*(node.stop() for node in nodes))
    for data_dir in dirs:
        assert len(read_nodes_dat(data_dir / NODES_DAT).entries) == NODES - 1  # graceful stop saved the table


def test_nodes_learn_each_other_over_a_real_router(
    i2p_testbed: testbed.Testbed, require_delivery: testbed.DeliveryCheck, tmp_path: Path
) -> None:
    asyncio.run(_network(i2p_testbed, tmp_path))
