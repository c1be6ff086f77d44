"""The deployed priority: taken when the OS allows; otherwise one line of advice below Nice=-10, none at or above."""

from __future__ import annotations

import os
import threading

import pytest

from mule.node.priority import DEPLOYED_NICE, priority_advice, take_deployed_priority, take_release_priority


def test_below_the_deployed_priority_the_advice_names_the_fix():
    advice = priority_advice(0)
    assert advice is not None
    assert "niceness 0" in advice and f"Nice={DEPLOYED_NICE}" in advice and "docs/deploy.md" in advice
    assert priority_advice(DEPLOYED_NICE + 1) is not None


def test_at_or_above_the_deployed_priority_there_is_nothing_to_say():
    assert priority_advice(DEPLOYED_NICE) is None
    assert priority_advice(-20) is None


class FakeNiceness:
    """This thread's niceness as the kernel keeps it, with or without the right to lower it."""

    def __init__(self, niceness: int, *, may_lower: bool) -> None:
        self.niceness, self.may_lower = niceness, may_lower

    def get(self, which: int, who: int) -> int:
        return self.niceness

    def set(self, which: int, who: int, niceness: int) -> None:
        if niceness < self.niceness and not self.may_lower:
            raise PermissionError(13, "Permission denied")
        self.niceness = niceness


@pytest.mark.parametrize(
    ("start", "may_lower", "after"), [(0, True, DEPLOYED_NICE), (0, False, 0), (5, False, 5), (-15, True, -15)]
)
def test_the_node_takes_the_deployed_priority_only_when_allowed_and_never_lowers_it(
    monkeypatch: pytest.MonkeyPatch, start: int, may_lower: bool, after: int
) -> None:
    kernel = FakeNiceness(start, may_lower=may_lower)
    monkeypatch.setattr(os, "getpriority", kernel.get)
    monkeypatch.setattr(os, "setpriority", kernel.set)
    priority = take_deployed_priority()
    assert (priority.before, priority.after, priority.raised) == (start, after, after < start)
    assert (priority_advice(priority.after) is None) == (after <= DEPLOYED_NICE)


def _in_a_thread_of_its_own() -> tuple[bool, int]:
    """``take_release_priority`` in a fresh thread (its policy ends with it): what it said, the policy it left."""
    outcome: list[tuple[bool, int]] = []

    def body() -> None:
        taken = take_release_priority()
        outcome.append((taken, os.sched_getscheduler(0)))

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    return outcome[0]


def test_the_release_thread_takes_sched_fifo_exactly_when_the_os_allows_and_says_whether_it_did(
    release_priority_allowed: bool,
):
    taken, policy = _in_a_thread_of_its_own()
    assert policy == (os.SCHED_FIFO if taken else os.SCHED_OTHER)
    assert taken == release_priority_allowed
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the caller's own thread is untouched


def test_without_the_right_the_release_thread_keeps_its_priority(monkeypatch):
    def refuse(*_args: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    assert _in_a_thread_of_its_own() == (False, os.SCHED_OTHER)
