"""A simulated day of upkeep against 1,000 peers, 30 % of which stop answering: the table heals, probes spread.

The node core is driven directly on a virtual timeline; scripted iMule-like peers answer what it
sends after a fixed delay. A negative control replays the old upkeep (probe the contact heard from
least recently, never evict) and must be caught by the same fairness test.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from dataclasses import dataclass, field

import pytest

from mule.kad import messages
from mule.node.core import NodeCore, Send
from mule.routing import RoutingTable
from tests.node.core_fixtures import OWN_ID, make_core, peers
from tests.node.fake_peer import FakePeer

PEERS = 1000
NEWCOMERS = 100
HOUR = 3600.0
RTT = 1.0


@dataclass
class Day:
    node: NodeCore
    peers: dict[bytes, FakePeer]
    alive: set[bytes]
    rng: random.Random
    probes: Counter[bytes] = field(default_factory=Counter)
    heap: list[tuple[float, int, bytes, bytes]] = field(default_factory=list)
    seq: int = 0
    table_before_deaths: int = 0

    def deliver(self, sends: list[Send], now: float) -> None:
        for send in sends:
            peer = self.peers.get(send.destination)
            if peer is None:
                continue
            message = peer.read(send)
            if isinstance(message, messages.HelloReq):
                self.probes[send.destination] += 1
            if send.destination not in self.alive:
                continue
            reply = self.answer(peer, message)
            if reply is not None:
                self.seq += 1
                heapq.heappush(self.heap, (now + RTT, self.seq, peer.destination, peer.seal(self.node, reply)))

    def answer(self, peer: FakePeer, message: messages.Message) -> messages.Message | None:
        if isinstance(message, messages.HelloReq):
            return messages.HelloRes(peer.contact())
        if isinstance(message, messages.KademliaReq):
            return messages.KademliaRes(message.target, self.some_contacts(8))
        if isinstance(message, messages.BootstrapReq):
            return messages.BootstrapRes(peer.kad_id, 8, peer.destination, self.some_contacts(20))
        return None

    def some_contacts(self, count: int):
        # Peers know the network as it was: they also list the dead, as real routing tables do for a while.
        return tuple(p.contact() for p in self.rng.sample(list(self.peers.values()), count))

    def run_until(self, end: float) -> None:
        node = self.node
        while True:
            at = min(node.next_tick, self.heap[0][0] if self.heap else end)
            if at >= end:
                return
            if self.heap and self.heap[0][0] <= node.next_tick:
                when, _, source, payload = heapq.heappop(self.heap)
                self.deliver(node.receive(source, payload, when), when)
            else:
                self.deliver(node.tick(at), at)


def _stalest(table: RoutingTable, now: float):
    """The old upkeep's choice: the contact heard from least recently, whether or not it is due."""
    return min(table.contacts(), key=lambda c: c.last_seen, default=None)


def simulate(*, hours: float, old_upkeep: bool = False, monkeypatch: pytest.MonkeyPatch | None = None) -> Day:
    everyone = peers(PEERS + NEWCOMERS, start=1)
    residents, newcomers = everyone[:PEERS], everyone[PEERS:]
    for peer in newcomers:  # close to us (8 leading bits in common), where zones split to make room
        peer.kad_id = OWN_ID ^ (peer.kad_id >> 8)
    node = make_core(seeds=[p.contact() for p in residents[:50]])
    if old_upkeep:
        assert monkeypatch is not None
        monkeypatch.setattr(RoutingTable, "next_probe", _stalest)
        monkeypatch.setattr(RoutingTable, "expire", lambda self, now: [])
    day = Day(node, {p.destination: p for p in everyone}, {p.destination for p in residents}, random.Random(7))
    day.run_until(hours * HOUR / 4)
    day.table_before_deaths = len(node.table)
    # A quarter into the run, 30 % of the residents stop answering for good.
    for peer in day.rng.sample(residents, PEERS * 3 // 10):
        day.alive.discard(peer.destination)
    day.run_until(hours * HOUR / 2)
    # Halfway, newcomers say hello and complete iMule's handshake.
    for n, peer in enumerate(newcomers):
        day.alive.add(peer.destination)
        peer.handshake(node, hours * HOUR / 2 + n)
    day.run_until(hours * HOUR)
    return day


def probe_share(day: Day) -> float:
    """The largest share of all HELLO probes that went to one contact."""
    return max(day.probes.values()) / sum(day.probes.values())


def test_a_day_of_upkeep_evicts_the_dead_admits_newcomers_and_spreads_probes():
    day = simulate(hours=24)
    node = day.node
    held = {c.destination for c in node.table.contacts()}
    dead = set(day.peers) - day.alive
    assert len(held) >= 0.9 * day.table_before_deaths, (len(held), day.table_before_deaths)  # healed
    # Peers keep listing the dead, so one may be learnt again late in the day: it is then probed and dropped
    # within iMule's expiry, but none that died 18 h ago has stayed, and none is ever verified again.
    end = 24 * HOUR
    lingering = [c for c in node.table.contacts() if c.destination in dead and (c.verified or c.created < end - HOUR)]
    assert not lingering, lingering
    newcomers = {d for d in day.alive if d in held} - {p.destination for p in peers(PEERS, start=1)}
    # Honest newcomers that completed the handshake got in where iMule's tree has room (deep zones that may not
    # split keep their live contacts, as in iMule: 87 of these 100 fit), and stayed.
    assert len(newcomers) >= 0.8 * NEWCOMERS, len(newcomers)
    # Every live contact held since the first hours has been probed, and none took more than its share.
    assert all(day.probes[d] > 0 for d in held if d not in newcomers)
    assert probe_share(day) < 0.02, probe_share(day)
    assert node.counters.faults == 0


def test_negative_control_the_old_upkeep_fixates_and_is_caught(monkeypatch: pytest.MonkeyPatch):
    day = simulate(hours=6, old_upkeep=True, monkeypatch=monkeypatch)
    # One dead contact takes half of all probes over six hours (and every probe once it is the stalest).
    assert probe_share(day) > 0.25
