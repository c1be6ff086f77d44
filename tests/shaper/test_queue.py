"""The sans-IO delay queue: continuous release instants, bounds in messages and bytes, voids, shuffled release."""

from __future__ import annotations

import pytest

from mule._core import JitterSampler
from mule.contract.profile import profile_for_tests
from mule.shaper import Kind, Profile, Shuffler
from mule.shaper.queue import VOID_GRAIN, DelayQueue

PROFILE = profile_for_tests(queue_messages=5, queue_bytes=100)


def make_queue(profile: Profile = PROFILE, seed: bytes = bytes(32)) -> DelayQueue:
    law = profile.delay
    return DelayQueue(profile, JitterSampler(law.base, law.jitter, seed), Shuffler(seed))


def test_bounds_turn_excess_into_voids_that_keep_their_delay() -> None:
    queue = make_queue()
    accepted = [queue.push(0.0, b"d", b"x" * 10, Kind.REQUEST) for _ in range(6)]
    assert accepted == [True] * 5 + [False]  # the sixth is over the message bound
    assert (queue.messages, queue.bytes) == (5, 50)
    assert not queue.push(0.0, b"d", b"x" * 51, Kind.REQUEST)  # over the byte bound, even with a freed slot
    queue.push_void(0.0)
    due = queue.pop_due(PROFILE.delay.high)
    assert len(due.messages) == 5
    assert sum(count for _planned, count in due.voids) == 3
    assert (queue.messages, queue.bytes, queue.next_due()) == (0, 0, None)


def test_each_message_is_due_at_its_own_instant_within_the_law() -> None:
    queue = make_queue(profile_for_tests(queue_messages=1000))
    for index in range(200):
        queue.push(10.0, b"d", bytes([index]), Kind.MAINTENANCE)
    instants = []
    while (due_at := queue.next_due()) is not None:
        assert queue.pop_due(due_at - 1e-9).messages == []  # nothing is due before its instant
        (message,) = queue.pop_due(due_at).messages  # continuous draws: no two share an instant
        assert message.enqueued_at == 10.0 and message.planned == due_at
        instants.append(due_at)
    assert instants == sorted(instants) and len(set(instants)) == 200
    assert 10.0 + PROFILE.delay.base <= instants[0] and instants[-1] <= 10.0 + PROFILE.delay.high


def test_messages_due_together_come_out_shuffled() -> None:
    profile = profile_for_tests(queue_messages=1000)
    law = profile.delay
    queue = DelayQueue(profile, JitterSampler(law.base, law.jitter, bytes(32)), Shuffler(b"due"))
    for index in range(300):
        queue.push(0.5, b"d", index.to_bytes(2, "big"), Kind.REQUEST)
    due = queue.pop_due(10.0)  # a late wake-up: everything at once
    order = [int.from_bytes(m.payload, "big") for m in due.messages]
    assert sorted(order) == list(range(300))
    assert order != list(range(300)) and order != [
        int.from_bytes(m.payload, "big") for m in sorted(due.messages, key=lambda m: m.planned)
    ]


def test_voids_cost_one_counter_per_millisecond_whatever_their_number() -> None:
    queue = make_queue()
    for _ in range(100_000):
        queue.push_void(0.0)
    assert len(queue._voids) <= PROFILE.delay.jitter / VOID_GRAIN + 1
    due = queue.pop_due(PROFILE.delay.high + VOID_GRAIN)
    assert sum(count for _planned, count in due.voids) == 100_000
    assert all(PROFILE.delay.base <= planned <= PROFILE.delay.high + VOID_GRAIN for planned, _count in due.voids)


def test_clear_forgets_everything() -> None:
    queue = make_queue()
    queue.push(0.0, b"d", b"x", Kind.COVER)
    queue.push_void(0.0)
    queue.clear()
    due = queue.pop_due(1e9)
    assert (queue.messages, queue.bytes, queue.next_due(), due.messages, due.voids) == (0, 0, None, [], [])


def test_the_sampler_must_draw_the_profile_law() -> None:
    with pytest.raises(ValueError):
        DelayQueue(PROFILE, JitterSampler(0.0, 1.0, bytes(32)), Shuffler())
