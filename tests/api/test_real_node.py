"""End to end on real nodes: the API with the node's own search, publish and index parts (``node_parts``, as
``python -m mule run`` wires them) on eight nodes of the production profile on the in-memory network and the virtual
clock.

Over HTTP the API node publishes a file's keyword and searches the keyword another node published; the other
node's file arrives on the event stream and at the results endpoint, found through the network's index. The
status, routing, index and shaper endpoints show the real node's own figures.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import aiohttp

from mule._core import id_from_md4
from mule.api import PREFIX
from mule.api.snapshot import SNAPSHOT_EVERY
from mule.contract import PRODUCTION
from mule.lookup import LookupHandle, State
from mule.lookup.requests import SharedFile
from mule.node.service import NodeService
from tests.api.api_helpers import Running, running_api
from tests.node.network import settle

PEERS = 7
KEYWORD = "moonlight"
THEIRS = bytes.fromhex("0123456789abcdef0123456789abcdef")
OURS = "fedcba9876543210fedcba9876543210"
PATIENCE = 1800.0
"""Seconds of node time a publish or search may take to get a slot and finish (slots: docs/lookups.md)."""
STEP = 5.0


async def until(running: Running, done: Callable[[], bool], what: str) -> None:
    """Advance node time in steps until ``done()``; fail after ``PATIENCE`` (node time, not wall time)."""
    end = running.clock.now() + PATIENCE
    while not done():
        assert running.clock.now() < end, f"{what} did not happen within {PATIENCE:.0f} s of node time"
        await settle(running.clock, STEP)


async def get(running: Running, path: str) -> dict:
    async with running.session.get(running.url + PREFIX + path, headers=running.auth) as response:
        assert response.status == 200, (path, await response.text())
        return await response.json()


async def post(running: Running, path: str, body: dict) -> dict:
    async with running.session.post(running.url + PREFIX + path, headers=running.auth, json=body) as response:
        assert response.status == 202, (path, await response.text())
        return await response.json()


async def search_results(running: Running, into: list[dict]) -> None:
    """Read the event stream, keeping every search result."""
    async with running.session.get(
        running.url + PREFIX + "/events", headers=running.auth, timeout=aiohttp.ClientTimeout(total=None)
    ) as response:
        name = None
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name == "search-result":
                into.append(json.loads(line[6:]))


def test_search_and_publish_over_http_on_real_nodes(tmp_path: Path):
    async def scenario() -> None:
        async with running_api(tmp_path, peers=PEERS, settle_for=300.0, real=True) as running:
            ours, theirs = running.nodes[-1], running.nodes[3]
            published = theirs.publish_file_keywords(SharedFile(id_from_md4(THEIRS), KEYWORD, 4096))
            mine = await post(running, "/publish", {"kind": "keyword", "file_hash": OURS, "name": KEYWORD, "size": 7})
            assert mine["state"] == "queued"
            await until(running, lambda: all(map(_stored, published)), "their publish")
            await until(running, lambda: _stored(ours.lookups()[0]), "our publish over HTTP")
            assert (await get(running, "/publish"))["publishes"][0]["state"] == "done"  # stored; its republish waits

            streamed: list[dict] = []
            reader = asyncio.create_task(search_results(running, streamed))
            search = await post(running, "/searches", {"kind": "keyword", "query": KEYWORD})
            await until(running, lambda: ours.lookups()[-1].state is State.DONE, "the search")
            await until(running, lambda: bool(streamed), "a streamed result")  # the stream's own pace (wall)
            reader.cancel()

            found = await get(running, f"/searches/{search['id']}/results")
            ids = {result["fields"]["file_hash"] for result in found["results"]}
            theirs_id, ours_id = THEIRS.hex(), OURS  # as published: the ed2k hash in hex
            assert theirs_id in ids and ours_id in ids  # ours: stored on the index nodes by the HTTP publish
            assert {(r["fields"]["name"], r["fields"]["size"]) for r in found["results"]} == {
                (KEYWORD, 4096),
                (KEYWORD, 7),
            }
            assert theirs_id in {result["fields"]["file_hash"] for result in streamed}
            assert (await get(running, f"/searches/{search['id']}"))["state"] == "done"

            await reflects_the_node(running, ours)

    asyncio.run(scenario())


def _stored(handle: LookupHandle) -> bool:
    """Acknowledged by index nodes, and finished: it waits (queued) for its republish."""
    return bool(handle.results) and handle.state is State.QUEUED


async def reflects_the_node(running: Running, node: NodeService) -> None:
    await settle(running.clock, SNAPSHOT_EVERY)  # the next read takes a fresh snapshot, at this instant
    status, routing, shaper, index = [await get(running, path) for path in ("/status", "/routing", "/shaper", "/index")]
    live = node.status()
    assert status["kad_id"] == f"{node.kad_id:032x}"
    assert (status["contacts"], status["verified"]) == (live.contacts, live.verified)
    assert live.contacts >= PEERS - 1
    assert {c["kad_id"] for c in routing["contacts"]} == {f"{c.kad_id:032x}" for c in node.table.contacts()}
    assert sum(zone["contacts"] for zone in routing["zones"]) == live.contacts
    counters = node.shaper.counters
    assert shaper["profile"] == PRODUCTION.version
    assert (shaper["submitted"], shaper["sent"]) == (counters.submitted, counters.sent) and counters.sent > 0
    assert 0 < sum(shaper["delay"]["counts"]) <= counters.sent  # watched since the API started
    assert shaper["observer_faults"] == 0
    stored = node.core.index if node.core is not None else None
    assert stored is not None
    assert (index["keywords"], index["keyword_entries"]) == (stored.keywords.keyword_count, len(stored.keywords))
    assert index["bytes"] == stored.keywords.bytes + stored.sources.bytes
