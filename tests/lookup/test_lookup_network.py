"""Thirty whole nodes (PROFILE_V3) on the in-memory network and the virtual clock: a node lookup finds the true
closest node, results reach an asyncio queue, and stop() drains before it saves and closes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mule.clock import VirtualClock
from mule.contract import PROFILE_V3
from mule.kad import messages
from mule.lookup import State
from mule.node.service import NodeService
from tests.node.network import network, seed_with

NODES = 30
STEP = 0.25


async def advance(clock: VirtualClock, seconds: float) -> None:
    end = clock.now() + seconds
    while clock.now() < end:
        clock.advance(STEP)
        await asyncio.sleep(0)


async def started(tmp_path: Path) -> tuple[VirtualClock, list[NodeService]]:
    clock, _, _, nodes = network(tmp_path, NODES, PROFILE_V3)
    for node in nodes[1:]:
        seed_with(node, nodes[0])
    for node in nodes:
        await node.start()
    await advance(clock, 900)  # bootstrap, upkeep and a quarter hour of cover lookups
    return clock, nodes


@pytest.mark.slow
def test_a_node_lookup_finds_the_true_closest_node(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock, nodes = await started(tmp_path)
        asker = nodes[5]
        found = 0
        for n in range(3):
            target = int.from_bytes(bytes([0x11 * (n + 3)]) * 16, "big")
            handle = asker.find_node(target)
            queue = asker.results(handle)
            await advance(clock, 300)
            assert handle.state is State.DONE
            streamed = []
            while (item := queue.get_nowait()) is not None:
                streamed.append(item)
            assert streamed == handle.results
            true = min((n for n in nodes if n is not asker), key=lambda node: node.kad_id ^ target)
            found += min(r.distance for r in handle.results) == true.kad_id ^ target
        assert found == 3
        assert all(node.status().faults == 0 for node in nodes)
        stopping = asyncio.gather(*(node.stop() for node in nodes))
        await advance(clock, PROFILE_V3.drain + 1)
        await stopping
        assert all((node._data_dir / "nodes.dat").exists() for node in nodes)

    asyncio.run(scenario())


def test_stop_drains_for_the_profiles_time_before_it_closes(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock, _, wire, nodes = network(tmp_path, 2, PROFILE_V3)
        seed_with(nodes[1], nodes[0])
        for node in nodes:
            await node.start()
        await advance(clock, 120)
        node = nodes[1]
        stopping = asyncio.ensure_future(node.stop())
        await advance(clock, PROFILE_V3.drain - 1)
        assert not stopping.done() and node.core is not None and node.core.lookup_manager.draining
        before = len(wire.datagrams)
        node.on_datagram(nodes[0].local_destination, messages.Ping().encode())  # still answered while draining
        await advance(clock, 2)
        await stopping
        answers = [m for s, d, m in wire.messages(start=before) if s == node.local_destination]
        assert any(isinstance(m, messages.Pong) for m in answers)
        stopping = asyncio.ensure_future(nodes[0].stop())
        await advance(clock, PROFILE_V3.drain + 1)
        await stopping

    asyncio.run(scenario())
