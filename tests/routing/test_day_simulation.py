"""A simulated day on a virtual timeline (no sockets): 1,000 peers, 30 % stop answering at noon.

One probe every 10 s comes from ``next_probe()``; an oracle answers for live peers (``seen_alive``); the dead
are dropped by ``expire()``. A negative control replays the old maintenance choice (always the contact seen
longest ago) and must be caught by the same checks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from routing_helpers import HOUR, dest

from mule._core.shuffle import Shuffler
from mule.routing import Contact, RoutingTable
from mule.routing.constants import PROBE_GRACE, SEEN_ALIVE_AGING, TYPE_DEAD

PEERS = 1000
DAY = 24 * HOUR
DEATH = DAY / 2
STEP = 10.0
MAX_LIFETIME = max(lifetime for _, lifetime in SEEN_ALIVE_AGING)


def dead_gone_within(table_size: int) -> float:
    """Worst case for a contact that dies right after an answer: its expiry, then four failed probes at least
    two minutes apart (type 0 -> 4), each waiting at most one full rotation of the table, then the grace."""
    return MAX_LIFETIME + TYPE_DEAD * (PROBE_GRACE + table_size * STEP) + PROBE_GRACE


@dataclass
class DayRun:
    probes: Counter = field(default_factory=Counter)
    added: dict[int, float] = field(default_factory=dict)
    removed: dict[int, float] = field(default_factory=dict)
    dead_in_table_at_death: set[int] = field(default_factory=set)
    max_table_size: int = 0
    final: set[int] = field(default_factory=set)
    live_ids: set[int] = field(default_factory=set)


Picker = Callable[[RoutingTable, float], Contact | None]


def fair_picker(table: RoutingTable, now: float) -> Contact | None:
    return table.next_probe(now)


def oldest_seen_picker(table: RoutingTable, now: float) -> Contact | None:
    """The old maintenance's choice: the contact seen longest ago, whatever its state."""
    contacts = table.contacts()
    return min(contacts, key=lambda c: c.last_seen) if contacts else None


def run_day(picker: Picker, seed: int = 11) -> DayRun:
    rng = np.random.default_rng(seed)
    ids = [int.from_bytes(rng.bytes(16), "big") for _ in range(PEERS)]
    code = {kad_id: n for n, kad_id in enumerate(ids)}
    dead = set(rng.choice(ids, size=PEERS * 3 // 10, replace=False).tolist())
    table = RoutingTable(int.from_bytes(rng.bytes(16), "big"), 0.0, Shuffler(b"day"))
    run = DayRun(live_ids=set(ids) - dead)

    def offer(kad_id: int, now: float, verified: bool, update: bool) -> None:
        known, size = kad_id in table, len(table)
        if table.add(kad_id, dest(code[kad_id]), 8, now, verified=verified, update=update) and not known:
            run.added.setdefault(kad_id, now)
            if len(table) == size:  # it took the place of a contact that stopped answering
                evicted = set(run.added) - set(run.removed) - {c.kad_id for c in table.contacts()}
                run.removed.update(dict.fromkeys(evicted, now))

    for kad_id in ids:
        offer(kad_id, 0.0, True, True)
    for step in range(1, int(DAY / STEP) + 1):
        now = step * STEP
        alive = run.live_ids if now >= DEATH else set(ids)
        if now == DEATH:
            run.dead_in_table_at_death = {c.kad_id for c in table.contacts()} & dead
        run.max_table_size = max(run.max_table_size, len(table))
        contact = picker(table, now)
        if contact is not None:
            run.probes[contact.kad_id] += 1
            if contact.kad_id in alive:
                table.seen_alive(contact.kad_id, now)
        for gone in table.expire(now):
            run.removed[gone.kad_id] = now
        table.consolidate(now)
        target = table.refresh_target(now)
        if target is not None:  # the lookup's answer: the ten live peers nearest the target, as hearsay
            for kad_id in sorted(alive, key=lambda i: i ^ target)[:10]:
                offer(kad_id, now, False, False)
        if step % 6 == 0:  # once a minute a random live peer says hello (verified by its key)
            hello = rng.choice(sorted(alive))
            offer(int(hello), now, True, True)
    run.final = {c.kad_id for c in table.contacts()}
    return run


def violations(run: DayRun) -> list[str]:
    found = []
    for kad_id in run.dead_in_table_at_death:
        gone = run.removed.get(kad_id)
        if gone is None or gone - DEATH > dead_gone_within(run.max_table_size):
            found.append(f"dead contact kept: {kad_id:032x} removed at {gone}")
    if run.final & (set(run.added) - run.live_ids):
        found.append("dead contacts still in the table at the end")
    newcomers = [kad_id for kad_id, at in run.added.items() if at > DEATH]
    if len(newcomers) < len(run.dead_in_table_at_death) // 2:
        found.append(f"only {len(newcomers)} newcomers admitted after the deaths")
    for kad_id, added in run.added.items():
        presence = run.removed.get(kad_id, DAY) - added
        probes = run.probes[kad_id]
        # Fair rotation: one probe on arrival, then an answered probe buys at least an hour; a dying contact
        # takes at most four more.
        if probes > 1 + presence / HOUR + TYPE_DEAD:
            found.append(f"{kad_id:032x}: {probes} probes in {presence / HOUR:.1f} h")
        if presence >= HOUR and probes == 0:
            found.append(f"{kad_id:032x}: never probed in {presence / HOUR:.1f} h")
    return found


def test_a_day_of_fair_probing_evicts_the_dead_and_admits_newcomers():
    run = run_day(fair_picker)
    assert violations(run) == []
    assert len(run.dead_in_table_at_death) > 30
    # Live contacts present all day follow the aging schedule: 1 h, 1.5 h, then 2 h between probes.
    whole_day = [i for i in run.live_ids & run.final if run.added[i] == 0.0 and i not in run.removed]
    counts = [run.probes[i] for i in whole_day]
    assert len(whole_day) > 100
    assert min(counts) >= 10 and max(counts) <= 15, Counter(counts)


def test_the_old_fixation_is_caught():
    found = violations(run_day(oldest_seen_picker))
    assert any("probes in" in line for line in found)
    assert any("dead contact kept" in line for line in found)
