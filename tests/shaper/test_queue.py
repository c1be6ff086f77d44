"""The sans-IO delay queue: rounds, bounds in messages and bytes, voids, shuffled release."""

from __future__ import annotations

import pytest

from mule._core import JitterSampler
from mule.contract.profile import profile_for_tests
from mule.shaper import Kind, Shuffler
from mule.shaper.queue import DelayQueue

PROFILE = profile_for_tests(queue_messages=5, queue_bytes=100)


def make_queue(seed: bytes = bytes(32)) -> DelayQueue:
    law = PROFILE.delay
    return DelayQueue(PROFILE, JitterSampler(law.base, law.jitter, seed), Shuffler(seed))


def test_bounds_turn_excess_into_voids_that_keep_their_delay() -> None:
    queue = make_queue()
    accepted = [queue.push(0.0, b"d", b"x" * 10, Kind.REQUEST) for _ in range(6)]
    assert accepted == [True] * 5 + [False]  # the sixth is over the message bound
    assert (queue.messages, queue.bytes) == (5, 50)
    assert not queue.push(0.0, b"d", b"x" * 51, Kind.REQUEST)  # over the byte bound, even with a freed slot
    queue.push_void(0.0)
    rounds = queue.pop_due(PROFILE.max_delay)
    assert sum(len(r.messages) for r in rounds) == 5
    assert sum(r.voids for r in rounds) == 3
    assert (queue.messages, queue.bytes, queue.next_tick()) == (0, 0, None)


def test_rounds_are_due_in_order_and_within_the_law() -> None:
    queue = make_queue()
    for index in range(200):
        queue.push(10.0, b"d", bytes([index]), Kind.MAINTENANCE)
    ticks = []
    while (tick := queue.next_tick()) is not None:
        assert queue.pop_due(tick - 1e-9) == []  # nothing is due before its tick
        rounds = queue.pop_due(tick)
        ticks += [r.tick for r in rounds]
        for r in rounds:
            assert all(m.enqueued_at == 10.0 for m in r.messages)
    assert ticks == sorted(ticks)
    assert 10.0 + PROFILE.delay.base - 1e-9 <= ticks[0] and ticks[-1] <= 10.0 + PROFILE.max_delay + 1e-9
    assert all(abs(t / PROFILE.round_length - round(t / PROFILE.round_length)) < 1e-6 for t in ticks)


def test_a_round_is_released_shuffled() -> None:
    profile = profile_for_tests(round_length=10.0, queue_messages=1000)
    law = profile.delay
    queue = DelayQueue(profile, JitterSampler(law.base, law.jitter, bytes(32)), Shuffler(b"round"))
    for index in range(300):
        queue.push(0.5, b"d", index.to_bytes(2, "big"), Kind.REQUEST)
    (only_round,) = queue.pop_due(10.0)
    order = [int.from_bytes(m.payload, "big") for m in only_round.messages]
    assert sorted(order) == list(range(300)) and order != list(range(300))


def test_clear_forgets_everything() -> None:
    queue = make_queue()
    queue.push(0.0, b"d", b"x", Kind.COVER)
    queue.push_void(0.0)
    queue.clear()
    assert (queue.messages, queue.bytes, queue.next_tick(), queue.pop_due(1e9)) == (0, 0, None, [])


def test_the_sampler_must_draw_the_profile_law() -> None:
    with pytest.raises(ValueError):
        DelayQueue(PROFILE, JitterSampler(0.0, 1.0, bytes(32)), Shuffler())
