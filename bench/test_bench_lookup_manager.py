"""CPU cost of the lookup manager with many lookups running (figures, not asserts: machines are shared and noisy).

- ``next_deadline`` with 8 and 256 lookups running (the core asks for it after every datagram);
- one manager tick that steps the single lookup due, with 8 and 256 running (the heap pops one entry and pushes
  it back; a scan would visit every running lookup).

Node lookups on a 1,000-contact table; no answers come, so each step charges the next of its 50 seeds (400 steps:
no lookup runs out of seeds and ends during the measure).
The twin that runs is whichever ``mule._core`` loaded (``MULE_NO_EXTENSIONS=1`` for the pure-Python one).
"""

from __future__ import annotations

import pytest

from mule.contract import PROFILE_V3, DelayLaw, SlotPlan
from mule.contract.profile import profile_for_tests
from mule.lookup import LookupKind
from mule.lookup.manager import LookupManager
from tests.node.parts import ME, fill, randbytes, table

NEVER = SlotPlan(DelayLaw(1e12, 1.0), ((int(LookupKind.NODE), 1),))
"""No slot fires during the measure: only the running lookups' steps are timed."""


def busy_manager(running: int) -> tuple[LookupManager, float]:
    """A manager with ``running`` node lookups started one slot apart; and the instant they all run."""
    routing = table()
    fill(routing, range(1, 1001))
    deck = SlotPlan(DelayLaw(0.0, 0.01), ((int(LookupKind.NODE), 1),))
    profile = profile_for_tests(base=PROFILE_V3, lookup_slots=deck, publish_slots=NEVER)
    manager = LookupManager(ME, routing, profile, 0.0, randbytes=randbytes(), seed=bytes(32))
    now = 0.0
    while manager.running < running:
        now = manager.next_deadline
        manager.tick(now)
    manager.drain()  # no more slots: from now on only steps fall due
    return manager, now


@pytest.mark.benchmark(group="lookup-manager")
@pytest.mark.parametrize("running", [8, 256])
def test_next_deadline_with_lookups_running(benchmark, running: int) -> None:
    manager, _ = busy_manager(running)
    benchmark(lambda: manager.next_deadline)


@pytest.mark.benchmark(group="lookup-manager")
@pytest.mark.parametrize("running", [8, 256])
def test_a_tick_stepping_one_of_many_lookups(benchmark, running: int) -> None:
    manager, _ = busy_manager(running)

    def one_step() -> None:
        now = manager.next_deadline
        manager.tick(now)  # the one lookup due: one step, one re-scheduling

    benchmark.pedantic(one_step, rounds=400)
    assert manager.running == running  # none ended: the figure is of steps, not of ends
