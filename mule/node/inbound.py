"""One admitted inbound message with what its envelope told us, and which flood counter it charges."""

from __future__ import annotations

from dataclasses import dataclass

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


def flood_opcode(opcode: int) -> int:
    """The Kad2 opcode whose per-peer limit a message with ``opcode`` counts against (iMule counts Kad1 with Kad2)."""
    return _KAD2_EQUIVALENT.get(opcode, opcode)


@dataclass(frozen=True, slots=True)
class Inbound:
    source: bytes
    """The sender's destination, as the router delivered it (I2P datagrams are signed: it is not spoofable)."""
    message: Message
    now: float
    sender_key: int = 0
    """The verify key the peer put in an obfuscated packet for us to echo back (0: it came in plaintext)."""
    valid_key: bool = False
    """It carried our own verify key for this peer: proof the peer heard from us at this destination before."""
