"""Contract invariant 2 (ordering): bursts leave in an order unrelated to enqueue order, peer lists are uniform."""

from __future__ import annotations

from collections.abc import MutableSequence

import numpy as np
import pytest
from shaper_stats import (
    ShaperFactory,
    assert_order_unrelated,
    assert_positions_uniform,
    kendall_tau_threshold,
    make_rig,
    position_counts,
)

from mule.contract.profile import profile_for_tests
from mule.shaper import Kind, Profile, Shaper, Shuffler, WindowCap
from mule.shaper.queue import Message

BURST = 3000
SEED = b"ordering-test-seed".ljust(32, b".")
_NO_CAPS = {
    "queue_messages": 1 << 20,
    "queue_bytes": 1 << 30,
    "global_send": WindowCap(1 << 30, 1.0),
    "responses_per_peer": WindowCap(1 << 30, 1.0),
}
V2_LAW = profile_for_tests(**_NO_CAPS)
STALLED = profile_for_tests(deadline_slack=60.0, **_NO_CAPS)
"""A slack longer than the stall below, so that the whole burst falls due at once and only the shuffle reorders it."""


class FifoRelease(Shaper):
    """Leaky: messages that fall due together leave in the order they were enqueued."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._queue._shuffler = _EnqueueOrder()


class _EnqueueOrder(Shuffler):
    """Puts due messages back in enqueue order (their payloads here are enqueue counters)."""

    def shuffle(self, items: MutableSequence[Message]) -> None:  # type: ignore[override]
        items[:] = sorted(items, key=lambda message: (message.enqueued_at, message.payload))


class _NoShuffle(Shuffler):
    def shuffle(self, items: MutableSequence[object]) -> None:
        pass


def burst_send_order(profile: Profile, factory: ShaperFactory = Shaper, seed: bytes = SEED) -> list[int]:
    """Enqueue BURST messages at one instant (e.g. answers to a batch of requests); return the order they left in.

    With ``STALLED`` the host stalls past every release instant first, so the burst falls due all at once.
    """
    rig = make_rig(profile, seed, factory)
    for index in range(BURST):
        rig.shaper.submit(b"peer-%d" % (index % 50), index.to_bytes(4, "big"), Kind.RESPONSE)
    if profile is STALLED:
        rig.clock.stall(profile.delay.high)
    rig.clock.advance(profile.max_delay + 1.0)
    return [int.from_bytes(payload, "big") for _at, _destination, payload in rig.wire]


@pytest.mark.parametrize("profile", [V2_LAW, STALLED], ids=["v2-law", "all-due-at-once"])
def test_burst_send_order_is_unrelated_to_enqueue_order(profile: Profile) -> None:
    assert_order_unrelated(range(BURST), burst_send_order(profile))


def test_negative_control_fifo_release_is_caught() -> None:
    with pytest.raises(AssertionError, match="follows enqueue order"):
        assert_order_unrelated(range(BURST), burst_send_order(STALLED, FifoRelease))


def test_kendall_threshold_matches_its_null_distribution() -> None:
    """The normal approximation behind the threshold holds at this n: random permutations exceed it rarely."""
    rng = np.random.default_rng(11)
    n = 400
    threshold = kendall_tau_threshold(n, alpha=0.05)
    exceed = 0
    for _ in range(400):
        try:
            assert_order_unrelated(range(n), rng.permutation(n).tolist(), alpha=0.05)
        except AssertionError:
            exceed += 1
    assert 0.0 < threshold < 0.1
    assert exceed / 400 < 0.1  # ~0.05 expected; binomial sd ~0.011


# --- contacts inside a message ------------------------------------------------------------------------------

CONTACTS = 11  # KADEMLIA2_REQ asks for 11 (0x0B) contacts on a node lookup
LISTS = 30_000


def contact_orders(shuffle: type[Shuffler]) -> list[list[int]]:
    """Contacts arrive sorted by distance (as closest-k returns them); record where each one ends up."""
    shuffler = shuffle(b"contact-order-test")
    return [shuffler.shuffled(range(CONTACTS)) for _ in range(LISTS)]


class _NaiveSwap(Shuffler):
    """Leaky: the classic biased shuffle (swap each slot with any slot), subtle but non-uniform."""

    def shuffle(self, items: MutableSequence[object]) -> None:
        for i in range(len(items)):
            j = self.below(len(items))
            items[i], items[j] = items[j], items[i]


def test_contact_positions_are_uniform() -> None:
    assert_positions_uniform(position_counts(contact_orders(Shuffler), CONTACTS))


@pytest.mark.parametrize("leaky", [_NoShuffle, _NaiveSwap], ids=["sorted-list", "naive-swap"])
def test_negative_control_sorted_or_biased_lists_are_caught(leaky: type[Shuffler]) -> None:
    with pytest.raises(AssertionError, match="not uniform"):
        assert_positions_uniform(position_counts(contact_orders(leaky), CONTACTS))


def test_shuffle_keeps_the_set_and_replays_with_a_seed() -> None:
    items = list(range(100))
    first = Shuffler(b"seed").shuffled(items)
    assert sorted(first) == items and first != items
    assert Shuffler(b"seed").shuffled(items) == first
    assert Shuffler(b"other").shuffled(items) != first
    in_place = list(items)
    Shuffler(b"seed").shuffle(in_place)
    assert in_place == first


def test_below_is_unbiased_and_rejects_bad_ranges() -> None:
    shuffler = Shuffler(b"below")
    draws = np.array([shuffler.below(3) for _ in range(30_000)])
    assert set(np.unique(draws)) == {0, 1, 2}
    assert np.all(np.abs(np.bincount(draws) - 10_000) < 4 * np.sqrt(30_000 * (1 / 3) * (2 / 3)))
    for bad in (0, -1, 2**32 + 1):
        with pytest.raises(ValueError):
            shuffler.below(bad)
    assert shuffler.below(1) == 0


def test_chi_square_threshold_matches_its_null_distribution() -> None:
    """The scaled statistic of truly uniform permutations exceeds the 5 % threshold about 5 % of the time."""
    rng = np.random.default_rng(5)
    k, exceed = 6, 0
    for _ in range(400):
        orders = [rng.permutation(k) for _ in range(300)]
        try:
            assert_positions_uniform(position_counts(orders, k), alpha=0.05)
        except AssertionError:
            exceed += 1
    assert 0.02 < exceed / 400 < 0.09  # binomial(400, 0.05): mean 0.05, sd 0.011
