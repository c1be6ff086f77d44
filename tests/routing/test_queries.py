"""What the table hands out: closest-k (exact, filtered), uniform random samples, nodes.dat and refresh picks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from routing_helpers import OWN_ID, at_distance, dest, new_table, prefixed
from scipy.stats import chi2

from mule._core.shuffle import Shuffler
from mule.routing import RoutingTable
from mule.routing.columns import ContactColumns
from mule.routing.constants import (
    EARLY_REFRESH_AFTER,
    ID_BITS,
    REFRESH_GATE,
    ZONE_FIRST_REFRESH,
    ZONE_REFRESH_INTERVAL,
    K,
)

ids = st.integers(1, (1 << 128) - 1)


@given(
    entries=st.lists(st.tuples(ids, st.booleans(), st.booleans()), max_size=120, unique_by=lambda e: e[0]),
    failed_probes=st.integers(0, 40),
    removals=st.integers(0, 20),
    target=st.integers(0, (1 << 128) - 1),
    k=st.integers(0, 30),
    max_type=st.integers(0, 4),
    verified_only=st.booleans(),
)
def test_closest_equals_a_brute_force_sort(entries, failed_probes, removals, target, k, max_type, verified_only):
    table = new_table()
    for n, (kad_id, verified, seen) in enumerate(entries):
        table.add(kad_id, dest(n), 8, now=0.0, verified=verified)
        if seen:
            table.seen_alive(kad_id, now=0.0)  # type 2; the others stay 3 or fail a probe below (type 4)
    for step in range(failed_probes):
        table.next_probe(10.0 * (step + 1))
    for contact in table.contacts()[:removals]:
        table.remove(contact.kad_id)
    eligible = [c for c in table.contacts() if c.type <= max_type and (c.verified or not verified_only)]
    expected = sorted(eligible, key=lambda c: c.kad_id ^ target)[:k]
    assert table.closest(target, k, max_type=max_type, verified_only=verified_only) == expected


def test_closest_defaults_to_verified_contacts_of_type_at_most_2():
    table = new_table()
    table.add(at_distance(1), dest(1), 8, now=0.0, verified=True)  # type 3: too new for answers
    table.add(at_distance(2), dest(2), 8, now=0.0, verified=False)
    table.seen_alive(at_distance(2), now=1.0)  # type 2 but unverified
    assert table.closest(OWN_ID, 5) == []
    table.seen_alive(at_distance(1), now=1.0)
    assert [c.kad_id for c in table.closest(OWN_ID, 5)] == [at_distance(1)]
    assert [c.kad_id for c in table.closest(OWN_ID, 5, verified_only=False)] == [at_distance(1), at_distance(2)]


@given(
    entries=st.lists(st.tuples(ids, st.integers(0, 9)), max_size=60, unique_by=lambda e: e[0]),
    target=st.integers(0, (1 << 128) - 1),
    k=st.integers(1, 12),
)
def test_column_twins_agree(both_twins, entries, target, k):
    compiled, pure = (ContactColumns(10, twin.closest_k) for twin in both_twins)
    for columns in (compiled, pure):
        for kad_id, cls in entries:
            columns.put(kad_id, cls)
        for kad_id, _ in entries[::4]:
            columns.discard(kad_id)
    classes = range(0, 10, 2)
    assert compiled.closest(target, k, classes) == pure.closest(target, k, classes)


def _sampling_table(size: int) -> RoutingTable:
    table = new_table(seed=b"uniform")
    for n in range(size):
        assert table.add(at_distance(prefixed(format(n % 16, "04b"), n + 1)), dest(n), 8, now=0.0)
    return table


def _chi_square_p(counts: np.ndarray) -> float:
    expected = counts.sum() / counts.size
    statistic = float(((counts - expected) ** 2 / expected).sum())
    return float(chi2.sf(statistic, counts.size - 1))


def test_random_contacts_are_uniform_distinct_and_exclude_the_asker():
    table = _sampling_table(100)
    asker = table.contacts()[17].destination
    index = {c.kad_id: n for n, c in enumerate(table.contacts())}
    counts = np.zeros(len(index))
    first = np.zeros(len(index))
    for _ in range(4000):
        sample = table.random_contacts(20, exclude=asker)
        assert len({c.kad_id for c in sample}) == 20
        assert all(c.destination != asker for c in sample)
        for c in sample:
            counts[index[c.kad_id]] += 1
        first[index[sample[0].kad_id]] += 1
    assert counts[17] == 0 and first[17] == 0
    others = np.delete(np.arange(len(index)), 17)
    assert _chi_square_p(counts[others]) > 1e-3  # every other contact equally likely
    assert _chi_square_p(first[others]) > 1e-3  # and in a uniform order


def test_chi_square_catches_a_biased_sampler():
    """Negative control: distinct picks by a modulo-folded draw (the first quarter twice as likely) must fail."""
    n = 99
    rand = Shuffler(b"biased")
    counts = np.zeros(n)
    for _ in range(4000):
        picks: set[int] = set()
        while len(picks) < 20:
            picks.add(rand.below(n + n // 4) % n)
        counts[list(picks)] += 1
    assert _chi_square_p(counts) < 1e-6


@pytest.mark.parametrize("k", [0, 1, 99, 100, 150])
def test_random_contacts_never_repeat_and_cap_at_the_table(k):
    table = _sampling_table(100)
    sample = table.random_contacts(k)
    assert len(sample) == min(k, 100) == len({c.kad_id for c in sample})
    unknown = table.random_contacts(k, exclude=dest(10**6))
    assert len(unknown) == min(k, 100)


def test_bootstrap_contacts_follow_imule_top_depth():
    table = new_table()
    rng = np.random.default_rng(3)
    for n in range(5000):
        table.add(int.from_bytes(rng.bytes(16), "big"), dest(n), 8, now=0.0)
    picked = table.bootstrap_contacts(10_000)
    assert len({c.kad_id for c in picked}) == len(picked) < len(table)
    shallow = {c.kad_id for z in table.zones() if z.level <= 5 for c in table.contacts() if _in(z, c.kad_id)}
    assert shallow <= {c.kad_id for c in picked}  # every leaf of the top five levels, whole
    capped = table.bootstrap_contacts(200)  # what nodes.dat gets
    assert len(capped) == len({c.kad_id for c in capped}) == 200


def _in(zone, kad_id: int) -> bool:
    return (OWN_ID ^ kad_id) >> (ID_BITS - zone.level) == zone.index


def test_refresh_targets_each_eligible_zone_hourly_one_per_10_s():
    table = new_table()
    for n in range(K + 1):  # splits the root: zones 0 and 1 at level 1
        table.add(at_distance(prefixed("1", n + 1) if n % 2 else prefixed("0", n + 1)), dest(n), 8, now=0.0)
    assert table.refresh_target(ZONE_FIRST_REFRESH - 1) is None
    picks = []
    for now in range(ZONE_FIRST_REFRESH, ZONE_FIRST_REFRESH + 60):
        if (target := table.refresh_target(float(now))) is not None:
            picks.append((now, (OWN_ID ^ target) >> (ID_BITS - 1)))
    assert [zone for _, zone in picks] == [0, 1]  # each leaf once, in turn
    assert picks[1][0] - picks[0][0] == REFRESH_GATE
    table.record_packet(1000.0)
    assert table.refresh_target(1000.0 + EARLY_REFRESH_AFTER) is None  # quiet, but not long enough
    early = table.refresh_target(1001.0 + EARLY_REFRESH_AFTER)
    assert early is not None  # no packet for 15 min: a zone fires before its hour
    assert table.refresh_target(ZONE_FIRST_REFRESH + ZONE_REFRESH_INTERVAL + 100.0) is not None


def test_refresh_targets_stay_inside_their_zone():
    table = new_table()
    rng = np.random.default_rng(5)
    for n in range(3000):
        table.add(int.from_bytes(rng.bytes(16), "big"), dest(n), 8, now=0.0)
    now, seen = 0.0, 0
    while seen < 30:
        now += REFRESH_GATE
        target = table.refresh_target(now)
        if target is not None:
            seen += 1
            assert sum(_in(z, target) for z in table.zones()) == 1
            zone = next(z for z in table.zones() if _in(z, target))
            assert zone.index < 5 or zone.level < 4 or zone.contacts <= 2
