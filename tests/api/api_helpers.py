"""A running node on the in-memory network and the virtual clock, with the API served beside it on loopback: with
fake search/publish/index parts (PROFILE_V2), or with the node's real ones (``real``: the production profile, whose
lookup and publish slots carry the API's searches and publishes, as ``python -m mule run`` wires them)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from mule.api.adapters import Parts
from mule.api.auth import read_token
from mule.api.node_parts import NodePublishing, NodeSearches, node_parts
from mule.api.server import ApiServer, Listen
from mule.clock import VirtualClock
from mule.contract import PRODUCTION, PROFILE_V2
from mule.node.service import NodeService
from tests.api.fakes import FakeIndex, FakePublishing, FakeSearches
from tests.node.network import network, seed_with, settle


@dataclass(slots=True)
class Running:
    server: ApiServer
    url: str
    token: str
    clock: VirtualClock
    nodes: list[NodeService]
    searches: FakeSearches | NodeSearches
    publishing: FakePublishing | NodePublishing
    session: aiohttp.ClientSession

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@contextlib.asynccontextmanager
async def running_api(
    tmp_path: Path, *, peers: int = 3, settle_for: float = 120.0, parts: bool = True, real: bool = False
) -> AsyncIterator[Running]:
    tmp_path.mkdir(exist_ok=True)
    profile = PRODUCTION if real else PROFILE_V2
    clock, _, _, nodes = network(tmp_path, peers + 1, profile)
    for node in nodes[1:]:
        seed_with(node, nodes[0])
    for node in nodes:
        await node.start()
    ours = nodes[-1]
    if real:
        given = node_parts(ours)
        assert given.searches is not None and given.publishing is not None
        searches, publishing = given.searches, given.publishing
    else:
        searches, publishing = FakeSearches(), FakePublishing()
        given = Parts(searches, publishing, FakeIndex()) if parts else Parts()
    server = ApiServer(ours, clock, ours._data_dir, Listen("127.0.0.1", 0), given)
    await server.start()
    await settle(clock, settle_for)  # with the API watching from the start, as beside a real node
    try:
        async with aiohttp.ClientSession() as session:
            yield Running(
                server,
                f"http://127.0.0.1:{server.port}",
                read_token(ours._data_dir),
                clock,
                nodes,
                searches,
                publishing,
                session,
            )
    finally:
        await server.stop()
        stopping = asyncio.gather(*(node.stop() for node in nodes))
        await settle(clock, profile.drain + 1.0)  # V3 drains on the node's clock: somebody must advance it
        await stopping
