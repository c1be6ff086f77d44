"""Routing upkeep: a fixed mix of requests in every state, addressed and obfuscated as iMule 2.3.3.3's timers would.

References: ``src/kademlia/routing/RoutingZone.cpp`` (OnSmallTimer, OnBigTimer / RandomLookup), ``Search.cpp``
(SendFindPeersForTarget, CSearch::Go) and ``KademliaUDPListener.cpp`` (Bootstrap, SendMyDetails).
"""

from __future__ import annotations

from collections import Counter

import pytest

from mule._core import xor_distance
from mule.contract import PROFILE_V2, Kind
from mule.contract.profile import BOOTSTRAP_REQ, HELLO_REQ, KADEMLIA2_REQ
from mule.kad import kad1, messages
from mule.kad.contact import Contact
from mule.kad.opcodes import KAD_VERSION, RequestType
from mule.node.handshake import Handshake
from mule.node.inbound import flood_opcode
from mule.node.maintenance import Maintenance
from mule.node.outbound import Outbound
from mule.node.tracking import RequestTracker
from mule.routing import RoutingTable
from tests.node.parts import ME, fill, randbytes, shuffler, table
from tests.node.peers import dest, kad_id

MIX = PROFILE_V2.upkeep_mix
DECK = sum(cards for _, cards in MIX)
SEEDS = [Contact(KAD_VERSION, kad_id(900 + n), dest(900 + n)) for n in range(6)]
STEP = 10.0


def upkeep(
    routing: RoutingTable,
    seeds: list[Contact] = SEEDS,
    mix: tuple[tuple[int, int], ...] = MIX,
    *,
    label: str = "upkeep",
    kind: type[Maintenance] = Maintenance,
) -> Maintenance:
    handshake = Handshake(ME, routing, RequestTracker(), randbytes(label))
    return kind(ME, routing, list(seeds), handshake, shuffler(label), randbytes(label), mix)


def run(maintenance: Maintenance, ticks: int, start: float = 20.0) -> list[list[Outbound]]:
    return [maintenance.tick(start + STEP * i) for i in range(ticks)]


def kinds(sent: list[Outbound]) -> list[int]:
    """The Kad2 request each datagram stands for (a Kad1 form counts as its Kad2 equivalent)."""
    return [flood_opcode(item.message.OPCODE) for item in sent]


def deck_faults(ticks: list[list[Outbound]], mix: tuple[tuple[int, int], ...] = MIX) -> list[str]:
    """Every way the ticks break the rule: one request per tick, each deck of ``DECK`` ticks exactly ``mix``."""
    faults = [f"tick {i} sent {len(sent)}" for i, sent in enumerate(ticks) if len(sent) != 1]
    expected = Counter(dict(mix))
    for start in range(0, len(ticks) - DECK + 1, DECK):
        dealt = Counter(kinds([item for sent in ticks[start : start + DECK] for item in sent]))
        if dealt != expected:
            faults.append(f"deck at tick {start}: {dict(dealt)}")
    return faults


def state(name: str) -> RoutingTable:
    routing = table(name)
    fill(routing, range(1, {"empty": 1, "thin": 4, "full": 301}[name]))
    return routing


# --- the mix ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["empty", "thin", "full"])
def test_every_deck_deals_exactly_the_profile_mix_in_every_state(name: str):
    """Participation symmetry: 5 HELLO, 2 KADEMLIA2_REQ, 1 BOOTSTRAP_REQ per 8 ticks, whatever the table holds
    (contacts that never answer are probed to type 4 and expire meanwhile, so the state drifts too)."""
    assert dict(MIX) == {HELLO_REQ: 5, KADEMLIA2_REQ: 2, BOOTSTRAP_REQ: 1}
    ticks = run(upkeep(state(name)), 40 * DECK)
    assert deck_faults(ticks) == []


@pytest.mark.parametrize("name", ["empty", "thin", "full"])
def test_the_deck_order_is_random(name: str):
    """Each deck is shuffled afresh: of the 168 arrangements of 5 + 2 + 1 cards, 40 decks show many."""
    ticks = run(upkeep(state(name)), 40 * DECK)
    orders = {tuple(kinds([t[0] for t in ticks[i : i + DECK]])) for i in range(0, len(ticks), DECK)}
    assert len(orders) >= 25


class _BootstrapsWhileThin(Maintenance):
    """A negative control: the mix follows the table (only BOOTSTRAP_REQ while it holds under 10 contacts)."""

    def _deal(self) -> int:
        card = super()._deal()
        return BOOTSTRAP_REQ if len(self._table) < 10 else card


def test_a_mix_that_follows_table_state_is_caught():
    ticks = run(upkeep(state("thin"), kind=_BootstrapsWhileThin), 10 * DECK)
    assert deck_faults(ticks) != []


def test_silent_only_with_no_seeds_and_an_empty_table():
    assert all(sent == [] for sent in run(upkeep(state("empty"), seeds=[]), 3 * DECK))
    assert deck_faults(run(upkeep(state("thin"), seeds=[]), 3 * DECK)) == []
    assert deck_faults(run(upkeep(state("empty")), 3 * DECK)) == []


# --- HELLO_REQ: the due contact ---------------------------------------------------------------------------------------

HELLO_ONLY = ((HELLO_REQ, 1),)


def test_hello_goes_to_the_contact_due_for_a_probe_keyed_by_its_id_and_key():
    """OnSmallTimer probes the contact whose expiry passed (CheckingType) with SendMyDetails(HELLO_REQ, ..., version,
    GetUDPKey(), &clientID): keyed by Kad ID from version 6, with the key it gave us."""
    routing = table()
    for n in range(1, 6):
        routing.add(kad_id(n), dest(n), KAD_VERSION, 0.0, verified=True, udp_key=1000 + n)
    for n in range(1, 5):
        routing.seen_alive(kad_id(n), 5.0)  # not due for an hour; contact 5 has never been seen: due at 10 s
    [sent] = upkeep(routing, mix=HELLO_ONLY).tick(20.0)
    assert sent.destination == dest(5)
    assert sent.message == messages.HelloReq(ME.kad2(), ())
    assert (sent.crypt_id, sent.receiver_key, sent.kind) == (kad_id(5), 1005, Kind.MAINTENANCE)
    assert routing.get(kad_id(5)).type == 4  # type: ignore[union-attr]  # CheckingType: one more unanswered probe


def test_hello_falls_back_to_a_random_contact_then_a_seed():
    routing = table()
    fill(routing, range(1, 6), alive_at=5.0)  # nobody due
    targets = {sent[0].destination for sent in run(upkeep(routing, mix=HELLO_ONLY), 30)}
    assert targets <= {dest(n) for n in range(1, 6)} and len(targets) > 1
    [sent] = upkeep(table(), mix=HELLO_ONLY).tick(20.0)
    assert sent.destination in {seed.udp_dest for seed in SEEDS}
    assert (sent.crypt_id, sent.receiver_key) == (kad_id(900 + [s.udp_dest for s in SEEDS].index(sent.destination)), 0)


@pytest.mark.parametrize(("version", "form"), [(8, messages.HelloReq), (2, messages.HelloReq), (1, kad1.Kad1HelloReq)])
def test_hello_forms_by_version(version: int, form: type):
    """OnSmallTimer: version >= 6 keyed by ID, >= 2 plain Kad2, below that Kad1 HELLO_REQ (our Kad1 contact)."""
    routing = table()
    routing.add(kad_id(1), dest(1), version, 0.0, verified=True)
    [sent] = upkeep(routing, mix=HELLO_ONLY).tick(20.0)
    assert isinstance(sent.message, form)
    if form is kad1.Kad1HelloReq:
        assert sent.message.contact == ME.kad1()  # type: ignore[attr-defined]
    assert sent.crypt_id == (kad_id(1) if version >= 6 else 0)


# --- KADEMLIA2_REQ: the zone refresh ----------------------------------------------------------------------------------

REFRESH_ONLY = ((KADEMLIA2_REQ, 1),)


def _twins(build) -> tuple[RoutingTable, RoutingTable]:
    """Two tables built alike from one seed: one for the upkeep, one to ask what it should have done."""
    return build(), build()


def test_refresh_asks_the_nearest_verified_contact_for_the_zone_refresh_target():
    """OnBigTimer -> RandomLookup -> a NODE search for a random ID in the due zone; CSearch::Go seeds it with
    GetClosestToTarget (dest-verified only) and SendFindPeersForTarget sends KADEMLIA2_REQ (FIND_NODE, target,
    its ID, our ID) to the closest, keyed by its ID and UDP key from version 6."""

    def build() -> RoutingTable:
        routing = table("refresh")
        fill(routing, range(1, 30), alive_at=0.0)
        fill(routing, range(200, 600), verified=False)  # unverified contacts are never asked
        for contact in routing.contacts():
            routing.set_udp_key(contact.kad_id, contact.kad_id & 0xFFFF)
        return routing

    routing, oracle = _twins(build)
    maintenance = upkeep(routing, mix=REFRESH_ONLY)
    nearest_unverified = 0
    for now in (20.0, 31.0, 45.0, 56.0, 70.0):
        [sent] = maintenance.tick(now)
        oracle.expire(now)
        target = oracle.refresh_target(now)
        assert target is not None
        nearest_unverified += not _nearest(oracle.contacts(), target).verified
        nearest = _nearest(_lookup_seeds(oracle), target)
        assert sent.destination == nearest.destination
        assert sent.message == messages.KademliaReq(RequestType.FIND_NODE, target, nearest.kad_id, ME.kad_id)
        assert (sent.crypt_id, sent.receiver_key, sent.kind) == (nearest.kad_id, nearest.udp_key, Kind.MAINTENANCE)
    assert nearest_unverified  # the table offered a nearer unverified contact, and it was passed over


def _nearest(contacts: list, target: int):
    return min(contacts, key=lambda c: xor_distance(c.kad_id, target))


def _lookup_seeds(routing: RoutingTable) -> list:
    """CSearch::Go: GetClosestToTarget(3, ..., 50) over dest-verified contacts, topped up with type 4 below 50."""
    verified = [c for c in routing.contacts() if c.verified]
    low = [c for c in verified if c.type <= 3]
    return low if len(low) >= 50 else verified


def test_refresh_with_no_zone_due_still_sends_a_lookup():
    """Within iMule's 10 s gate no zone is due: a random target keeps the rate (the contract), same form."""
    routing = table()
    fill(routing, range(1, 30))
    maintenance = upkeep(routing, mix=REFRESH_ONLY)
    first, second = maintenance.tick(20.0), maintenance.tick(21.0)
    assert [type(s[0].message) for s in (first, second)] == [messages.KademliaReq] * 2
    assert first[0].message.target != second[0].message.target  # type: ignore[attr-defined]


def test_refresh_falls_back_to_a_seed_then_to_an_unverified_contact():
    """With no verified contact iMule's search has no one to ask; mule keeps the rate: a seed, else anyone."""
    [sent] = upkeep(table(), mix=REFRESH_ONLY).tick(20.0)
    assert sent.destination in {seed.udp_dest for seed in SEEDS}
    assert isinstance(sent.message, messages.KademliaReq) and sent.crypt_id == sent.message.receiver_id
    routing = table()
    fill(routing, range(1, 4), verified=False)
    [sent] = upkeep(routing, seeds=[], mix=REFRESH_ONLY).tick(20.0)
    assert sent.destination in {dest(n) for n in range(1, 4)}


def test_refresh_to_a_kad1_contact_is_a_plain_kad1_req():
    """SendFindPeersForTarget below version 2: KADEMLIA_REQ_DEPRECATED with the same 49 bytes, plain."""
    routing = table()
    routing.add(kad_id(1), dest(1), 1, 0.0, verified=True)
    [sent] = upkeep(routing, seeds=[], mix=REFRESH_ONLY).tick(20.0)
    request = sent.message
    assert isinstance(request, kad1.Kad1Req)
    assert (request.type, request.receiver_id, request.sender_id) == (RequestType.FIND_NODE, kad_id(1), ME.kad_id)
    assert (sent.crypt_id, sent.receiver_key) == (0, 0)


# --- BOOTSTRAP_REQ: the seeds -----------------------------------------------------------------------------------------

BOOTSTRAP_ONLY = ((BOOTSTRAP_REQ, 1),)


def test_bootstrap_walks_the_seeds_in_a_shuffled_order():
    """Seeds are visited in a random order (two nodes with one seed file do not walk it in step), then again."""
    maintenance = upkeep(table(), mix=BOOTSTRAP_ONLY, label="walk")
    order = [sent[0].destination for sent in run(maintenance, 2 * len(SEEDS))]
    expected = shuffler("walk").shuffled(seed.udp_dest for seed in SEEDS)
    assert order == expected * 2
    walks = [run(upkeep(table(), mix=BOOTSTRAP_ONLY, label=f"walk {i}"), len(SEEDS)) for i in range(8)]
    orders = {tuple(sent[0].destination for sent in walk) for walk in walks}
    assert len(orders) > 4


@pytest.mark.parametrize(("version", "crypt"), [(8, True), (6, True), (5, False), (2, False), (1, False), (0, False)])
def test_bootstrap_forms_by_version(version: int, crypt: bool):
    """Bootstrap(dest, kad2 = version > 1, version, &clientID): keyed by Kad ID with no receiver key from version 6,
    plain Kad2 from 2, Kad1 BOOTSTRAP_REQ (our Kad1 contact) below."""
    seed = Contact(version, kad_id(900), dest(900))
    [sent] = upkeep(table(), seeds=[seed], mix=BOOTSTRAP_ONLY).tick(20.0)
    expected = messages.BootstrapReq() if version >= 2 else kad1.Kad1BootstrapReq(ME.kad1())
    assert sent.message == expected
    assert (sent.crypt_id, sent.receiver_key, sent.kind) == (kad_id(900) if crypt else 0, 0, Kind.MAINTENANCE)


def test_bootstrap_without_seeds_goes_to_a_random_contact_without_its_key():
    routing = table()
    routing.add(kad_id(1), dest(1), KAD_VERSION, 0.0, verified=True, udp_key=77)
    [sent] = upkeep(routing, seeds=[], mix=BOOTSTRAP_ONLY).tick(20.0)
    assert (sent.destination, sent.message, sent.crypt_id, sent.receiver_key) == (
        dest(1),
        messages.BootstrapReq(),
        kad_id(1),
        0,
    )


def test_our_own_contact_is_never_a_seed():
    seeds = [Contact(KAD_VERSION, ME.kad_id, dest(5)), Contact(KAD_VERSION, kad_id(6), ME.udp_dest), *SEEDS[:1]]
    maintenance = upkeep(table(), seeds=seeds, mix=BOOTSTRAP_ONLY)
    assert maintenance.seeds == 1
    assert {sent[0].destination for sent in run(maintenance, 4)} == {SEEDS[0].udp_dest}
