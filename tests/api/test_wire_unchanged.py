"""Polling the API hard never changes what the node sends: a wire trace with and without a client that polls every
endpoint 100 times a second (of the node's virtual clock) and holds an event stream open.

The node, its peers and every random stream are seeded, so both runs face the same world; the only difference is
the client. The per-window counts of each outbound kind are compared with a chi-square test of homogeneity, and a
negative control (an API that pings a peer whenever it is read) must be caught by the same test.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from scipy.stats import chi2_contingency

from mule.api import PREFIX
from mule.api.adapters import Parts
from mule.api.auth import read_token
from mule.api.routes import ROUTES, SNAPSHOTS
from mule.api.server import ApiServer, Listen
from mule.api.snapshot import Snapshot, Snapshots
from mule.clock import VirtualClock
from mule.contract import PROFILE_V2, Kind
from mule.kad import messages
from mule.kad.opcodes import RequestType
from mule.node.service import NodeService
from mule.transport.memory import DESTINATION_BYTES, MemoryHub
from mule.transport.trace import TracedTransport, TraceRecord
from tests.api.fakes import FakeIndex, FakePublishing, FakeSearches
from tests.node.network import seed_with

pytestmark = pytest.mark.once

PEERS = 8
SECONDS = 10.0
STEP = 0.05
POLLS_PER_SECOND = 100
WINDOW = 1.0
ASK_EVERY = 2.0
"""Each peer asks our node for contacts this often (iMule's per-peer KADEMLIA2_REQ allowance is one per 2 s)."""
ALPHA = 0.01
"""Under the null (same behaviour) the test rejects with probability at most ALPHA."""


class LeakySnapshots(Snapshots):
    """The negative control: an API that pings a peer each time it is read (to show a 'fresh' liveness)."""

    def current(self) -> Snapshot:
        node = self._node
        contacts = node.table.contacts()
        if contacts:
            node.shaper.submit(contacts[0].destination, messages.Ping().encode(), Kind.REQUEST)
        return super().current()


def _network(tmp_path: Path, records: list[TraceRecord]) -> tuple[VirtualClock, list[NodeService]]:
    clock = VirtualClock()
    hub = MemoryHub()
    world = random.Random(2024)
    nodes = []
    for n in range(PEERS + 1):
        data_dir = tmp_path / f"node{n}"
        data_dir.mkdir(parents=True)
        transport = hub.endpoint(world.randbytes(DESTINATION_BYTES - 3) + bytes(3))
        if n == PEERS:  # ours: every datagram it hands off is traced
            transport = TracedTransport(transport, clock, records.append, salt=bytes(16))
        stream = random.Random(n)
        nodes.append(
            NodeService(transport, clock, data_dir, PROFILE_V2, seed=bytes([n + 1]) * 32, randbytes=stream.randbytes)
        )
    for node in nodes[1:]:
        seed_with(node, nodes[0])
    return clock, nodes


def _keep_asking(clock: VirtualClock, peer: NodeService, ours: NodeService, first: float) -> None:
    """The peer sends our node a FIND_NODE through its own shaper every ``ASK_EVERY``: answers give the trace body."""

    def ask() -> None:
        request = messages.KademliaReq(RequestType.FIND_NODE, peer.kad_id, ours.kad_id, peer.kad_id)
        peer.shaper.submit(ours.local_destination, request.encode(), Kind.REQUEST)
        clock.call_at(clock.now() + ASK_EVERY, ask)

    clock.call_at(first, ask)


async def _poll_round(session: aiohttp.ClientSession, url: str, auth: dict[str, str]) -> None:
    """One request to every endpoint (the event stream is held open separately), all at once."""

    async def one(method: str, path: str) -> None:
        body = {"kind": "source", "file_hash": "00" * 16} if path == "/publish" else {"kind": "keyword", "query": "x"}
        kwargs = {"json": body} if method == "POST" else {}
        target = url + (path if path == "/metrics" else PREFIX + path.replace("{search_id}", "s1"))
        async with session.request(method, target, headers=auth, **kwargs) as response:
            await response.read()
            assert response.status < 300, (method, path, response.status)

    endpoints = [(method, path) for method, path, _ in ROUTES if path != "/events"] + [("GET", "/metrics")]
    await asyncio.gather(*(one(method, path) for method, path in endpoints))


async def _run(
    tmp_path: Path, *, client: bool, leaky: bool = False, polls_per_second: int = POLLS_PER_SECOND
) -> list[TraceRecord]:
    records: list[TraceRecord] = []
    clock, nodes = _network(tmp_path, records)
    for node in nodes:
        await node.start()
    ours = nodes[-1]
    for n, peer in enumerate(nodes[:-1]):
        _keep_asking(clock, peer, ours, first=n * ASK_EVERY / PEERS)
    server = None
    if client:
        searches = FakeSearches()
        searches.start("keyword", "x")  # s1, which the polled search routes name
        parts = Parts(searches, FakePublishing(), FakeIndex())
        server = ApiServer(ours, clock, ours._data_dir, Listen("127.0.0.1", 0), parts)
        if leaky:
            server.app[SNAPSHOTS] = LeakySnapshots(ours, clock)
        await server.start()
    try:
        if server is None:
            while clock.now() < SECONDS:
                clock.advance(STEP)
                await asyncio.sleep(0)
        else:
            url = f"http://127.0.0.1:{server.port}"
            auth = {"Authorization": f"Bearer {read_token(ours._data_dir)}"}
            async with aiohttp.ClientSession() as session, session.get(url + PREFIX + "/events", headers=auth):
                while clock.now() < SECONDS:
                    for _ in range(max(1, round(polls_per_second * STEP))):  # rounds per second of node time
                        await _poll_round(session, url, auth)
                    clock.advance(STEP)
                    await asyncio.sleep(0)
    finally:
        if server is not None:
            await server.stop()
        for node in nodes:
            await node.stop()
    return [record for record in records if record.dir == "out"]


def _windows(records: list[TraceRecord]) -> Counter[tuple[int, object]]:
    """Sends per (window, opcode) — obfuscated datagrams count under one kind, as an observer sees them."""
    return Counter((int(record.t // WINDOW), record.op) for record in records)


def _same_behaviour(first: list[TraceRecord], second: list[TraceRecord]) -> float:
    """p-value of the chi-square test of homogeneity on per-window send counts by kind."""
    a, b = _windows(first), _windows(second)
    cells = sorted(set(a) | set(b), key=str)
    table = [[a[cell] + 0.5 for cell in cells], [b[cell] + 0.5 for cell in cells]]  # +0.5: no empty cells
    return float(chi2_contingency(table).pvalue)


def test_polling_every_endpoint_leaves_the_wire_unchanged(tmp_path: Path):
    quiet = asyncio.run(_run(tmp_path / "quiet", client=False))
    polled = asyncio.run(_run(tmp_path / "polled", client=True))
    assert len(quiet) > 30, "the node must have sent something for the comparison to mean anything"
    p_value = _same_behaviour(quiet, polled)
    print(f"{len(quiet)} datagrams out; chi-square homogeneity p = {p_value:.3f}")
    assert p_value > ALPHA
    # On the seeded virtual clock the claim is exact: the same datagrams, at the same instants.
    assert [(r.t, r.op, r.size) for r in polled] == [(r.t, r.op, r.size) for r in quiet]


def test_the_comparison_catches_an_api_that_acts_when_read(tmp_path: Path):
    quiet = asyncio.run(_run(tmp_path / "quiet", client=False))
    # A leak is caught even at a fifth of the polling rate (one round per step).
    leaky = asyncio.run(_run(tmp_path / "leaky", client=True, leaky=True, polls_per_second=20))
    p_value = _same_behaviour(quiet, leaky)
    print(f"{len(quiet)} datagrams out quiet, {len(leaky)} with the leaky API; p = {p_value:.2g}")
    assert p_value < ALPHA
