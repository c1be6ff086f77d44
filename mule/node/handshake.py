"""HELLO handshakes and contact verification, sans-IO, as iMule 2.3.3.3 does them (``KademliaUDPListener.cpp``).

A destination is *verified* once it proved it receives what we send to it: it echoed our
verify key (an obfuscated packet whose receiver key is ours for it), answered a HELLO_RES
that asked for a HELLO_RES_ACK (version 8), or answered a legacy challenge (a KADEMLIA2_REQ
or Kad1 REQ for a random target, for versions 1 to 6 and Kad1).

One deliberate difference from iMule: a peer that says HELLO first enters the routing table
only when its handshake completes, not before. iMule adds it at once, unverified; mule keeps
the would-be contact with the tracked request instead (``Pending``), so one-datagram sybils
never take a table slot. What goes on the wire is the same: the same HELLO_RES with the same
ACK request, the same PING or legacy challenge.
"""

from __future__ import annotations

from collections.abc import Callable

from mule.contract import Kind
from mule.kad import kad1, messages
from mule.kad.opcodes import HELLO_ACK_REQUESTED, RequestType, TagName
from mule.kad.tags import IntTag, Tag
from mule.node.inbound import Inbound
from mule.node.outbound import CRYPT_VERSION, KAD2_VERSION, Outbound, OwnContact, Peer
from mule.node.tracking import Pending, RequestTracker
from mule.routing import RoutingTable

ACK_VERSION = 8  # HELLO_RES_ACK three-way handshake
PING_VERSION = 7  # keys but no ACK: iMule pings (and never completes the check, see docs/node.md)
_ACK_REQUEST: tuple[Tag, ...] = (IntTag(TagName.KADMISCOPTIONS, HELLO_ACK_REQUESTED),)


def requests_ack(tags: tuple[Tag, ...]) -> bool:
    return any(
        isinstance(tag, IntTag) and tag.name == TagName.KADMISCOPTIONS and tag.value & HELLO_ACK_REQUESTED
        for tag in tags
    )


class Handshake:
    __slots__ = ("_me", "_randbytes", "_table", "_tracker")

    def __init__(
        self, me: OwnContact, table: RoutingTable, tracker: RequestTracker, randbytes: Callable[[int], bytes]
    ) -> None:
        self._me = me
        self._table = table
        self._tracker = tracker
        self._randbytes = randbytes

    # --- our HELLO_REQ (upkeep probes) --------------------------------------------------------------------------

    def hello(self, peer: Peer) -> Outbound:
        """iMule's small-timer probe: obfuscated by Kad ID from version 6, plain Kad2 from 2, Kad1 below."""
        if peer.version >= KAD2_VERSION:
            return peer.request(messages.HelloReq(self._me.kad2()), Kind.MAINTENANCE)
        return Outbound(peer.destination, kad1.Kad1HelloReq(self._me.kad1()), Kind.MAINTENANCE)

    # --- HELLO_REQ from a peer ----------------------------------------------------------------------------------

    def hello_req(self, inbound: Inbound) -> list[Outbound]:
        message: messages.HelloReq = inbound.message  # type: ignore[assignment]
        kad_id, version = message.contact.kad_id, message.contact.version
        # The contact's destination is the datagram's source: iMule reads the one written in the payload, which
        # would let a peer plant somebody else's destination in our table.
        worth_checking, pending = self._meet(kad_id, version, inbound)
        ack = worth_checking and version >= ACK_VERSION
        reply = Outbound(
            inbound.source,
            messages.HelloRes(self._me.kad2(), _ACK_REQUEST if ack else ()),
            Kind.RESPONSE,
            crypt_id=kad_id if version >= CRYPT_VERSION else 0,
            receiver_key=inbound.sender_key if version >= CRYPT_VERSION else 0,
            pending=pending if ack else None,
        )
        out = [reply]
        if worth_checking and not self._tracker.has_challenge(inbound.source, inbound.now):
            if version == PING_VERSION:
                out.append(Outbound(inbound.source, messages.Ping(), Kind.REQUEST, receiver_key=inbound.sender_key))
            elif version < PING_VERSION:
                out.append(self._challenge(inbound.source, kad_id, pending, kad1_form=False))
        return out

    def kad1_hello_req(self, inbound: Inbound) -> list[Outbound]:
        message: kad1.Kad1HelloReq = inbound.message  # type: ignore[assignment]
        kad_id = message.contact.kad_id
        worth_checking, pending = self._meet(kad_id, 0, inbound)
        out = [Outbound(inbound.source, kad1.Kad1HelloRes(self._me.kad1()), Kind.RESPONSE)]
        if worth_checking and not self._tracker.has_challenge(inbound.source, inbound.now):
            out.append(self._challenge(inbound.source, kad_id, pending, kad1_form=True))
        return out

    def _meet(self, kad_id: int, version: int, inbound: Inbound) -> tuple[bool, Pending | None]:
        """Take note of a peer's HELLO. Returns whether it still needs checking (iMule: added or updated without a
        valid receiver key) and, for a stranger, the would-be contact its handshake will verify."""
        if kad_id == self._me.kad_id:
            return False, None
        if inbound.valid_key:
            self._table.add(kad_id, inbound.source, version, inbound.now, verified=True, udp_key=inbound.sender_key)
            return False, None
        if kad_id in self._table:
            updated = self._table.add(kad_id, inbound.source, version, inbound.now, udp_key=inbound.sender_key)
            return updated, None
        return True, Pending(kad_id, version, inbound.sender_key)

    def _challenge(self, destination: bytes, kad_id: int, pending: Pending | None, *, kad1_form: bool) -> Outbound:
        """iMule's legacy challenge: a FIND_VALUE request for a random nonzero target, sent plain."""
        target = 0
        while not target:
            target = int.from_bytes(self._randbytes(16), "big")
        known = pending or self._known(destination, kad_id)
        check = Pending(kad_id, known.version if known else 0, known.udp_key if known else 0, legacy_challenge=True)
        if kad1_form:
            request: messages.Message = kad1.Kad1Req(RequestType.FIND_VALUE, target, kad_id, self._me.kad_id)
        else:
            request = messages.KademliaReq(RequestType.FIND_VALUE, target, kad_id)  # 33 bytes, as iMule's
        return Outbound(destination, request, Kind.REQUEST, pending=check)

    def _known(self, destination: bytes, kad_id: int) -> Pending | None:
        contact = self._table.get(kad_id)
        if contact is None or contact.destination != destination:
            return None
        return Pending(kad_id, contact.version, contact.udp_key)

    # --- answers to our HELLO_REQ / HELLO_RES / challenges -------------------------------------------------------

    def hello_res(self, inbound: Inbound, pending: Pending | None) -> list[Outbound]:
        message: messages.HelloRes = inbound.message  # type: ignore[assignment]
        kad_id, version = message.contact.kad_id, message.contact.version
        updated = kad_id != self._me.kad_id and self._table.add(
            kad_id, inbound.source, version, inbound.now, verified=inbound.valid_key, udp_key=inbound.sender_key
        )
        if requests_ack(message.tags) and version >= ACK_VERSION:
            if not inbound.sender_key:
                return []  # iMule: no key to answer with, so no ACK
            ack = messages.HelloResAck(self._me.kad_id)
            return [Outbound(inbound.source, ack, Kind.RESPONSE, receiver_key=inbound.sender_key)]
        checkable = updated and not inbound.valid_key and version < PING_VERSION
        if checkable and not self._tracker.has_challenge(inbound.source, inbound.now):
            return [self._challenge(inbound.source, kad_id, None, kad1_form=False)]
        return []

    def kad1_hello_res(self, inbound: Inbound, pending: Pending | None) -> list[Outbound]:
        message: kad1.Kad1HelloRes = inbound.message  # type: ignore[assignment]
        kad_id = message.contact.kad_id
        updated = kad_id != self._me.kad_id and self._table.add(kad_id, inbound.source, 0, inbound.now)
        if updated and not self._tracker.has_challenge(inbound.source, inbound.now):
            return [self._challenge(inbound.source, kad_id, None, kad1_form=True)]
        return []

    def hello_res_ack(self, inbound: Inbound, pending: Pending | None) -> list[Outbound]:
        """The third step: accepted only with our valid verify key (iMule drops it otherwise)."""
        message: messages.HelloResAck = inbound.message  # type: ignore[assignment]
        if inbound.valid_key:
            self._verify(inbound, message.kad_id, pending)
        return []

    def challenge_answered(self, inbound: Inbound, pending: Pending) -> None:
        """A legacy challenge came back: the destination is proven."""
        self._verify(inbound, pending.kad_id, pending)

    def _verify(self, inbound: Inbound, kad_id: int, pending: Pending | None) -> None:
        if pending is not None and pending.kad_id == kad_id and kad_id not in self._table:
            self._table.add(
                kad_id, inbound.source, pending.version, inbound.now, verified=True, udp_key=pending.udp_key
            )
            return
        contact = self._table.get(kad_id)
        if contact is not None and contact.destination == inbound.source:
            self._table.set_verified(kad_id)
