"""The routing table: bucket limits, one contact per destination, closest-k against brute force."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from mule.kad.destination import hash_code
from mule.routing.table import BUCKET_SIZE, RoutingTable

OWN_ID = 0x0123456789ABCDEF_0123456789ABCDEF


def dest(n: int) -> bytes:
    return n.to_bytes(4, "little") + bytes(383)


def test_full_bucket_keeps_old_contacts_and_refuses_newcomers():
    table = RoutingTable(OWN_ID)
    far = [OWN_ID ^ (1 << 127) ^ n for n in range(BUCKET_SIZE + 3)]  # all share 0 leading bits with us
    accepted = [table.add(kad_id, dest(i), 8, now=float(i)) for i, kad_id in enumerate(far)]
    assert accepted == [True] * BUCKET_SIZE + [False] * 3
    assert len(table) == BUCKET_SIZE
    assert table.add(OWN_ID ^ 1, dest(99), 8, now=0.0)  # another bucket still has room


def test_own_id_and_taken_destinations_are_refused():
    table = RoutingTable(OWN_ID)
    assert not table.add(OWN_ID, dest(1), 8, now=0.0)
    assert table.add(OWN_ID ^ 5, dest(1), 8, now=0.0)
    assert not table.add(OWN_ID ^ 6, dest(1), 8, now=0.0)  # same hash code as the contact above
    assert not table.add(OWN_ID ^ 5, dest(2), 8, now=1.0)  # a known ID may not change destination


def test_refresh_updates_last_seen_and_verification():
    table = RoutingTable(OWN_ID)
    table.add(OWN_ID ^ 5, dest(1), 6, now=0.0)
    assert table.closest(0, 5) == []
    assert table.add(OWN_ID ^ 5, dest(1), 8, now=10.0, verified=True)
    contact = table.get(OWN_ID ^ 5)
    assert (contact.first_seen, contact.last_seen, contact.version, contact.verified) == (0.0, 10.0, 8, True)
    assert table.closest(0, 5) == [contact]


@given(
    entries=st.lists(st.tuples(st.integers(0, (1 << 128) - 1), st.booleans()), max_size=80, unique_by=lambda e: e[0]),
    removals=st.integers(0, 20),
    target=st.integers(0, (1 << 128) - 1),
    k=st.integers(1, 30),
)
def test_closest_matches_brute_force_after_adds_and_removes(entries, removals, target, k):
    table = RoutingTable(OWN_ID)
    for n, (kad_id, verified) in enumerate(entries):
        table.add(kad_id, dest(n), 8, now=0.0, verified=verified)
    for contact in table.contacts()[:removals]:
        assert table.remove(contact.kad_id)
    assert not table.remove(OWN_ID)
    kept = table.contacts()
    expected_all = sorted(kept, key=lambda c: c.kad_id ^ target)[:k]
    expected_verified = sorted((c for c in kept if c.verified), key=lambda c: c.kad_id ^ target)[:k]
    assert table.closest(target, k, verified_only=False) == expected_all
    assert table.closest(target, k) == expected_verified


def test_random_table_respects_every_bucket_bound():
    table = RoutingTable(OWN_ID)
    for n in range(5000):
        table.add(int.from_bytes(os.urandom(16), "big"), dest(n), 8, now=0.0)
    per_bucket: dict[int, int] = {}
    for contact in table.contacts():
        per_bucket[table.bucket_of(contact.kad_id)] = per_bucket.get(table.bucket_of(contact.kad_id), 0) + 1
    assert max(per_bucket.values()) == BUCKET_SIZE
    assert len({hash_code(c.destination) for c in table.contacts()}) == len(table)
