"""A whole node's upkeep on the virtual clock, as the bench's long-lived upkeep nodes record it: the correct node
follows the documented renewal law; the bench's fixed-tick control (the class its child loads) is caught."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mule.bench.constancy import analysis, controls
from mule.bench.constancy.child import UPKEEP_PROFILE
from mule.clock import VirtualClock
from mule.contract import PRODUCTION
from mule.node import service
from mule.transport.memory import MemoryHub
from mule.transport.trace import TracedTransport, TraceRecord
from tests.node.network import settle

SPAN = 750.0
"""Virtual seconds of upkeep: about 150 sends, as in a few minutes of a quick run's two upkeep nodes... times ten."""


def upkeep_run(data_dir: Path) -> dict[str, object]:
    async def scenario() -> dict[str, object]:
        clock = VirtualClock(5000.0)
        records: list[TraceRecord] = []
        # The bench's upkeep profile (V2 with the production upkeep law): no lookup slots and no drain, so stop()
        # needs no one to advance the virtual clock.
        traced = TracedTransport(MemoryHub().endpoint(), clock, records.append)
        node = service.NodeService(traced, clock, data_dir, UPKEEP_PROFILE)
        await node.start()
        await settle(clock, SPAN)
        await node.stop()
        sends = [r for r in records if r.dir == "out" and r.cause is None]
        return {"upkeep_t": [r.t for r in sends], "upkeep_op": [r.op for r in sends]}

    return asyncio.run(scenario())


def flagged(run: dict[str, object]) -> list[str]:
    return [test.name for test in analysis.upkeep_tests([run]) if test.flagged]


def test_upkeep_of_a_correct_node_follows_the_renewal_law(tmp_path: Path) -> None:
    run = upkeep_run(tmp_path)
    assert 100 < len(run["upkeep_t"]) < 200  # type: ignore[arg-type]
    assert flagged(run) == []


def test_negative_control_a_fixed_upkeep_tick_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "NodeCore", controls.FixedTickCore)
    run = upkeep_run(tmp_path)
    assert 100 < len(run["upkeep_t"]) < 200  # type: ignore[arg-type]
    beat = f"Rayleigh + KS upkeep phase mod {PRODUCTION.upkeep.mean:g} s"
    assert set(flagged(run)) == {"KS upkeep gaps against the renewal law", beat}
