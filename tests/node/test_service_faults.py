"""The service shell contains every failure: a raising transport, core step or shaper call is counted, never fatal."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mule.kad import messages
from mule.node.service import NodeService
from mule.transport.memory import random_destination
from tests.node.network import network, seed_with, settle


class Once:
    """Raise on the first call, then behave like ``real``."""

    def __init__(self, real):
        self.real = real
        self.raised = False

    def __call__(self, *args, **kwargs):
        if not self.raised:
            self.raised = True
            raise RuntimeError("injected")
        return self.real(*args, **kwargs)


async def _two_nodes(tmp_path: Path):
    clock, hub, wire, nodes = network(tmp_path, 2)
    first, second = nodes
    await first.start()
    seed_with(second, first)
    await second.start()
    return clock, hub, wire, first, second


def _upkeep(node: NodeService) -> int:
    assert node.core is not None
    return node.core.counters.upkeep


@pytest.mark.parametrize("boundary", ["core tick", "core receive", "transport receive", "shaper submit"])
def test_a_raising_boundary_is_counted_and_the_node_keeps_working(tmp_path: Path, boundary: str):
    async def scenario() -> None:
        clock, hub, wire, first, second = await _two_nodes(tmp_path)
        assert second.core is not None
        if boundary == "core tick":
            second.core.tick = Once(second.core.tick)  # type: ignore[method-assign]
        elif boundary == "core receive":
            second.core.receive = Once(second.core.receive)  # type: ignore[method-assign]
        elif boundary == "transport receive":
            second._transport.receive = Once(second._transport.receive)  # type: ignore[method-assign]
        else:
            second.shaper.submit = Once(second.shaper.submit)  # type: ignore[method-assign]
        await settle(clock, 600)
        assert second.status().faults == 1, second.status()
        # Upkeep still runs, and the receive loop still answers a PING from a stranger.
        assert _upkeep(second) > 40
        asker = hub.endpoint(random_destination())
        await asker.open()
        hub._carry(asker.local_destination, second.local_destination, messages.Ping().encode())
        await settle(clock, 2.0)
        assert [m for _, d, m in wire.messages() if d == asker.local_destination] == [messages.Pong()]
        await first.stop()
        await second.stop()

    asyncio.run(scenario())


def test_a_core_that_always_fails_its_tick_is_retried_on_the_retry_law_not_spun(tmp_path: Path):
    async def scenario() -> None:
        clock, _, _, first, second = await _two_nodes(tmp_path)
        assert second.core is not None

        def broken(now: float) -> list:
            raise RuntimeError("injected")

        second.core.tick = broken  # type: ignore[method-assign]
        await settle(clock, 60)
        # One retry per 2..3 s (the profile's retry law) at most: about 20-30 in a minute, never thousands.
        assert 15 <= second.status().faults <= 31, second.status()
        await first.stop()
        await second.stop()

    asyncio.run(scenario())
