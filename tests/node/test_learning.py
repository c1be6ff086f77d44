"""What the node learns from answers to its requests, against iMule 2.3.3.3 (``KademliaUDPListener.cpp``:
Process2BootstrapResponse, ProcessBootstrapResponse / AddContacts, ProcessKademlia2Response, Process2Pong)."""

from __future__ import annotations

import pytest

from mule.kad import kad1, messages
from mule.kad.contact import Contact, Kad1Contact
from mule.kad.opcodes import KAD_VERSION
from mule.node.handshake import Handshake
from mule.node.learning import Learning
from mule.node.tracking import Pending, RequestTracker
from mule.routing import RoutingTable
from tests.node.parts import ME, inbound, randbytes, table
from tests.node.peers import dest, kad_id

PEER = dest(0x7E57)
PEER_ID = kad_id(42)
PEER_KEY = 0xFEEDBEEF
LISTED = tuple(Contact(KAD_VERSION, kad_id(n), dest(n)) for n in range(10, 16))


def learning(routing: RoutingTable) -> Learning:
    return Learning(ME, routing, Handshake(ME, routing, RequestTracker(), randbytes()))


def bootstrap_res(contacts: tuple[Contact, ...] = LISTED, *, written: bytes = dest(0xD1FF)) -> messages.BootstrapRes:
    return messages.BootstrapRes(PEER_ID, 7, written, contacts)


@pytest.mark.parametrize("valid", [False, True])
def test_bootstrap_res_adds_its_sender_verified_only_with_our_valid_key(valid: bool):
    """Process2BootstrapResponse: CContact(contactID, dest, tdest, version, senderKey, validReceiverKey) added with
    update; its destination is the datagram's source (the payload names the sender's TCP destination)."""
    routing = table()
    learning(routing).bootstrap_res(inbound(PEER, bootstrap_res(), 1.0, sender_key=PEER_KEY, valid=valid), None)
    sender = routing.get(PEER_ID)
    assert sender is not None and sender.verified == valid
    assert (sender.destination, sender.version, sender.udp_key) == (PEER, 7, PEER_KEY)


def test_bootstrap_res_contacts_are_verified_only_while_our_table_was_empty():
    """Process2BootstrapResponse: assumeVerified = GetNumContacts() == 0, taken before the sender is added."""
    empty = table()
    learning(empty).bootstrap_res(inbound(PEER, bootstrap_res(), 1.0), None)
    assert all(empty.get(c.kad_id).verified for c in LISTED)  # type: ignore[union-attr]
    assert not empty.get(PEER_ID).verified  # type: ignore[union-attr]

    known = table()
    known.add(kad_id(1), dest(1), KAD_VERSION, 0.0, verified=True)
    learning(known).bootstrap_res(inbound(PEER, bootstrap_res(), 1.0), None)
    assert all(c.kad_id in known and not known.get(c.kad_id).verified for c in LISTED)  # type: ignore[union-attr]


def test_kad1_bootstrap_res_contacts_enter_unverified_as_kad1_contacts():
    """ProcessBootstrapResponse -> AddContacts(..., kadversion 1): verified = false, version 0."""
    routing = table()
    listed = tuple(Kad1Contact(kad_id(n), dest(n), dest(n + 1000), type=0) for n in range(10, 13))
    learning(routing).kad1_bootstrap_res(inbound(PEER, kad1.Kad1BootstrapRes(listed), 1.0), None)
    for c in listed:
        contact = routing.get(c.kad_id)
        assert contact is not None and not contact.verified
        assert (contact.destination, contact.version) == (c.udp_dest, 0)


def test_kademlia2_res_contacts_enter_unverified_even_into_an_empty_table():
    """ProcessKademlia2Response: AddUnfiltered(readContact, verified = false, update = false)."""
    routing = table()
    learning(routing).kademlia_res(inbound(PEER, messages.KademliaRes(kad_id(7), LISTED), 1.0), None)
    assert len(routing) == len(LISTED)
    assert not any(c.verified for c in routing.contacts())


@pytest.mark.parametrize(
    "message",
    [
        messages.KademliaRes(kad_id(7), LISTED),
        bootstrap_res(),
    ],
)
def test_listed_contacts_never_refresh_a_known_contact(message: messages.Message):
    """iMule adds listed contacts with update = false: a third party naming a contact does not keep it alive (it
    neither moves it in its bin nor resets its type or expiry)."""
    routing = table()
    routing.add(LISTED[0].kad_id, LISTED[0].udp_dest, KAD_VERSION, 0.0)
    probed = routing.next_probe(30.0)  # one unanswered probe: type 3 -> 4
    assert probed is not None and probed.type == 4
    before = (probed.type, probed.last_seen, probed.expires, probed.verified)
    part = learning(routing)
    arrived = inbound(PEER, message, 40.0)
    if isinstance(message, messages.BootstrapRes):
        part.bootstrap_res(arrived, None)
    else:
        part.kademlia_res(arrived, None)
    after = routing.get(LISTED[0].kad_id)
    assert after is not None and (after.type, after.last_seen, after.expires, after.verified) == before


def test_a_challenge_answer_verifies_its_sender_and_ignores_its_contacts():
    """ProcessKademlia2Response: IsLegacyChallenge -> VerifyContact(contactID, dest); 'we do not actually care for
    its other content'."""
    routing = table()
    pending = Pending(PEER_ID, 5, 0, legacy_challenge=True)
    learning(routing).kademlia_res(inbound(PEER, messages.KademliaRes(kad_id(7), LISTED), 1.0), pending)
    assert [c.kad_id for c in routing.contacts()] == [PEER_ID]
    contact = routing.get(PEER_ID)
    assert contact is not None and contact.verified and (contact.destination, contact.version) == (PEER, 5)


def test_an_answer_to_an_ordinary_lookup_verifies_nothing():
    routing = table()
    routing.add(PEER_ID, PEER, KAD_VERSION, 0.0)
    learning(routing).kademlia_res(inbound(PEER, messages.KademliaRes(kad_id(7), ()), 1.0), None)
    assert not routing.get(PEER_ID).verified  # type: ignore[union-attr]


def test_a_pong_verifies_nothing():
    """Process2Pong: no legacy challenge is registered for a PING, so nothing is verified."""
    routing = table()
    routing.add(PEER_ID, PEER, 7, 0.0)
    assert learning(routing).pong(inbound(PEER, messages.Pong(), 1.0, sender_key=PEER_KEY, valid=True), None) == []
    assert not routing.get(PEER_ID).verified  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "odd",
    [
        Contact(KAD_VERSION, ME.kad_id, dest(20)),  # our own ID
        Contact(KAD_VERSION, kad_id(21), ME.udp_dest),  # our own destination
        Contact(KAD_VERSION, kad_id(22), dest(0)),  # hashCode 0: iMule's IsGoodDest refuses it
    ],
)
def test_contacts_naming_us_or_a_zero_hash_code_are_skipped(odd: Contact):
    """AddUnfiltered refuses our own ID; ReadFile and IsGoodDest refuse our own and zero-hashCode destinations."""
    contacts = (odd, LISTED[0])
    lookup, bootstrap = table(), table()
    learning(lookup).kademlia_res(inbound(PEER, messages.KademliaRes(kad_id(7), contacts), 1.0), None)
    learning(bootstrap).bootstrap_res(inbound(PEER, bootstrap_res(contacts), 1.0), None)
    for routing in (lookup, bootstrap):
        assert routing.by_destination(odd.udp_dest) is None
        assert odd.kad_id == ME.kad_id or odd.kad_id not in routing
        assert LISTED[0].kad_id in routing
