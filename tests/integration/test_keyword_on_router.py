"""A keyword published by one mule node is found by another, through real SAM datagrams on an i2pd router.

Three nodes on the test bed's router (tests/integration/router_nodes.py, as test_node_on_router.py runs them):
once they know each other, the second publishes a keyword and the third searches it. The nodes run an
explicit test profile: fast upkeep, and keyword lookup and publish slots every few seconds (V3: every 10-90 s),
so that the run takes seconds; everything else, the lookups themselves included, is production's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from mule.contract import PROFILE_V3, DelayLaw, SlotPlan
from mule.contract.profile import LOOKUP_KEYWORD, STORE_KEYWORD, profile_for_tests
from mule.i2p import testbed
from mule.lookup import Result, SharedFile
from mule.lookup.results import KeywordResult, PublishAck
from tests.integration.router_nodes import start_nodes, until_converged

pytestmark = pytest.mark.integration

PROFILE = profile_for_tests(
    base=PROFILE_V3,
    upkeep=DelayLaw(1.0, 2.0),
    # Per node, at most 27 lookups a minute reach any one peer (a KADEMLIA2_REQ each): under V3's inbound caps.
    lookup_slots=SlotPlan(DelayLaw(4.0, 2.0), ((LOOKUP_KEYWORD, 1),)),
    publish_slots=SlotPlan(DelayLaw(3.0, 2.0), ((STORE_KEYWORD, 1),)),
    drain=0.0,
)
NODES = 3
CONVERGE_WITHIN_S = 90.0
FOUND_WITHIN_S = 120.0
KEYWORD = "bedmoon"
SHARED = SharedFile(file_id=0xB0_0000_0000_0000_0000_0000_0000_0042, name="bedmoon sessions.flac", size=98_765)


async def _first(results: asyncio.Queue[Result | None], wanted: Callable[[Result], bool]) -> Result:
    """The first result of a lookup that is ``wanted`` (streamed as they arrive)."""
    async with asyncio.timeout(FOUND_WITHIN_S):
        while (result := await results.get()) is not None:
            if wanted(result):
                return result
    raise AssertionError("the lookup ended without it")


async def _publish_and_find(bed: testbed.Testbed, root: Path) -> None:
    nodes = await start_nodes(bed, root, NODES, PROFILE)
    try:
        await until_converged(nodes, CONVERGE_WITHIN_S)
        assert all(node.status().contacts == NODES - 1 for node in nodes), [node.status() for node in nodes]
        publisher, searcher = nodes[1], nodes[2]
        assert publisher.core is not None
        # iMule (and mule) publish only once a self lookup has been answered, 60 s after start; this profile runs
        # keyword lookups only, so the publisher is let through at once.
        publisher.core.lookup_manager.publish_ready = True
        published = publisher.publish_keyword(KEYWORD, [SHARED])
        # Stored by another node (a store also asks our own node first, as iMule's does).
        await _first(
            publisher.results(published),
            lambda r: isinstance(r, PublishAck) and r.destination != publisher.local_destination,
        )
        found = searcher.search_keywords(KEYWORD)
        result = await _first(searcher.results(found), lambda r: isinstance(r, KeywordResult))
        assert isinstance(result, KeywordResult)
        assert (result.file_id, result.name, result.size) == (SHARED.file_id, SHARED.name, SHARED.size)
        assert all(node.shaper.counters.congested == 0 for node in nodes)
    finally:
        await asyncio.gather(*(node.stop() for node in nodes))


def test_a_keyword_published_by_one_node_is_found_by_another(
    i2p_testbed: testbed.Testbed, require_delivery: testbed.DeliveryCheck, tmp_path: Path
) -> None:
    asyncio.run(_publish_and_find(i2p_testbed, tmp_path))
