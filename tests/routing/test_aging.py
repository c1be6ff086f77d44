"""Contact aging against iMule's Contact.cpp: types and expiries by age, probing, and decay that is gradual."""

from __future__ import annotations

import itertools

import pytest
from routing_helpers import HOUR, at_distance, dest, new_table, prefixed

from mule.routing.constants import PROBE_GRACE, PROBE_GUARD

AGING = [
    (0.0, 2, HOUR),
    (HOUR - 1, 2, HOUR),
    (HOUR, 1, 1.5 * HOUR),
    (2 * HOUR - 1, 1, 1.5 * HOUR),
    (2 * HOUR, 0, 2 * HOUR),
    (30 * HOUR, 0, 2 * HOUR),
]


@pytest.mark.parametrize(("age", "kind", "lifetime"), AGING)
def test_seen_alive_sets_type_and_expiry_by_age(age, kind, lifetime):
    table = new_table()
    table.add(at_distance(1), dest(1), 8, now=100.0)
    table.seen_alive(at_distance(1), now=100.0 + age)
    contact = table.get(at_distance(1))
    assert (contact.type, contact.expires, contact.last_seen) == (kind, 100.0 + age + lifetime, 100.0 + age)


def test_new_contact_waits_for_the_guard_then_one_failed_probe_and_two_minutes():
    table = new_table()
    table.add(at_distance(1), dest(1), 8, now=0.0)
    assert table.next_probe(PROBE_GUARD - 1) is None  # iMule's m_lastTypeSet starts at creation
    probed = table.next_probe(PROBE_GUARD)
    assert (probed.kad_id, probed.type, probed.expires, probed.last_probed) == (at_distance(1), 4, 130.0, 10.0)
    assert table.next_probe(PROBE_GUARD + 60) is None  # type 4 is never probed again
    assert table.expire(PROBE_GUARD + PROBE_GRACE - 1) == []
    assert [c.kad_id for c in table.expire(PROBE_GUARD + PROBE_GRACE)] == [at_distance(1)]
    assert len(table) == 0


def test_a_late_answer_saves_a_type_4_contact():
    table = new_table()
    table.add(at_distance(1), dest(1), 8, now=0.0)
    table.next_probe(10.0)
    table.seen_alive(at_distance(1), now=60.0)
    assert table.get(at_distance(1)).type == 2
    assert table.expire(10.0 + 2 * PROBE_GRACE) == []


def test_long_lived_contact_needs_four_failed_probes_two_minutes_apart():
    table = new_table()
    table.add(at_distance(1), dest(1), 8, now=0.0)
    table.seen_alive(at_distance(1), now=3 * HOUR)  # type 0, expires at 5 h
    expiry = table.get(at_distance(1)).expires
    probes, removed_at, now = [], None, expiry - 60
    while removed_at is None:
        now += 10
        if (contact := table.next_probe(now)) is not None:
            probes.append((now, contact.type))
        if table.expire(now):
            removed_at = now
    assert [kind for _, kind in probes] == [1, 2, 3, 4]
    times = [t for t, _ in probes]
    assert all(later - earlier >= PROBE_GRACE for earlier, later in itertools.pairwise(times))
    assert removed_at - expiry >= 4 * PROBE_GRACE


def _reloaded(count: int):
    table = new_table()
    ids = [at_distance(prefixed(format(n % 16, "04b"), n + 1)) for n in range(count)]
    for n, kad_id in enumerate(ids):
        table.add(kad_id, dest(n), 8, now=0.0)
    return table, ids


def test_no_cliff_after_a_reload_removal_is_paced_by_probes():
    table, ids = _reloaded(160)
    dead = set(ids[::3])
    removed: list[float] = []
    for step in range(1, 6 * 60 + 1):  # an hour, one probe per 10 s
        now = step * 10.0
        contact = table.next_probe(now)
        if contact is not None and contact.kad_id not in dead:
            table.seen_alive(contact.kad_id, now)
        removed.extend(now for _ in table.expire(now))
    assert len(removed) == len(dead) and set(ids) - dead == {c.kad_id for c in table.contacts()}
    per_minute = [sum(1 for t in removed if m * 60 <= t < (m + 1) * 60) for m in range(60)]
    assert max(per_minute) <= 60 // 10  # never faster than the probes that found them dead
    assert min(removed) >= PROBE_GUARD + PROBE_GRACE


def test_an_outage_spreads_failed_probes_instead_of_killing_contacts():
    table, ids = _reloaded(160)
    for kad_id in ids:
        table.seen_alive(kad_id, now=3 * HOUR)  # all long-lived, all expiring together at 5 h
    outage_end = 5 * HOUR + 20 * 60
    now = 5 * HOUR
    while now < outage_end:  # twenty minutes: 120 probes, nobody answers
        now += 10
        table.next_probe(now)
        assert table.expire(now) == []
    types = sorted(c.type for c in table.contacts())
    assert len(table) == len(ids) and types[-1] <= 1  # each probed at most once before any second probe
    assert types.count(1) == 120
