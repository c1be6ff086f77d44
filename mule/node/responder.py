"""What a node answers, sans-IO: an admitted request in, the replies to queue out.

The responder never sends and never reads a clock: the core gives it the time, and the
shaper alone decides when a reply leaves. Answers follow iMule's payload rules, with one
difference the contract demands: peer lists are the right set in a uniformly random order,
never sorted by distance. Replies to a peer that gave us its verify key are obfuscated
with it, as iMule's ``SendPacket(..., senderKey, NULL)``; Kad1 replies are always plain.
Building a reply costs the same whatever the table holds: peer lists are sampled, not
made by shuffling the whole table.
"""

from __future__ import annotations

from mule._core.shuffle import Shuffler
from mule.contract import Kind
from mule.kad import kad1, messages
from mule.kad.opcodes import KAD_VERSION
from mule.node.inbound import Inbound
from mule.node.outbound import Outbound, OwnContact, as_kad1, as_kad2
from mule.routing import Contact as TableContact
from mule.routing import RoutingTable

BOOTSTRAP_CONTACTS = 24  # ⌊(10238 − 16 − 1 − 387 − 2) / 404⌋: what fits one BOOTSTRAP_RES
KAD1_BOOTSTRAP_CONTACTS = 11  # plus our own contact last: iMule's 12 at this MTU
MAX_RES_CONTACTS = 25  # ⌊(10238 − 17) / 404⌋
KAD1_RES_CONTACTS = 12  # ⌊(10238 − 17) / 791⌋: iMule's ProcessKademliaRequest caps Kad1 answers by Kad1 contact size
REQ_TYPE_MASK = 0x1F
ANSWER_TYPE = 2  # KADEMLIA2_RES carries verified contacts of type 0..2 only (iMule's GetClosestToTarget(2, ...))


class Responder:
    __slots__ = ("_me", "_shuffler", "_table")

    def __init__(self, me: OwnContact, table: RoutingTable, shuffler: Shuffler) -> None:
        self._me = me
        self._table = table
        self._shuffler = shuffler

    def ping(self, inbound: Inbound) -> list[Outbound]:
        return [Outbound(inbound.source, messages.Pong(), Kind.RESPONSE, receiver_key=inbound.sender_key)]

    def bootstrap_req(self, inbound: Inbound) -> list[Outbound]:
        # iMule answers even with no contacts, names its TCP destination, and does not add the requester.
        contacts = tuple(map(as_kad2, self._table.random_contacts(BOOTSTRAP_CONTACTS, exclude=inbound.source)))
        reply = messages.BootstrapRes(self._me.kad_id, KAD_VERSION, self._me.tcp_dest, contacts)
        return [Outbound(inbound.source, reply, Kind.RESPONSE, receiver_key=inbound.sender_key)]

    def kad1_bootstrap_req(self, inbound: Inbound) -> list[Outbound]:
        contacts = tuple(map(as_kad1, self._table.random_contacts(KAD1_BOOTSTRAP_CONTACTS, exclude=inbound.source)))
        return [Outbound(inbound.source, kad1.Kad1BootstrapRes((*contacts, self._me.kad1())), Kind.RESPONSE)]

    def kademlia_req(self, inbound: Inbound) -> list[Outbound]:
        message: messages.KademliaReq = inbound.message  # type: ignore[assignment]
        found = self._closest(inbound.source, message.type, message.target, message.receiver_id, MAX_RES_CONTACTS)
        if found is None:
            return []
        reply = messages.KademliaRes(message.target, tuple(map(as_kad2, found)))
        return [Outbound(inbound.source, reply, Kind.RESPONSE, receiver_key=inbound.sender_key)]

    def kad1_req(self, inbound: Inbound) -> list[Outbound]:
        message: kad1.Kad1Req = inbound.message  # type: ignore[assignment]
        found = self._closest(inbound.source, message.type, message.target, message.receiver_id, KAD1_RES_CONTACTS)
        if found is None:
            return []
        return [Outbound(inbound.source, kad1.Kad1Res(message.target, tuple(map(as_kad1, found))), Kind.RESPONSE)]

    def _closest(
        self, source: bytes, req_type: int, target: int, receiver_id: int, cap: int
    ) -> list[TableContact] | None:
        """The verified contacts nearest ``target``, in a uniformly random order; ``None`` if iMule stays silent."""
        count = min(req_type & REQ_TYPE_MASK, cap)
        if receiver_id != self._me.kad_id or count == 0:
            return None
        # One more than asked, so the requester itself can be left out and the count still met.
        nearest = self._table.closest(target, count + 1, max_type=ANSWER_TYPE)
        return self._shuffler.shuffled([c for c in nearest if c.destination != source][:count])
