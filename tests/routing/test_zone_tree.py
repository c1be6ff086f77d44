"""The zone tree against iMule's RoutingZone rules: split, merge, K per bin, admission and update rules."""

from __future__ import annotations

import os

from routing_helpers import OWN_ID, at_distance, dest, leaf_shape, new_table, prefixed

from mule.kad.destination import hash_code
from mule.routing.constants import CONSOLIDATE_INTERVAL, KBASE, KK, MAX_LEVEL, K
from mule.routing.contact import Contact
from mule.routing.zone import Zone


def test_near_zone_keeps_splitting_until_the_contacts_separate():
    # Distances 1<<100 .. 11<<100 share 24 leading zero bits: the index-0 chain splits down to level 25.
    table = new_table()
    for i in range(1, 12):
        assert table.add(at_distance(i << 100), dest(i), 8, now=0.0)
    expected = [(level, 1, 0) for level in range(1, 25)] + [(25, 0, 7), (25, 1, 4)]
    assert leaf_shape(table) == sorted(expected)


def test_far_zone_stops_at_kbase_and_refuses_the_eleventh():
    # Prefix 1000: zone (4, 8) has index >= KK and level == KBASE, so it may not split.
    table = new_table()
    accepted = [table.add(at_distance(prefixed("1000", i)), dest(i), 8, now=0.0) for i in range(K + 1)]
    assert accepted == [True] * K + [False]
    assert leaf_shape(table) == [(1, 0, 0), (2, 3, 0), (3, 5, 0), (4, 8, K), (4, 9, 0)]


def test_zone_index_below_kk_splits_beyond_kbase_and_index_kk_does_not():
    # The 5th bit of i << 120 splits the eleven 8 / 3 once zone 0100 (index 4 < KK) splits.
    table = new_table()
    assert all(table.add(at_distance(prefixed("0100", i << 120)), dest(i), 8, now=0.0) for i in range(K + 1))
    accepted = [table.add(at_distance(prefixed("0101", i << 120)), dest(100 + i), 8, now=0.0) for i in range(K + 1)]
    assert accepted == [True] * K + [False]
    levels = {(z.level, z.index) for z in table.zones()}
    assert (4, 5) in levels  # 0101 stays a leaf
    assert {(5, 8), (5, 9)} <= levels  # 0100 split


def test_max_level_zone_never_splits():
    zone = Zone(MAX_LEVEL, 0, now=0.0)
    zone.bin = {n: Contact(n, dest(n), 8, 0.0, 0.0) for n in range(1, K + 1)}
    assert not zone.can_split()
    zone.level = MAX_LEVEL - 1
    assert zone.can_split()


def test_consolidate_waits_45_minutes_then_merges_nearly_empty_siblings():
    table = new_table()
    for i in range(1, 12):
        table.add(at_distance(i << 100), dest(i), 8, now=0.0)
    assert table.consolidate(CONSOLIDATE_INTERVAL - 1) == 0
    assert table.consolidate(CONSOLIDATE_INTERVAL) == 0  # (25,0) + (25,1) hold 11 >= K/2
    for i in range(1, 8):
        table.remove(at_distance(i << 100))
    assert table.consolidate(CONSOLIDATE_INTERVAL + 1) == 0  # the next one is not due for 45 minutes
    assert table.consolidate(2 * CONSOLIDATE_INTERVAL) == 25  # 4 left: everything folds back into the root
    assert leaf_shape(table) == [(0, 0, 4)]
    assert len(table) == 4 and all(table.get(at_distance(i << 100)) for i in range(8, 12))


def test_siblings_holding_k_half_stay_split():
    table = new_table()
    for i in range(1, 12):
        table.add(at_distance(i << 100), dest(i), 8, now=0.0)
    for i in range(1, 7):  # leaves 1 + 4 = 5 == K/2: no merge
        table.remove(at_distance(i << 100))
    assert table.consolidate(CONSOLIDATE_INTERVAL) == 0
    assert (25, 0, 1) in leaf_shape(table)


def test_random_fill_respects_k_and_puts_every_contact_in_its_prefix_leaf():
    table = new_table()
    for n in range(20_000):
        table.add(int.from_bytes(os.urandom(16), "big"), dest(n), 8, now=0.0)
    zones = table.zones()
    assert max(z.contacts for z in zones) == K
    assert sum(z.contacts for z in zones) == len(table)
    for contact in table.contacts():
        distance = OWN_ID ^ contact.kad_id
        assert sum(1 for z in zones if distance >> (128 - z.level) == z.index) == 1  # leaves partition the space
    for z in zones:  # every split zone was allowed to split (CanSplit)
        if z.level:
            assert (z.index >> 1) < KK or z.level - 1 < KBASE


def test_one_contact_per_hash_code_and_no_own_or_zero_id():
    table = new_table()
    assert not table.add(OWN_ID, dest(1), 8, now=0.0)
    assert not table.add(0, dest(1), 8, now=0.0)
    assert not table.add(1 << 128, dest(1), 8, now=0.0)
    assert table.add(at_distance(5), dest(1), 8, now=0.0)
    other = bytearray(dest(1))
    other[100] = 7  # same first four bytes: the same peer for iMule
    assert not table.add(at_distance(6), bytes(other), 8, now=0.0)
    assert table.by_destination(bytes(other)).kad_id == at_distance(5)
    assert len({hash_code(c.destination) for c in table.contacts()}) == len(table) == 1


def test_known_contact_update_rules():
    table = new_table()
    kad_id = at_distance(5)
    assert table.add(kad_id, dest(1), 8, now=0.0, udp_key=0)
    contact = table.get(kad_id)
    assert (contact.type, contact.expires) == (3, 0.0)
    assert not table.add(kad_id, dest(2), 8, now=10.0)  # destination mismatch
    assert not table.add(kad_id, dest(1), 7, now=10.0)  # lower version
    assert not table.add(kad_id, dest(1), 8, now=10.0, update=False)  # hearsay never refreshes
    assert contact.type == 3 and contact.last_seen == 0.0
    assert table.add(kad_id, dest(1), 8, now=20.0, udp_key=77, verified=True)  # first key is stored
    assert (contact.udp_key, contact.verified, contact.type, contact.last_seen) == (77, True, 2, 20.0)
    assert not table.add(kad_id, dest(1), 8, now=30.0, udp_key=78)  # contradicting key: hijack attempt
    assert not table.add(kad_id, dest(1), 8, now=30.0, udp_key=0)  # iMule also refuses an empty key here
    assert table.add(kad_id, dest(1), 8, now=40.0, udp_key=77, verified=False)
    assert contact.verified and contact.last_seen == 40.0  # verified is never downgraded


def test_refreshed_contact_moves_to_the_back_of_its_bin():
    table = new_table()
    ids = [at_distance(prefixed("1000", i)) for i in range(3)]
    for n, kad_id in enumerate(ids):
        table.add(kad_id, dest(n), 8, now=0.0)
    table.seen_alive(ids[0], now=5.0)
    leaf = table._leaf_for(OWN_ID ^ ids[0])
    assert list(leaf.bin) == [ids[1], ids[2], ids[0]]


def test_set_verified_and_udp_key_and_all_verified():
    table = new_table()
    for n in range(1, 4):
        table.add(at_distance(n), dest(n), 8, now=0.0)
    table.set_verified(at_distance(1))
    table.set_udp_key(at_distance(2), 99)
    assert table.get(at_distance(1)).verified and table.get(at_distance(2)).udp_key == 99
    table.set_all_verified()
    assert all(c.verified for c in table.contacts())
    assert table.zones()[0].verified == 3
