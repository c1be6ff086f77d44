"""Whole mule nodes on a real i2pd router: they bootstrap from one seed and learn each other over I2P.

This is what ``python -m mule run --testbed`` shows a newcomer, as a test. The nodes use an explicit test
profile whose only change is a short upkeep interval, so the run takes seconds of upkeep instead of minutes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mule.contract import DelayLaw
from mule.contract.profile import profile_for_tests
from mule.i2p import testbed
from mule.kad.files.nodes_dat import read_nodes_dat
from mule.node.service import NODES_DAT
from tests.integration.router_nodes import start_nodes, until_converged

pytestmark = pytest.mark.integration

NODES = 3
PROFILE = profile_for_tests(upkeep=DelayLaw(1.0, 2.0))  # mean 2 s
CONVERGE_WITHIN_S = 90.0


async def _network(bed: testbed.Testbed, root: Path) -> None:
    nodes = await start_nodes(bed, root, NODES, PROFILE)
    try:
        await until_converged(nodes, CONVERGE_WITHIN_S)
        statuses = [node.status() for node in nodes]
        assert all(status.contacts == NODES - 1 for status in statuses), statuses
        assert all(status.verified >= 1 for status in statuses), statuses
        assert all(node.shaper.counters.congested == 0 for node in nodes)
    finally:
        await asyncio.gather(*(node.stop() for node in nodes))
    for n in range(NODES):
        assert len(read_nodes_dat(root / f"node{n}" / NODES_DAT).entries) == NODES - 1  # graceful stop saved it


def test_nodes_learn_each_other_over_a_real_router(
    i2p_testbed: testbed.Testbed, require_delivery: testbed.DeliveryCheck, tmp_path: Path
) -> None:
    asyncio.run(_network(i2p_testbed, tmp_path))
