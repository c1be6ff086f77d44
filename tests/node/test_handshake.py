"""HELLO handshakes and contact verification against iMule 2.3.3.3 (``src/kademlia/net/KademliaUDPListener.cpp``).

Each test drives ``Handshake`` (and ``Learning`` for challenge answers) on a real routing table, records what it
sends as the core would, and feeds back the peer's answer through the tracker, as the core does.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mule.contract import Kind
from mule.kad import kad1, messages
from mule.kad.contact import Contact, Kad1Contact
from mule.kad.message import Message
from mule.kad.obfuscation import KeyMode
from mule.kad.opcodes import KAD_VERSION, RequestType, TagName
from mule.kad.tags import IntTag
from mule.node.handshake import Handshake
from mule.node.learning import Learning
from mule.node.outbound import Outbound, Peer
from mule.node.tracking import TRACK_SECONDS, Pending, RequestTracker
from mule.routing import RoutingTable
from tests.node.parts import KEYS, ME, inbound, on_the_wire, randbytes, table, track
from tests.node.peers import dest, kad_id

PEER = dest(0x600D)
PEER_ID = kad_id(42)
PEER_KEY = 0x0BADCAFE
ACK_REQUEST = (IntTag(TagName.KADMISCOPTIONS, 0x04),)


@dataclass
class Node:
    """Our side: the handshake and learning parts over one table and one tracker."""

    table: RoutingTable
    tracker: RequestTracker
    handshake: Handshake
    learning: Learning

    def receive(self, message: Message, now: float, *, source: bytes = PEER, key: int = 0, valid: bool = False):
        """A datagram's message as the core dispatches it: requests straight in, responses only if tracked."""
        arrived = inbound(source, message, now, sender_key=key, valid=valid)
        handlers = {
            messages.HelloReq: self.handshake.hello_req,
            kad1.Kad1HelloReq: self.handshake.kad1_hello_req,
        }
        if type(message) in handlers:
            sent = handlers[type(message)](arrived)
        else:
            asked, pending = self.tracker.consume(source, message.OPCODE, now, target=getattr(message, "target", None))
            if not asked:
                return []
            responses = {
                messages.HelloRes: self.handshake.hello_res,
                messages.HelloResAck: self.handshake.hello_res_ack,
                messages.KademliaRes: self.learning.kademlia_res,
                messages.Pong: self.learning.pong,
                kad1.Kad1HelloRes: self.handshake.kad1_hello_res,
                kad1.Kad1Res: self.learning.kademlia_res,
            }
            sent = responses[type(message)](arrived, pending)
        track(self.tracker, sent, now)
        return sent


def node() -> Node:
    routing, tracker = table(), RequestTracker()
    handshake = Handshake(ME, routing, tracker, randbytes())
    return Node(routing, tracker, handshake, Learning(ME, routing, handshake))


def hello(version: int = KAD_VERSION, kad: int = PEER_ID, written_dest: bytes = PEER) -> messages.HelloReq:
    return messages.HelloReq(Contact(version, kad, written_dest))


# --- a stranger of version 8: HELLO_RES asking for an ACK, then HELLO_RES_ACK ----------------------------------------


def test_hello_req_from_a_v8_stranger_gets_an_obfuscated_hello_res_asking_for_an_ack_and_no_table_slot():
    """Process2HelloRequest -> SendMyDetails(HELLO_RES, ..., requestAckPacket = addedOrUpdated && !validReceiverKey):
    TAG_KADMISCOPTIONS = 0x04, keyed by its Kad ID with its sender key echoed. mule keeps the stranger out of the
    table until the handshake completes (the issue's sybil rule) and tracks the HELLO_RES with the would-be contact."""
    us = node()
    [reply] = us.receive(hello(), 1.0, key=PEER_KEY)
    assert reply.message == messages.HelloRes(ME.kad2(), ACK_REQUEST)
    assert reply.message.contact == Contact(8, ME.kad_id, ME.udp_dest)  # type: ignore[attr-defined]
    assert (reply.destination, reply.kind) == (PEER, Kind.RESPONSE)
    assert (reply.crypt_id, reply.receiver_key) == (PEER_ID, PEER_KEY)
    assert reply.pending == Pending(PEER_ID, 8, PEER_KEY)
    assert PEER_ID not in us.table
    assert us.tracker.outstanding(PEER, messages.HelloRes.OPCODE, 1.0)
    envelope, message = on_the_wire(reply, receiver_id=PEER_ID)
    assert envelope.mode is KeyMode.NODE_ID and message == reply.message
    assert (envelope.receiver_verify_key, envelope.sender_verify_key) == (PEER_KEY, KEYS.for_peer(PEER))


def test_a_plain_hello_req_from_a_v8_stranger_gets_a_hello_res_keyed_by_its_id_alone():
    """SendMyDetails(HELLO_RES, dest, 8, senderKey = 0, &contactID, true): NodeID mode, receiver key field 0."""
    us = node()
    [reply] = us.receive(hello(), 1.0)
    assert reply.message == messages.HelloRes(ME.kad2(), ACK_REQUEST)
    assert (reply.crypt_id, reply.receiver_key) == (PEER_ID, 0)
    envelope, _ = on_the_wire(reply, receiver_id=PEER_ID)
    assert (envelope.mode, envelope.receiver_verify_key) == (KeyMode.NODE_ID, 0)


def test_a_hello_res_ack_with_our_valid_key_adds_the_stranger_verified():
    """Process2HelloResponseAck: tracked HELLO_RES, validReceiverKey, then VerifyContact(remoteID, dest)."""
    us = node()
    us.receive(hello(), 1.0, key=PEER_KEY)
    assert us.receive(messages.HelloResAck(PEER_ID), 2.0, key=PEER_KEY, valid=True) == []
    contact = us.table.get(PEER_ID)
    assert contact is not None and contact.verified
    assert (contact.destination, contact.version, contact.udp_key) == (PEER, 8, PEER_KEY)


def test_a_hello_res_ack_without_our_valid_key_does_nothing():
    """Process2HelloResponseAck returns at once when !validReceiverKey (and the tracked entry is spent)."""
    us = node()
    us.receive(hello(), 1.0, key=PEER_KEY)
    us.receive(messages.HelloResAck(PEER_ID), 2.0, key=PEER_KEY)
    assert PEER_ID not in us.table
    us.receive(messages.HelloResAck(PEER_ID), 3.0, key=PEER_KEY, valid=True)  # no HELLO_RES outstanding any more
    assert PEER_ID not in us.table


def test_a_hello_res_ack_for_another_kad_id_verifies_nothing():
    """VerifyContact(remoteID, dest) finds no contact with that ID at that destination."""
    us = node()
    us.receive(hello(), 1.0, key=PEER_KEY)
    us.receive(messages.HelloResAck(kad_id(43)), 2.0, key=PEER_KEY, valid=True)
    assert len(us.table) == 0


def test_an_unasked_hello_res_ack_is_refused():
    """CHECK_TRACKED_PACKET(KADEMLIA2_HELLO_RES)."""
    us = node()
    assert us.receive(messages.HelloResAck(PEER_ID), 2.0, key=PEER_KEY, valid=True) == []
    assert len(us.table) == 0


def test_a_known_unverified_v8_contact_is_asked_for_an_ack_and_its_ack_verifies_it():
    """An update without a valid key is addedOrUpdated && !validReceiverKey: iMule asks for the ACK again."""
    us = node()
    us.table.add(PEER_ID, PEER, 8, 0.0, udp_key=PEER_KEY)
    [reply] = us.receive(hello(), 20.0, key=PEER_KEY)
    assert reply.message.tags == ACK_REQUEST  # type: ignore[attr-defined]
    us.receive(messages.HelloResAck(PEER_ID), 21.0, key=PEER_KEY, valid=True)
    assert us.table.get(PEER_ID).verified  # type: ignore[union-attr]


# --- a peer that already holds our key ------------------------------------------------------------------------------


def test_hello_req_with_our_valid_key_adds_the_contact_verified_and_asks_for_no_ack():
    """AddContact2(..., validReceiverKey) marks the destination verified; requestAckPacket is false."""
    us = node()
    [reply] = us.receive(hello(), 1.0, key=PEER_KEY, valid=True)
    assert reply.message == messages.HelloRes(ME.kad2(), ())
    assert (reply.crypt_id, reply.receiver_key, reply.pending) == (PEER_ID, PEER_KEY, None)
    contact = us.table.get(PEER_ID)
    assert contact is not None and contact.verified and contact.udp_key == PEER_KEY


# --- version 7: PING, never verified by the PONG ------------------------------------------------------------------


def test_hello_req_from_v7_gets_hello_res_without_ack_and_a_receiver_keyed_ping():
    """Process2HelloRequest: SendMyDetails writes the ACK tag only for kadVersion >= 8; version 7 gets
    SendNullPacket(PING, dest, senderKey, NULL)."""
    us = node()
    res, ping = us.receive(hello(7), 1.0, key=PEER_KEY)
    assert res.message == messages.HelloRes(ME.kad2(), ())
    assert (res.crypt_id, res.receiver_key) == (PEER_ID, PEER_KEY)
    assert (ping.destination, ping.message, ping.kind) == (PEER, messages.Ping(), Kind.REQUEST)
    assert (ping.crypt_id, ping.receiver_key) == (0, PEER_KEY)
    assert on_the_wire(ping)[0].mode is KeyMode.RECEIVER_KEY


def test_the_pong_to_a_v7_ping_verifies_nothing():
    """Process2Pong: IsLegacyChallenge(0, dest, PING) never matches, as iMule registers no challenge for the PING."""
    us = node()
    us.receive(hello(7), 1.0, key=PEER_KEY)
    assert us.tracker.outstanding(PEER, messages.Ping.OPCODE, 1.0)
    assert us.receive(messages.Pong(), 2.0, key=PEER_KEY) == []
    assert PEER_ID not in us.table


# --- versions 1..6: legacy challenge ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5, 6])
def test_hello_req_from_versions_1_to_6_gets_hello_res_and_a_33_byte_legacy_challenge(version: int):
    """SendMyDetails sends plain below version 6 and keyed by Kad ID from 6; SendLegacyChallenge(dest, id, kad2):
    KADEMLIA2_REQ type FIND_VALUE, a random nonzero target, the contact's ID, 33 bytes, always plain."""
    us = node()
    key = PEER_KEY if version >= 6 else 0
    res, challenge = us.receive(hello(version), 1.0, key=key)
    assert res.message == messages.HelloRes(ME.kad2(), ())
    assert (res.crypt_id, res.receiver_key) == ((PEER_ID, PEER_KEY) if version >= 6 else (0, 0))
    request = challenge.message
    assert isinstance(request, messages.KademliaReq)
    assert (request.type, request.receiver_id, request.sender_id) == (RequestType.FIND_VALUE, PEER_ID, None)
    assert request.target != 0
    assert (challenge.destination, challenge.kind, challenge.crypt_id, challenge.receiver_key) == (
        PEER,
        Kind.REQUEST,
        0,
        0,
    )
    assert len(request.encode()) == 2 + 33
    assert on_the_wire(challenge)[0].mode is None
    assert PEER_ID not in us.table


@pytest.mark.parametrize("version", [1, 5, 6])
def test_the_kademlia2_res_for_the_challenge_target_verifies_the_contact(version: int):
    """ProcessKademlia2Response: IsLegacyChallenge(target, dest, KADEMLIA2_REQ) -> VerifyContact; the rest of the
    answer is ignored. An answer for another target is not the challenge's."""
    us = node()
    _, challenge = us.receive(hello(version), 1.0)
    target = challenge.message.target  # type: ignore[attr-defined]
    listed = (Contact(5, kad_id(77), dest(77)),)
    assert us.receive(messages.KademliaRes(target ^ 1, listed), 2.0) == []
    assert len(us.table) == 0
    assert us.receive(messages.KademliaRes(target, listed), 3.0) == []
    contact = us.table.get(PEER_ID)
    assert contact is not None and contact.verified and (contact.destination, contact.version) == (PEER, version)
    assert kad_id(77) not in us.table


def test_only_one_legacy_challenge_at_a_time_per_destination():
    """HasActiveLegacyChallenge(dest) (<= 180 s) holds back a second challenge; after it lapses a new one goes."""
    us = node()
    assert len(us.receive(hello(5), 1.0)) == 2
    assert [type(o.message) for o in us.receive(hello(5), 60.0)] == [messages.HelloRes]
    assert [type(o.message) for o in us.receive(hello(5), 1.0 + TRACK_SECONDS)] == [messages.HelloRes]
    again = us.receive(hello(5), 1.0 + TRACK_SECONDS + 1)
    assert [type(o.message) for o in again] == [messages.HelloRes, messages.KademliaReq]


# --- Kad1 ----------------------------------------------------------------------------------------------------------


def test_kad1_hello_req_gets_a_kad1_hello_res_and_a_49_byte_kad1_challenge():
    """ProcessHelloRequest: SendMyDetails(KADEMLIA_HELLO_RES_DEPRECATED, ...) writes CContact::Self() as a Kad1
    contact (type 0, our TCP destination); SendLegacyChallenge(dest, id, false) adds our own ID: 49 bytes, plain."""
    us = node()
    res, challenge = us.receive(kad1.Kad1HelloReq(Kad1Contact(PEER_ID, dest(1234), dest(1235))), 1.0, key=PEER_KEY)
    assert res.message == kad1.Kad1HelloRes(Kad1Contact(ME.kad_id, ME.udp_dest, ME.tcp_dest, type=0))
    assert (res.crypt_id, res.receiver_key, res.kind) == (0, 0, Kind.RESPONSE)
    request = challenge.message
    assert isinstance(request, kad1.Kad1Req)
    assert (request.type, request.receiver_id, request.sender_id) == (RequestType.FIND_VALUE, PEER_ID, ME.kad_id)
    assert request.target != 0 and len(request.encode()) == 2 + 49
    assert (challenge.crypt_id, challenge.receiver_key) == (0, 0)
    target = request.target
    us.receive(kad1.Kad1Res(target, ()), 2.0)
    contact = us.table.get(PEER_ID)
    assert contact is not None and contact.verified and (contact.destination, contact.version) == (PEER, 0)


# --- answers to our HELLO_REQ -------------------------------------------------------------------------------------


def _asked(us: Node, version: int = KAD_VERSION) -> None:
    track(us.tracker, [us.handshake.hello(Peer(PEER, PEER_ID, version))], 0.0)


def test_hello_res_asking_for_an_ack_gets_hello_res_ack_keyed_by_its_sender_key():
    """Process2HelloResponse: sendACK -> HELLO_RES_ACK (our ID, u8 0 tags: 17 bytes), SendPacket(..., senderKey,
    NULL): keyed by the receiver key, not by Kad ID."""
    us = node()
    _asked(us)
    [ack] = us.receive(messages.HelloRes(Contact(8, PEER_ID, PEER), ACK_REQUEST), 1.0, key=PEER_KEY)
    assert ack.message == messages.HelloResAck(ME.kad_id, ())
    assert (ack.destination, ack.kind, ack.crypt_id, ack.receiver_key) == (PEER, Kind.RESPONSE, 0, PEER_KEY)
    assert len(ack.message.encode()) == 2 + 17
    envelope, message = on_the_wire(ack)
    assert envelope.mode is KeyMode.RECEIVER_KEY and message == ack.message
    contact = us.table.get(PEER_ID)
    assert contact is not None and not contact.verified and contact.udp_key == PEER_KEY


def test_hello_res_asking_for_an_ack_without_a_sender_key_gets_none():
    """Process2HelloResponse: 'Remote client demands ACK, but didn't send any sender key' - no reply."""
    us = node()
    _asked(us)
    assert us.receive(messages.HelloRes(Contact(8, PEER_ID, PEER), ACK_REQUEST), 1.0) == []


def test_an_ack_request_from_below_version_8_is_not_honoured():
    """AddContact2 sets outRequestsACK only for contact version >= 8."""
    us = node()
    _asked(us, 7)
    assert us.receive(messages.HelloRes(Contact(7, PEER_ID, PEER), ACK_REQUEST), 1.0, key=PEER_KEY) == []


def test_hello_res_from_a_legacy_peer_gets_a_challenge():
    """Process2HelloResponse: addedOrUpdated && !validReceiverKey && contactVersion < 7 -> SendLegacyChallenge."""
    us = node()
    _asked(us, 5)
    [challenge] = us.receive(messages.HelloRes(Contact(5, PEER_ID, PEER)), 1.0)
    assert isinstance(challenge.message, messages.KademliaReq) and challenge.message.receiver_id == PEER_ID


def test_an_unasked_hello_res_is_refused():
    """CHECK_TRACKED_PACKET(KADEMLIA2_HELLO_REQ)."""
    us = node()
    assert us.receive(messages.HelloRes(Contact(8, PEER_ID, PEER), ACK_REQUEST), 1.0, key=PEER_KEY) == []
    assert len(us.table) == 0


# --- update rules and destinations ------------------------------------------------------------------------------------


@pytest.mark.parametrize("other_key", [0x0DDBA11, 0])
def test_an_update_with_another_sender_key_is_refused(other_key: int):
    """CRoutingZone::Add: a stored nonzero UDP key must equal the updating packet's key (the hijack guard), so the
    contact is not updated, no ACK is asked and nothing is challenged."""
    us = node()
    us.table.add(PEER_ID, PEER, 8, 0.0, udp_key=PEER_KEY)
    before = us.table.get(PEER_ID)
    assert before is not None
    seen = before.last_seen
    [reply] = us.receive(hello(), 30.0, key=other_key)
    assert reply.message == messages.HelloRes(ME.kad2(), ())
    after = us.table.get(PEER_ID)
    assert after is not None and (after.udp_key, after.last_seen, after.verified) == (PEER_KEY, seen, False)


def test_the_contact_destination_is_the_datagram_source_not_the_one_written_in_the_payload():
    """iMule's AddContact2 takes the destination written in the contact; mule takes the datagram's (signed) source,
    so a peer cannot plant somebody else's destination."""
    us = node()
    elsewhere = dest(0xE15E)
    us.receive(hello(written_dest=elsewhere), 1.0, key=PEER_KEY, valid=True)
    assert us.table.get(PEER_ID).destination == PEER  # type: ignore[union-attr]
    us.receive(hello(kad=kad_id(43), written_dest=elsewhere), 1.0, source=dest(0x43), key=PEER_KEY)
    us.receive(messages.HelloResAck(kad_id(43)), 2.0, source=dest(0x43), key=PEER_KEY, valid=True)
    assert us.table.get(kad_id(43)).destination == dest(0x43)  # type: ignore[union-attr]
    assert us.table.by_destination(elsewhere) is None


def test_a_hello_naming_our_own_id_is_answered_but_never_learnt():
    """CRoutingZone::AddUnfiltered refuses our own ID, so addedOrUpdated is false: no ACK, no challenge."""
    us = node()
    [reply] = us.receive(hello(kad=ME.kad_id), 1.0, key=PEER_KEY)
    assert reply.message.tags == ()  # type: ignore[attr-defined]
    assert len(us.table) == 0


def test_our_hello_req_is_our_kad2_contact_keyed_as_iMules_small_timer():
    """CRoutingZone::OnSmallTimer: version >= 6 keyed by Kad ID with its stored key; 2..5 plain; below, Kad1."""
    us = node()
    cases = {8: (PEER_ID, PEER_KEY), 6: (PEER_ID, PEER_KEY), 5: (0, 0), 2: (0, 0)}
    for version, keys in cases.items():
        sent: Outbound = us.handshake.hello(Peer(PEER, PEER_ID, version, PEER_KEY if version >= 6 else 0))
        assert sent.message == messages.HelloReq(ME.kad2(), ())
        assert (sent.crypt_id, sent.receiver_key, sent.kind) == (*keys, Kind.MAINTENANCE)
    sent = us.handshake.hello(Peer(PEER, PEER_ID, 1))
    assert sent.message == kad1.Kad1HelloReq(ME.kad1())
    assert (sent.crypt_id, sent.receiver_key) == (0, 0)
