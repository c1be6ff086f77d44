"""CoreTimer: one timer at the core's next tick, moved only earlier, never stacked."""

from __future__ import annotations

from mule.clock import VirtualClock
from mule.node.core_timer import CoreTimer


def _timer() -> tuple[VirtualClock, CoreTimer, list[float]]:
    clock = VirtualClock()
    fired: list[float] = []
    return clock, CoreTimer(clock, lambda: fired.append(clock.now())), fired


def test_a_later_wish_keeps_the_earlier_timer_and_an_earlier_one_replaces_it():
    clock, timer, fired = _timer()
    timer.arm(10.0)
    timer.arm(20.0)  # already due sooner: nothing changes
    timer.arm(5.0)  # sooner: the 10 s timer goes
    assert clock.pending() == 1
    clock.advance_to(30.0)
    assert fired == [5.0]


def test_after_firing_it_can_be_armed_again_even_later():
    clock, timer, fired = _timer()
    timer.arm(1.0)
    clock.advance_to(2.0)
    timer.arm(8.0)
    clock.advance_to(10.0)
    assert fired == [1.0, 8.0]


def test_cancel_stops_it_and_forgets_the_time():
    clock, timer, fired = _timer()
    timer.arm(1.0)
    timer.cancel()
    clock.advance_to(2.0)
    assert fired == []
    timer.arm(3.0)
    clock.advance_to(4.0)
    assert fired == [3.0]
