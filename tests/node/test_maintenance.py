"""Upkeep: one request per tick, whatever the table holds; seeds while thin; probes and discovery after."""

from __future__ import annotations

from collections import Counter

from mule._core.keystream import Keystream
from mule.kad import kad1, messages
from mule.kad.contact import Contact
from mule.kad.opcodes import KAD_VERSION
from mule.node.maintenance import THIN_TABLE, Maintenance
from mule.node.outbound import OwnContact
from mule.routing.table import RoutingTable
from mule.shaper import Kind, Shuffler
from tests.node.peers import dest, kad_id

ME = OwnContact(kad_id(0), dest(0))


def upkeep(contacts: int, seeds: list[Contact]) -> tuple[Maintenance, RoutingTable]:
    table = RoutingTable(ME.kad_id)
    n = 1
    while len(table) < contacts:
        table.add(kad_id(n), dest(n), KAD_VERSION, now=float(n), verified=True)
        n += 1
    return Maintenance(ME, table, seeds, Shuffler(bytes(32)), Keystream(bytes(32)).read), table


def seeds(count: int, version: int = KAD_VERSION) -> list[Contact]:
    return [Contact(version, kad_id(1000 + n), dest(1000 + n)) for n in range(count)]


def test_every_tick_sends_exactly_one_upkeep_message_in_every_state():
    for contacts, seed_count in [(0, 5), (3, 5), (THIN_TABLE + 5, 5), (THIN_TABLE + 5, 0), (1, 0)]:
        maintenance, _ = upkeep(contacts, seeds(seed_count))
        for tick in range(30):
            out = maintenance.tick(float(tick))
            assert len(out) == 1 and out[0].kind is Kind.MAINTENANCE, (contacts, seed_count, tick)


def test_a_node_that_knows_no_one_and_has_no_seeds_is_silent():
    maintenance, _ = upkeep(0, [])
    assert maintenance.tick(0.0) == []


def test_a_thin_table_bootstraps_every_third_tick_walking_all_seeds():
    listed = seeds(6)
    maintenance, _ = upkeep(3, listed)
    sent = [maintenance.tick(float(t))[0] for t in range(3 * len(listed))]
    boots = [o for o in sent if isinstance(o.message, messages.BootstrapReq)]
    assert len(boots) == len(listed)
    assert {o.destination for o in boots} == {c.udp_dest for c in listed}
    assert Counter(type(o.message) for o in sent) == {
        messages.BootstrapReq: 6,
        messages.HelloReq: 6,
        messages.KademliaReq: 6,
    }


def test_a_full_table_probes_the_stalest_contact_and_never_bootstraps():
    maintenance, table = upkeep(THIN_TABLE + 5, seeds(5))
    sent = [maintenance.tick(float(t))[0] for t in range(12)]
    assert not any(isinstance(o.message, messages.BootstrapReq) for o in sent)
    stalest = min(table.contacts(), key=lambda c: c.last_seen)
    assert sent[0].destination == stalest.destination and isinstance(sent[0].message, messages.HelloReq)


def test_discovery_asks_the_contact_nearest_a_random_target_by_its_own_id():
    maintenance, table = upkeep(THIN_TABLE + 5, [])
    sent = [maintenance.tick(float(t))[0] for t in range(30)]
    asks = [o.message for o in sent if isinstance(o.message, messages.KademliaReq)]
    assert len(asks) == 10 and len({a.target for a in asks}) == 10
    for ask in asks:
        assert ask.receiver_id == table.closest(ask.target, 1, verified_only=False)[0].kad_id
        assert ask.sender_id == ME.kad_id


def test_kad1_only_seeds_get_a_kad1_bootstrap():
    maintenance, _ = upkeep(0, seeds(1, version=1))
    [out] = maintenance.tick(0.0)
    assert out.message == kad1.Kad1BootstrapReq(ME.kad1())
