"""What a node answers, sans-IO: an admitted inbound message in, the replies to queue out.

The responder never sends and never reads a clock: the service gives it the time,
and hands every reply to the shaper, which alone decides when it leaves. Answers
follow iMule's payload rules (kad-wire.md §4, §4.1) with one difference the contract
demands: peer lists are the right set in a uniformly random order, never sorted by
distance. Messages a node does not answer produce no reply here; the service has
already scheduled the shaper's uniform delay for them.
"""

from __future__ import annotations

from mule._core.shuffle import Shuffler
from mule.contract import Kind
from mule.kad import kad1, messages
from mule.kad.message import Message
from mule.kad.opcodes import KAD_VERSION
from mule.node.outbound import Outbound, OwnContact, as_kad1, as_kad2
from mule.node.tracking import RequestTracker
from mule.routing.table import Contact as TableContact
from mule.routing.table import RoutingTable

BOOTSTRAP_CONTACTS = 24  # ⌊(10238 − 16 − 1 − 387 − 2) / 404⌋: what fits one BOOTSTRAP_RES
KAD1_BOOTSTRAP_CONTACTS = 11  # plus our own contact last: iMule's 12 at this MTU
MAX_RES_CONTACTS = 25  # ⌊(10238 − 17) / 404⌋
REQ_TYPE_MASK = 0x1F


class Responder:
    __slots__ = ("_me", "_shuffler", "_table", "_tracker")

    def __init__(self, me: OwnContact, table: RoutingTable, tracker: RequestTracker, shuffler: Shuffler) -> None:
        self._me = me
        self._table = table
        self._tracker = tracker
        self._shuffler = shuffler

    def handle(self, source: bytes, message: Message, now: float) -> list[Outbound]:
        handler = _HANDLERS.get(type(message))
        return [] if handler is None else handler(self, source, message, now)

    # --- requests ---------------------------------------------------------------------------------------

    def _ping(self, source: bytes, message: messages.Ping, now: float) -> list[Outbound]:
        return [Outbound(source, messages.Pong(), Kind.RESPONSE)]

    def _hello_req(self, source: bytes, message: messages.HelloReq, now: float) -> list[Outbound]:
        self._learn(message.contact.kad_id, source, message.contact.version, now, verified=False)
        return [Outbound(source, messages.HelloRes(self._me.kad2()), Kind.RESPONSE)]

    def _kad1_hello_req(self, source: bytes, message: kad1.Kad1HelloReq, now: float) -> list[Outbound]:
        self._learn(message.contact.kad_id, source, 0, now, verified=False)
        return [Outbound(source, kad1.Kad1HelloRes(self._me.kad1()), Kind.RESPONSE)]

    def _bootstrap_req(self, source: bytes, message: messages.BootstrapReq, now: float) -> list[Outbound]:
        # iMule answers even with no contacts, and does not add the requester.
        contacts = tuple(as_kad2(c) for c in self._sample(BOOTSTRAP_CONTACTS, exclude=source))
        return [
            Outbound(
                source, messages.BootstrapRes(self._me.kad_id, KAD_VERSION, self._me.udp_dest, contacts), Kind.RESPONSE
            )
        ]

    def _kad1_bootstrap_req(self, source: bytes, message: kad1.Kad1BootstrapReq, now: float) -> list[Outbound]:
        self._learn(message.contact.kad_id, source, 0, now, verified=False)
        contacts = tuple(as_kad1(c) for c in self._sample(KAD1_BOOTSTRAP_CONTACTS, exclude=source))
        return [Outbound(source, kad1.Kad1BootstrapRes((*contacts, self._me.kad1())), Kind.RESPONSE)]

    def _kademlia_req(self, source: bytes, message: messages.KademliaReq, now: float) -> list[Outbound]:
        found = self._closest(source, message.type, message.target, message.receiver_id)
        if found is None:
            return []
        return [Outbound(source, messages.KademliaRes(message.target, tuple(map(as_kad2, found))), Kind.RESPONSE)]

    def _kad1_req(self, source: bytes, message: kad1.Kad1Req, now: float) -> list[Outbound]:
        found = self._closest(source, message.type, message.target, message.receiver_id)
        if found is None:
            return []
        return [Outbound(source, kad1.Kad1Res(message.target, tuple(map(as_kad1, found))), Kind.RESPONSE)]

    def _search_req(self, source: bytes, message: Message, now: float) -> list[Outbound]:
        # iMule always answers a Kad2 search, even with no results. mule keeps no index yet, so it has none.
        target: int = message.target  # type: ignore[attr-defined]
        return [Outbound(source, messages.SearchRes(self._me.kad_id, target, ()), Kind.RESPONSE)]

    # --- responses (accepted only when we asked) --------------------------------------------------------

    def _hello_res(self, source: bytes, message: messages.HelloRes, now: float) -> list[Outbound]:
        if self._tracker.consume(source, message.OPCODE, now):
            self._learn(message.contact.kad_id, source, message.contact.version, now, verified=True)
        return []

    def _kad1_hello_res(self, source: bytes, message: kad1.Kad1HelloRes, now: float) -> list[Outbound]:
        if self._tracker.consume(source, message.OPCODE, now):
            self._learn(message.contact.kad_id, source, 0, now, verified=True)
        return []

    def _bootstrap_res(self, source: bytes, message: messages.BootstrapRes, now: float) -> list[Outbound]:
        if self._tracker.consume(source, message.OPCODE, now):
            self._learn(message.kad_id, source, message.version, now, verified=True)
            for contact in message.contacts:
                self._learn(contact.kad_id, contact.udp_dest, contact.version, now, verified=False)
        return []

    def _kademlia_res(self, source: bytes, message: messages.KademliaRes, now: float) -> list[Outbound]:
        if self._tracker.consume(source, message.OPCODE, now):
            self._confirm(source, now)
            for contact in message.contacts:
                self._learn(contact.kad_id, contact.udp_dest, contact.version, now, verified=False)
        return []

    def _pong(self, source: bytes, message: messages.Pong, now: float) -> list[Outbound]:
        if self._tracker.consume(source, message.OPCODE, now):
            self._confirm(source, now)
        return []

    # --- helpers ----------------------------------------------------------------------------------------

    def _learn(self, kad_id: int, destination: bytes, version: int, now: float, *, verified: bool) -> None:
        # Versions above iMule's make iMule drop a whole packet that lists them: never pass such a contact on.
        if kad_id and version <= KAD_VERSION:
            self._table.add(kad_id, destination, version, now, verified=verified)

    def _confirm(self, source: bytes, now: float) -> None:
        """A known contact answered a request of ours: its destination is alive (I2P datagrams are signed)."""
        known = self._table.by_destination(source)
        if known is not None:
            self._learn(known.kad_id, source, known.version, now, verified=True)

    def _sample(self, count: int, *, exclude: bytes) -> list[TableContact]:
        candidates = [c for c in self._table.contacts() if c.destination != exclude]
        return self._shuffler.shuffled(candidates)[:count]

    def _closest(self, source: bytes, req_type: int, target: int, receiver_id: int) -> list[TableContact] | None:
        """The verified contacts nearest ``target``, in a uniformly random order; ``None`` if iMule stays silent."""
        count = min(req_type & REQ_TYPE_MASK, MAX_RES_CONTACTS)
        if receiver_id != self._me.kad_id or count == 0:
            return None
        # One more than asked, so the requester itself can be left out and the count still met.
        found = [c for c in self._table.closest(target, count + 1) if c.destination != source][:count]
        return self._shuffler.shuffled(found)


_HANDLERS = {
    messages.Ping: Responder._ping,
    messages.HelloReq: Responder._hello_req,
    messages.BootstrapReq: Responder._bootstrap_req,
    messages.KademliaReq: Responder._kademlia_req,
    messages.SearchKeyReq: Responder._search_req,
    messages.SearchSourceReq: Responder._search_req,
    messages.SearchNotesReq: Responder._search_req,
    messages.HelloRes: Responder._hello_res,
    messages.BootstrapRes: Responder._bootstrap_res,
    messages.KademliaRes: Responder._kademlia_res,
    messages.Pong: Responder._pong,
    kad1.Kad1HelloReq: Responder._kad1_hello_req,
    kad1.Kad1BootstrapReq: Responder._kad1_bootstrap_req,
    kad1.Kad1Req: Responder._kad1_req,
    kad1.Kad1HelloRes: Responder._kad1_hello_res,
}
