"""The real clock, on uvloop (production) and on stock asyncio, in uvloop's own pattern: same test, both loops.

Only correctness is asserted here (never early, in order, cancellable, complete, never past the deadline);
how *late* releases are is measured in bench/test_bench_shaper.py. Nothing here depends on how fast the
machine is: the ordering test runs with two CPU hogs competing for the cores on purpose.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import uvloop

from mule.clock import LoopClock
from mule.clock.loop import TICK
from mule.contract.profile import profile_for_tests
from mule.shaper import DelayLaw, Kind, Outcome, Release, Shaper, WindowCap
from mule.transport.memory import MemoryHub

LoopFactory = Callable[[], asyncio.AbstractEventLoop]
both_loops = pytest.mark.parametrize(
    "loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop], ids=["asyncio", "uvloop"]
)
SHORT = profile_for_tests(
    delay=DelayLaw(base=0.01, jitter=0.03),
    deadline_slack=60.0,  # delivery is what this profile tests; the deadline has its own test below
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


def _spin() -> None:
    while True:
        pass


@pytest.fixture
def two_cpu_hogs() -> Iterator[None]:
    """Two busy-loop processes competing with the test for the machine's cores, always killed afterwards."""
    hogs = [multiprocessing.get_context("fork").Process(target=_spin, daemon=True) for _ in range(2)]
    try:
        for hog in hogs:
            hog.start()
        yield
    finally:
        for hog in hogs:
            if hog.pid is not None:
                hog.kill()
                hog.join()


@both_loops
def test_due_callbacks_run_in_time_then_scheduling_order_under_cpu_load(
    loop_factory: LoopFactory, two_cpu_hogs: None
) -> None:
    """Issue 9: on a loaded host an early-fired timer re-armed for its remainder ran after a later one.

    600 timers at sub-millisecond spacings (several sharing one time, to check scheduling order among ties),
    scheduled in a shuffled order while the hogs run: every callback must run at or after its time, and
    the order of runs must be the order of (time, scheduling sequence).
    """

    async def scenario() -> tuple[list[tuple[float, int]], list[tuple[float, int, float]]]:
        clock = LoopClock()
        start = clock.now() + 3.0  # all are scheduled long before the first is due, even on a badly loaded host
        rng = np.random.default_rng(9)
        offsets = np.round(rng.uniform(0.0, 0.3, 600), 4)  # rounding to 0.1 ms makes some times equal
        order = rng.permutation(offsets.size)
        fired: list[tuple[float, int, float]] = []
        scheduled: list[tuple[float, int]] = []
        done = asyncio.get_running_loop().create_future()
        for sequence, index in enumerate(order):
            when = start + float(offsets[index])

            def record(when: float = when, sequence: int = sequence) -> None:
                fired.append((when, sequence, time.monotonic()))
                if len(fired) == offsets.size:
                    done.set_result(None)

            clock.call_at(when, record)
            scheduled.append((when, sequence))
            if sequence % 50 == 0:
                await asyncio.sleep(0)  # let the loop run between scheduling bursts, as a live node does
        assert clock.now() < start, "scheduling overran the first due time: the expected order would not hold"
        await asyncio.wait_for(done, 30.0)
        return scheduled, fired

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        scheduled, fired = runner.run(scenario())
    assert all(actual >= when for when, _sequence, actual in fired), "a callback ran early"
    assert [(when, sequence) for when, sequence, _actual in fired] == sorted(scheduled)


@both_loops
def test_a_blocked_loop_never_sends_past_the_deadline(loop_factory: LoopFactory) -> None:
    """A host-wide stall (here the loop itself blocks for 300 ms): whatever was due during it and is now past
    its planned release + slack is dropped as congestion, never handed off late."""
    profile = profile_for_tests(
        delay=DelayLaw(base=0.01, jitter=0.05),
        deadline_slack=0.02,
        global_send=WindowCap(10_000, 1.0),
        responses_per_peer=WindowCap(10_000, 1.0),
    )

    async def scenario() -> tuple[list[Release], Shaper]:
        clock = LoopClock()
        hub = MemoryHub()
        sender = hub.endpoint()
        await sender.open()
        releases: list[Release] = []
        shaper = Shaper(sender, clock, profile, seed=bytes(32), observer=releases.append)
        for index in range(200):
            shaper.submit(b"peer", index.to_bytes(2, "big"), Kind.RESPONSE)
        time.sleep(0.3)  # the stall: every planned release (<= 60 ms) is now more than 200 ms in the past
        for index in range(200, 300):
            shaper.submit(b"peer", index.to_bytes(2, "big"), Kind.RESPONSE)
        while len(releases) < 300:
            await asyncio.sleep(0.01)
        shaper.close()
        return releases, shaper

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        releases, shaper = runner.run(scenario())
    stalled = [r for r in releases if int.from_bytes(r.message.payload, "big") < 200]
    assert all(r.outcome is Outcome.EXPIRED for r in stalled)  # deterministic: each was >= 240 ms past its deadline
    assert all(r.actual <= r.planned + profile.deadline_slack for r in releases if r.outcome is Outcome.SENT)
    assert shaper.counters.expired >= 200 and shaper.counters.congested == shaper.counters.expired


@both_loops
def test_wake_ups_never_use_the_loop_s_millisecond_timers(loop_factory: LoopFactory) -> None:
    """The loop's own timers wake on a 1 ms grid shared by the host: the clock must not use them at all."""

    async def scenario() -> tuple[list[int], list[object]]:
        loop = asyncio.get_running_loop()
        used: list[object] = []
        call_later, call_at = loop.call_later, loop.call_at

        def spy_later(delay: float, callback: Callable[..., object], *args: object) -> asyncio.TimerHandle:
            used.append(callback)
            return call_later(delay, callback, *args)

        def spy_at(when: float, callback: Callable[..., object], *args: object) -> asyncio.TimerHandle:
            used.append(callback)
            return call_at(when, callback, *args)

        loop.call_later, loop.call_at = spy_later, spy_at  # type: ignore[method-assign]
        clock = LoopClock()
        fired: list[int] = []
        done = loop.create_future()
        for index in range(20):

            def record(index: int = index) -> None:
                fired.append(index)
                if len(fired) == 20:
                    done.set_result(None)

            clock.call_at(clock.now() + 0.001 * index + 0.0003, record)
        await done
        return fired, [c for c in used if getattr(c, "__self__", None) is clock]

    if loop_factory is uvloop.new_event_loop:
        pytest.skip("uvloop's loop methods are read-only; the clock's code path is the same on both loops")
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        fired, clock_timers = runner.run(scenario())
    assert fired == list(range(20)) and clock_timers == []


def test_retry_at_refuses_a_late_wake_up_with_a_dithered_aim_and_takes_a_timely_one() -> None:
    async def scenario() -> tuple[list[float | None], float, float | None]:
        clock = LoopClock()
        before = clock.now()
        late = [clock.retry_at(before - 1.0) for _ in range(200)]  # a second late: refused every time
        return late, before, clock.retry_at(clock.now() + 1.0)  # not yet due: a timely wake-up

    late, before, timely = asyncio.run(scenario())
    assert timely is None
    aims = np.asarray(late, dtype=np.float64)
    assert (aims >= before).all()
    offsets = aims - aims.min()
    assert offsets.max() <= TICK + 0.5  # within one dither draw (plus how long 200 calls took)
    assert np.unique(aims).size == aims.size  # each a fresh draw


def test_timers_that_fall_due_while_a_wake_up_runs_wait_for_the_next_one() -> None:
    """A callback that keeps scheduling due work must not keep the loop from its other tasks (no livelock)."""

    async def scenario() -> tuple[int, int]:
        clock = LoopClock()
        chained = 0
        other_ran_at: list[int] = []

        def chain() -> None:
            nonlocal chained
            chained += 1
            if chained < 200:
                clock.call_at(clock.now() - 1.0, chain)  # already due when scheduled

        async def other() -> None:
            other_ran_at.append(chained)

        clock.call_at(clock.now(), chain)
        task = asyncio.get_running_loop().create_task(other())
        while chained < 200:
            await asyncio.sleep(0)
        await task
        return other_ran_at[0], chained

    other_at, chained = asyncio.run(scenario())
    assert chained == 200 and other_at < 200  # the other task ran before the chain was done


@both_loops
def test_wake_ups_come_from_a_kernel_timer_into_the_loop_s_own_thread(loop_factory: LoopFactory) -> None:
    """No helper thread: the loop polls the clock's timerfd and runs every callback on its own thread."""

    async def scenario() -> tuple[set[int], int, int]:
        clock = LoopClock()
        threads_before = threading.active_count()
        ran_on: set[int] = set()
        done = asyncio.get_running_loop().create_future()
        for index in range(50):

            def record(index: int = index) -> None:
                ran_on.add(threading.get_ident())
                if index == 49:
                    done.set_result(None)

            clock.call_at(clock.now() + 0.0002 * index, record)
        await asyncio.wait_for(done, 5.0)
        return ran_on, threads_before, threading.active_count()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        ran_on, threads_before, threads_after = runner.run(scenario())
    assert ran_on == {threading.get_ident()} and threads_after == threads_before


def test_a_clock_s_timer_descriptor_is_closed_with_it() -> None:
    async def scenario() -> int:
        clock = LoopClock()
        fired = asyncio.get_running_loop().create_future()
        clock.call_at(clock.now(), lambda: fired.set_result(None))
        await fired
        assert clock._timer is not None
        return clock._timer.fd

    fd = asyncio.run(scenario())  # the loop closes, dropping its reader, and with it the last reference
    gc.collect()
    with pytest.raises(OSError):
        os.fstat(fd)


def test_retry_at_lets_one_hand_off_through_per_wake_up() -> None:
    """Messages due in one wake-up would leave back to back, at the host's per-send cost: only the first may."""

    async def scenario() -> list[float | None]:
        clock = LoopClock()
        answers: list[float | None] = []
        done = asyncio.get_running_loop().create_future()

        def next_wake_up() -> None:
            answers.append(clock.retry_at(clock.now()))
            done.set_result(None)

        def hand_off(last: bool) -> None:
            answers.append(clock.retry_at(clock.now()))  # always on time: only the wake-up's first hand-off decides
            if last:
                clock.call_at(clock.now() - 1.0, next_wake_up)  # due at once, but runs in the next wake-up

        when = clock.now() + 0.005
        for index in range(3):
            clock.call_at(when, lambda last=index == 2: hand_off(last))  # all three run in one wake-up
        await asyncio.wait_for(done, 5.0)
        return answers

    first, second, third, later = asyncio.run(scenario())
    assert first is None and later is None
    assert second is not None and third is not None and second != third  # each re-aimed by a fresh dither
