"""Who may take a place in a full bin: only a verified newcomer, and only from a contact that stopped answering."""

from __future__ import annotations

import numpy as np
from routing_helpers import HOUR, OWN_ID, at_distance, dest, new_table, prefixed

from mule.routing.constants import ID_BITS, TYPE_DEAD, K


def _full_far_bin(verified: bool):
    """Zone 1000 (may not split) filled with K contacts, all seen alive."""
    table = new_table()
    ids = [at_distance(prefixed("1000", i + 1)) for i in range(K)]
    for n, kad_id in enumerate(ids):
        table.add(kad_id, dest(n), 8, now=0.0, verified=verified)
        table.seen_alive(kad_id, now=0.0)
    return table, ids


def _kill_one(table, now: float) -> int:
    """Probe until one contact of the table reaches type 4 (nobody answers); return its ID."""
    while True:
        now += 10
        contact = table.next_probe(now)
        if contact is not None and contact.type == TYPE_DEAD:
            return contact.kad_id


def test_verified_newcomer_replaces_a_contact_that_stopped_answering():
    table, ids = _full_far_bin(verified=True)
    newcomer = at_distance(prefixed("1000", 999))
    assert not table.add(newcomer, dest(999), 8, now=HOUR, verified=True)  # everyone alive: refused
    dead = _kill_one(table, now=HOUR)
    assert not table.add(newcomer, dest(999), 8, now=2 * HOUR)  # unverified: refused even so
    assert dead in table
    assert table.add(newcomer, dest(999), 8, now=2 * HOUR, verified=True)
    assert dead not in table and newcomer in table and len(table) == K
    assert set(ids) - {dead} <= {c.kad_id for c in table.contacts()}


def test_verified_live_contacts_are_never_displaced():
    table, ids = _full_far_bin(verified=True)
    for n in range(1000):
        table.add(at_distance(prefixed("1000", 10_000 + n)), dest(10_000 + n), 8, now=60.0, verified=True)
    assert sorted(c.kad_id for c in table.contacts()) == sorted(ids)


def test_sybil_flood_cannot_displace_verified_contacts_and_honest_newcomers_get_in_later():
    rng = np.random.default_rng(7)
    table = new_table()
    honest = [int.from_bytes(rng.bytes(16), "big") for _ in range(3000)]
    for n, kad_id in enumerate(honest):
        if table.add(kad_id, dest(n), 8, now=0.0, verified=True):
            table.seen_alive(kad_id, now=0.0)
    kept = {c.kad_id for c in table.contacts()}

    # 1,280 one-shot IDs aimed at every level of the tree (10 per shared-prefix length), never answering,
    # and honest verified peers in the same places (2 per level, where there is room for 12 IDs) that keep
    # saying hello.
    def near(level: int) -> int:
        return at_distance((1 << (ID_BITS - 1 - level)) | (int.from_bytes(rng.bytes(16), "big") >> (level + 1)))

    sybils = {near(level): 10**6 + level * 10 + j for level in range(ID_BITS) for j in range(10)}
    newcomers = {near(level): 2 * 10**6 + level * 2 + j for level in range(ID_BITS - 8) for j in range(2)}
    admitted_sybils = sum(table.add(kad_id, dest(code), 8, now=60.0) for kad_id, code in sybils.items())
    assert kept <= {c.kad_id for c in table.contacts()}
    assert all(not c.verified for c in table.contacts() if c.kad_id in sybils)
    target = int.from_bytes(rng.bytes(16), "big")
    assert not {c.kad_id for c in table.closest(target, 50, max_type=4)} & sybils.keys()  # never handed out
    # Never-probed contacts go first, so the flood is probed out at the probe rate: one per 10 s, then two
    # minutes' grace; a verified newcomer may take a sybil's place as soon as it failed its probe.
    steps = (admitted_sybils * 10 + 2 * 60) // 10 + 2
    now = 60.0
    for step in range(steps):
        now += 10
        contact = table.next_probe(now)
        if contact is not None and contact.kad_id not in sybils:
            table.seen_alive(contact.kad_id, now)
        table.expire(now)
        if step % 6 == 0:  # each says hello once a minute
            for kad_id, code in newcomers.items():
                table.add(kad_id, dest(code), 8, now, verified=True)
    left = {c.kad_id for c in table.contacts()}
    assert kept <= left
    assert not left & sybils.keys()  # every one-shot ID was probed out
    # A newcomer still outside lands in a leaf full of honest contacts (no sybil is left anywhere).
    full = [z for z in table.zones() if z.contacts == K]
    for kad_id in newcomers.keys() - left:
        distance = OWN_ID ^ kad_id
        assert any(distance >> (ID_BITS - z.level) == z.index for z in full)
    assert len(newcomers.keys() & left) > 0.9 * len(newcomers)
