"""The virtual clock: time moves only when advanced; callbacks run in (time, scheduling) order at their time."""

from __future__ import annotations

import pytest

from mule.clock import VirtualClock


def test_callbacks_run_in_time_then_scheduling_order_at_their_exact_time() -> None:
    clock = VirtualClock(5.0)
    ran: list[tuple[str, float]] = []
    for name, when in (("c", 7.0), ("a", 6.0), ("b", 6.0), ("d", 9.0)):
        clock.call_at(when, lambda name=name: ran.append((name, clock.now())))
    clock.advance_to(8.0)
    assert ran == [("a", 6.0), ("b", 6.0), ("c", 7.0)]
    assert clock.now() == 8.0 and clock.pending() == 1


def test_callbacks_scheduled_while_advancing_run_if_due() -> None:
    clock = VirtualClock()
    ran: list[float] = []

    def chain() -> None:
        ran.append(clock.now())
        if len(ran) < 5:
            clock.call_at(clock.now() + 1.0, chain)

    clock.call_at(1.0, chain)
    clock.advance(3.5)
    assert ran == [1.0, 2.0, 3.0]
    clock.advance(10.0)
    assert ran == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_past_times_run_now_and_never_move_time_back() -> None:
    clock = VirtualClock(10.0)
    seen: list[float] = []
    clock.call_at(3.0, lambda: seen.append(clock.now()))
    clock.advance(0.0)
    assert seen == [10.0]
    with pytest.raises(ValueError):
        clock.advance_to(9.0)


def test_cancelled_callbacks_do_not_run() -> None:
    clock = VirtualClock()
    ran: list[str] = []
    timer = clock.call_at(1.0, lambda: ran.append("cancelled"))
    clock.call_at(1.0, lambda: ran.append("kept"))
    timer.cancel()
    assert clock.pending() == 1
    clock.advance(2.0)
    assert ran == ["kept"] and clock.pending() == 0


def test_a_stall_runs_nothing_and_overdue_callbacks_then_run_late_in_order() -> None:
    clock = VirtualClock()
    ran: list[tuple[str, float]] = []
    for name, when in (("b", 2.0), ("a", 1.0), ("c", 9.0)):
        clock.call_at(when, lambda name=name: ran.append((name, clock.now())))
    clock.stall(5.0)
    assert ran == [] and clock.now() == 5.0
    clock.advance(0.0)
    assert ran == [("a", 5.0), ("b", 5.0)]  # late, at the end of the stall, still in time order
    clock.advance(5.0)
    assert ran[-1] == ("c", 9.0)
    with pytest.raises(ValueError):
        clock.stall(-1.0)
