"""The deployed-priority advice: one line below Nice=-10, nothing at or above it."""

from __future__ import annotations

import os

from mule.node.priority import DEPLOYED_NICE, priority_advice


def test_below_the_deployed_priority_the_advice_names_the_fix():
    advice = priority_advice(0)
    assert advice is not None
    assert "niceness 0" in advice and f"Nice={DEPLOYED_NICE}" in advice and "docs/deploy.md" in advice
    assert priority_advice(DEPLOYED_NICE + 1) is not None


def test_at_or_above_the_deployed_priority_there_is_nothing_to_say():
    assert priority_advice(DEPLOYED_NICE) is None
    assert priority_advice(-20) is None


def test_without_an_argument_it_reads_this_process():
    assert (priority_advice() is None) == (os.getpriority(os.PRIO_PROCESS, 0) <= DEPLOYED_NICE)
