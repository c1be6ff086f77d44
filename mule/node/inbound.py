"""Which flood counter an inbound message charges: iMule counts Kad1 requests with their Kad2 equivalent."""

from __future__ import annotations

from mule.kad.message import Message
from mule.kad.opcodes import Op

_KAD2_EQUIVALENT: dict[int, int] = {
    Op.KAD1_BOOTSTRAP_REQ: Op.BOOTSTRAP_REQ,
    Op.KAD1_HELLO_REQ: Op.HELLO_REQ,
    Op.KAD1_REQ: Op.KADEMLIA_REQ,
    Op.KAD1_SEARCH_REQ: Op.SEARCH_KEY_REQ,
    Op.KAD1_SEARCH_NOTES_REQ: Op.SEARCH_NOTES_REQ,
    Op.KAD1_PUBLISH_REQ: Op.PUBLISH_KEY_REQ,
    Op.KAD1_PUBLISH_NOTES_REQ: Op.PUBLISH_NOTES_REQ,
}


def flood_opcode(message: Message) -> int:
    """The Kad2 opcode whose per-peer limit this message counts against."""
    return _KAD2_EQUIVALENT.get(message.OPCODE, message.OPCODE)
