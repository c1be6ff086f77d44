"""The responder's answers, field by field against iMule's rules (kad-wire.md §4, §4.1, §7.5)."""

from __future__ import annotations

import pytest

from mule._core import xor_distance
from mule.kad import kad1, messages
from mule.kad.codec import decode
from mule.kad.contact import Contact, Kad1Contact
from mule.kad.opcodes import KAD_VERSION, Op, RequestType
from mule.node.outbound import OwnContact
from mule.node.responder import BOOTSTRAP_CONTACTS, MAX_RES_CONTACTS, Responder
from mule.node.tracking import TRACK_SECONDS, RequestTracker
from mule.routing.table import RoutingTable
from mule.shaper import Kind, Shuffler
from tests.node.peers import dest, kad_id

ME = OwnContact(kad_id(0), dest(0))
PEER = dest(999)


def make(contacts: int = 0, *, verified: bool = True) -> tuple[Responder, RoutingTable, RequestTracker]:
    table = RoutingTable(ME.kad_id)
    for n in range(1, contacts + 1):
        table.add(kad_id(n), dest(n), KAD_VERSION, now=0.0, verified=verified)
    tracker = RequestTracker()
    return Responder(ME, table, tracker, Shuffler(bytes(32))), table, tracker


def test_ping_is_answered_with_pong_as_a_response():
    responder, _, _ = make()
    [reply] = responder.handle(PEER, messages.Ping(), 0.0)
    assert (reply.destination, reply.message, reply.kind) == (PEER, messages.Pong(), Kind.RESPONSE)


def test_hello_req_adds_the_sender_by_its_datagram_source_and_answers_with_our_contact():
    responder, table, _ = make()
    hello = messages.HelloReq(Contact(KAD_VERSION, kad_id(5), dest(12345)))  # claims another dest
    [reply] = responder.handle(PEER, hello, 1.0)
    assert reply.message == messages.HelloRes(Contact(KAD_VERSION, ME.kad_id, ME.udp_dest))
    known = table.get(kad_id(5))
    assert known is not None and known.destination == PEER and not known.verified


def test_bootstrap_res_carries_at_most_24_contacts_our_id_version_and_dest_and_not_the_requester():
    responder, table, _ = make(40)
    requester = table.get(kad_id(3))
    assert requester is not None and len(table) > BOOTSTRAP_CONTACTS
    before = len(table)
    [reply] = responder.handle(requester.destination, messages.BootstrapReq(), 0.0)
    res = reply.message
    assert isinstance(res, messages.BootstrapRes)
    assert (res.kad_id, res.version, res.tcp_dest) == (ME.kad_id, KAD_VERSION, ME.udp_dest)
    assert len(res.contacts) == BOOTSTRAP_CONTACTS
    assert requester.destination not in {c.udp_dest for c in res.contacts}
    assert len(table) == before  # iMule does not add a bootstrap requester


def test_bootstrap_is_answered_even_with_an_empty_table():
    responder, _, _ = make()
    [reply] = responder.handle(PEER, messages.BootstrapReq(), 0.0)
    assert isinstance(reply.message, messages.BootstrapRes) and reply.message.contacts == ()


@pytest.mark.parametrize("req_type", [RequestType.FIND_VALUE, RequestType.STORE, RequestType.FIND_NODE, 0x3F])
def test_kademlia_res_is_the_closest_verified_set_capped_by_the_masked_type(req_type: int):
    responder, table, _ = make(60)
    target = kad_id(1234)
    [reply] = responder.handle(PEER, messages.KademliaReq(req_type, target, ME.kad_id, kad_id(999)), 0.0)
    res = reply.message
    assert isinstance(res, messages.KademliaRes) and res.target == target
    count = min(req_type & 0x1F, MAX_RES_CONTACTS)
    assert len(table) > count
    expected = sorted(table.contacts(), key=lambda c: xor_distance(c.kad_id, target))[:count]
    assert {c.kad_id for c in res.contacts} == {c.kad_id for c in expected}
    assert len(res.contacts) == count


def test_kademlia_res_lists_only_verified_contacts_and_never_the_requester():
    responder, table, _ = make(10, verified=False)
    table.add(kad_id(77), dest(77), KAD_VERSION, 0.0, verified=True)
    table.add(kad_id(78), PEER, KAD_VERSION, 0.0, verified=True)
    [reply] = responder.handle(PEER, messages.KademliaReq(RequestType.FIND_NODE, 5, ME.kad_id), 0.0)
    assert [c.kad_id for c in reply.message.contacts] == [kad_id(77)]  # type: ignore[attr-defined]


def test_kademlia_order_is_not_distance_order():
    """Contract invariant 2: the right set in a random order (the chi-square test lives in tests/shaper)."""
    responder, _, _ = make(60)
    target = kad_id(4321)
    sorted_runs = 0
    for _ in range(50):
        [reply] = responder.handle(PEER, messages.KademliaReq(RequestType.FIND_NODE, target, ME.kad_id), 0.0)
        distances = [xor_distance(c.kad_id, target) for c in reply.message.contacts]  # type: ignore[attr-defined]
        sorted_runs += distances == sorted(distances)
    assert sorted_runs <= 1  # P(sorted) = 1/11! per answer


@pytest.mark.parametrize(
    "request_",
    [
        messages.KademliaReq(RequestType.FIND_NODE, 5, receiver_id=12345),  # not our ID: iMule ignores it
        messages.KademliaReq(0x20, 5, receiver_id=kad_id(0)),  # type masks to 0: rejected
    ],
)
def test_kademlia_req_iMule_ignores_gets_no_reply(request_: messages.KademliaReq):
    responder, _, _ = make(20)
    assert responder.handle(PEER, request_, 0.0) == []


@pytest.mark.parametrize(
    "request_",
    [
        messages.SearchKeyReq(kad_id(5)),
        messages.SearchSourceReq(kad_id(5), 0, 1000),
        messages.SearchNotesReq(kad_id(5), 1000),
    ],
)
def test_kad2_searches_are_always_answered_even_with_no_results(request_):
    responder, _, _ = make()
    [reply] = responder.handle(PEER, request_, 0.0)
    assert reply.message == messages.SearchRes(ME.kad_id, kad_id(5), ())


def test_responses_are_taken_only_when_we_asked_and_only_once():
    responder, table, tracker = make()
    hello = messages.HelloRes(Contact(KAD_VERSION, kad_id(8), dest(8)))
    assert responder.handle(PEER, hello, 0.0) == [] and len(table) == 0  # unsolicited: ignored
    tracker.expect(PEER, Op.HELLO_REQ, now=0.0)
    responder.handle(PEER, hello, 1.0)
    known = table.get(kad_id(8))
    assert known is not None and known.verified and known.destination == PEER
    table.remove(kad_id(8))
    responder.handle(PEER, hello, 2.0)  # the tracked entry was consumed
    assert len(table) == 0


def test_a_tracked_request_expires_after_iMules_180_seconds():
    responder, table, tracker = make()
    tracker.expect(PEER, Op.BOOTSTRAP_REQ, now=0.0)
    late = messages.BootstrapRes(kad_id(9), KAD_VERSION, PEER, ())
    responder.handle(PEER, late, TRACK_SECONDS + 0.1)
    assert len(table) == 0


def test_bootstrap_res_adds_sender_verified_and_its_contacts_unverified():
    responder, table, tracker = make()
    tracker.expect(PEER, Op.BOOTSTRAP_REQ, now=0.0)
    listed = tuple(Contact(KAD_VERSION, kad_id(n), dest(n)) for n in range(10, 15))
    too_new = Contact(KAD_VERSION + 1, kad_id(20), dest(20))  # iMule drops packets listing version > 8
    responder.handle(PEER, messages.BootstrapRes(kad_id(9), KAD_VERSION, PEER, (*listed, too_new)), 1.0)
    assert table.get(kad_id(9)).verified  # type: ignore[union-attr]
    assert all(not table.get(c.kad_id).verified for c in listed)  # type: ignore[union-attr]
    assert kad_id(20) not in table


def test_kad1_hello_is_answered_with_our_kad1_contact_and_adds_the_sender():
    responder, table, _ = make()
    [reply] = responder.handle(PEER, kad1.Kad1HelloReq(Kad1Contact(kad_id(50), dest(50), dest(51))), 0.0)
    assert reply.message == kad1.Kad1HelloRes(ME.kad1())
    known = table.get(kad_id(50))
    assert known is not None and known.destination == PEER and known.version == 0


def test_kad1_bootstrap_lists_11_contacts_then_our_own_last():
    responder, _, _ = make(30)
    [reply] = responder.handle(PEER, kad1.Kad1BootstrapReq(Kad1Contact(kad_id(50), PEER, PEER)), 0.0)
    contacts = reply.message.contacts  # type: ignore[attr-defined]
    assert len(contacts) == 12 and contacts[-1] == ME.kad1()


def test_every_reply_encodes_to_a_datagram_the_codec_reads_back():
    responder, _, _ = make(30)
    for request_ in (
        messages.Ping(),
        messages.BootstrapReq(),
        messages.HelloReq(Contact(KAD_VERSION, kad_id(90), dest(90))),
        messages.KademliaReq(RequestType.FIND_NODE, 7, ME.kad_id, kad_id(90)),
        messages.SearchKeyReq(7),
    ):
        for reply in responder.handle(PEER, request_, 0.0):
            assert decode(reply.message.encode()) == reply.message


def test_an_answered_lookup_verifies_the_contact_that_answered():
    responder, table, tracker = make()
    table.add(kad_id(8), PEER, KAD_VERSION, 0.0, verified=False)
    tracker.expect(PEER, Op.KADEMLIA_REQ, now=0.0)
    responder.handle(PEER, messages.KademliaRes(5, ()), 1.0)
    assert table.get(kad_id(8)).verified  # type: ignore[union-attr]
