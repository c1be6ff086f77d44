"""The conditions' hogs: at the default priority for ``loaded``, at the node's own for the ``loaded_equal`` limit."""

from __future__ import annotations

import os

from mule.bench.constancy.runner import CONDITIONS, Hogs, node_niceness


def test_loaded_is_judged_and_loaded_equal_is_a_limit_with_hogs_at_the_node_priority() -> None:
    by_name = {c.name: c for c in CONDITIONS}
    assert by_name["loaded"].kind == "condition" and by_name["loaded"].hogs
    assert not by_name["loaded"].hogs_at_node_priority
    assert by_name["loaded_equal"].kind == "limit" and by_name["loaded_equal"].hogs_at_node_priority
    assert {c.kind for c in CONDITIONS if c.control} == {"control"}


def test_hogs_run_at_the_niceness_asked_for() -> None:
    wanted = os.getpriority(os.PRIO_PROCESS, 0) + 3  # raising niceness needs no privilege
    with Hogs(wanted) as hogs:
        assert [os.getpriority(os.PRIO_PROCESS, p.pid) for p in hogs._processes] == [wanted] * len(hogs._processes)


def test_the_bench_nodes_run_at_the_priority_mule_run_takes_here(taken_niceness: int) -> None:
    assert node_niceness() == taken_niceness
