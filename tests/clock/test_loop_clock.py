"""The real clock, on uvloop (production) and on stock asyncio, in uvloop's own pattern: same test, both loops.

Only correctness is asserted here (never early, in order, cancellable, complete);
how *late* releases are is measured in bench/test_bench_shaper.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
import uvloop

from mule.clock import LoopClock
from mule.contract.profile import profile_for_tests
from mule.shaper import DelayLaw, Kind, Release, Shaper, WindowCap
from mule.transport.memory import MemoryHub

LoopFactory = Callable[[], asyncio.AbstractEventLoop]
both_loops = pytest.mark.parametrize(
    "loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop], ids=["asyncio", "uvloop"]
)
SHORT = profile_for_tests(
    delay=DelayLaw(base=0.01, jitter=0.03),
    round_length=0.005,
    global_send=WindowCap(10_000, 1.0),
    responses_per_peer=WindowCap(10_000, 1.0),
)


@both_loops
def test_call_at_never_runs_early_and_runs_in_order(loop_factory: LoopFactory) -> None:
    async def scenario() -> list[tuple[int, float, float]]:
        clock = LoopClock()
        fired: list[tuple[int, float, float]] = []
        done = asyncio.get_running_loop().create_future()
        start = clock.now()
        offsets = [0.0123, 0.0005, 0.0201, 0.0077, 0.0151, -1.0]  # sub-millisecond parts and a time in the past
        for index, offset in enumerate(offsets):
            when = start + offset

            def record(index: int = index, when: float = when) -> None:
                fired.append((index, when, time.monotonic()))
                if len(fired) == len(offsets):
                    done.set_result(None)

            clock.call_at(when, record)
        await asyncio.wait_for(done, 5.0)
        return fired

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        fired = runner.run(scenario())
    assert all(actual >= when for _index, when, actual in fired)
    assert [when for _index, when, _actual in fired] == sorted(when for _index, when, _actual in fired)


@both_loops
def test_cancel_prevents_the_callback(loop_factory: LoopFactory) -> None:
    async def scenario() -> list[str]:
        clock = LoopClock()
        ran: list[str] = []
        clock.call_at(clock.now() + 0.005, lambda: ran.append("cancelled")).cancel()
        clock.call_at(clock.now() + 0.010, lambda: ran.append("kept"))
        await asyncio.sleep(0.05)
        return ran

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        assert runner.run(scenario()) == ["kept"]


@both_loops
def test_shaper_on_the_loop_clock_delivers_everything_never_early(loop_factory: LoopFactory) -> None:
    async def scenario() -> tuple[dict[bytes, float], dict[bytes, float], list[Release], Shaper]:
        clock = LoopClock()
        hub = MemoryHub()
        sender, receiver = hub.endpoint(), hub.endpoint()
        await sender.open()
        await receiver.open()
        releases: list[Release] = []
        shaper = Shaper(sender, clock, SHORT, seed=bytes(32), observer=releases.append)
        submitted: dict[bytes, float] = {}
        for index in range(100):
            payload = index.to_bytes(2, "big")
            submitted[payload] = clock.now()
            shaper.submit(receiver.local_destination, payload, list(Kind)[index % len(Kind)])
            if index % 10 == 9:
                await asyncio.sleep(0.003)
        arrived: dict[bytes, float] = {}
        while len(arrived) < len(submitted):
            datagram = await asyncio.wait_for(receiver.receive(), 5.0)
            arrived[datagram.payload] = clock.now()
        shaper.close()
        return submitted, arrived, releases, shaper

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        submitted, arrived, releases, shaper = runner.run(scenario())
    assert arrived.keys() == submitted.keys()
    assert all(arrived[p] - submitted[p] >= SHORT.delay.base for p in submitted)
    assert all(r.actual >= r.planned for r in releases)
    assert shaper.lateness.count == 100 and shaper.counters.sent == 100
