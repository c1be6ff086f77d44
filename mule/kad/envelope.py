"""The two-byte Kad header and zlib packing, with the size ceiling of one SAM datagram."""

from __future__ import annotations

import zlib

from mule.kad.errors import MalformedPacket, PacketTooLarge
from mule.kad.opcodes import Protocol

MAX_DATAGRAM = 10240  # SAM_DGRAM_PAYLOAD_MAX: iMule discards anything larger
MAX_PAYLOAD = MAX_DATAGRAM - 2  # UDPPacketMaxDataSize
PACK_THRESHOLD = 200  # payloads above this are offered to zlib
_PACK_LEVEL = 9


def frame(opcode: int, payload: bytes) -> bytes:
    """The datagram iMule would send: packed only when above the threshold and strictly smaller."""
    if len(payload) > MAX_PAYLOAD:
        raise PacketTooLarge(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    if len(payload) > PACK_THRESHOLD:
        packed = zlib.compress(payload, _PACK_LEVEL)
        # iMule's sender does not check the second condition, but its receiver drops anything that
        # inflates beyond its buffer, so such a payload goes out plain rather than lost.
        if len(packed) < len(payload) and len(payload) <= inflate_limit(2 + len(packed)):
            return bytes((Protocol.KAD_PACKED, opcode)) + packed
    return bytes((Protocol.KAD, opcode)) + payload


def inflate_limit(datagram_len: int) -> int:
    """The most payload bytes iMule inflates from a packed datagram: a buffer of length * 10 + 300, less the header."""
    return datagram_len * 10 + 300 - 2


def unframe(datagram: bytes) -> tuple[int, bytes]:
    """The opcode and the (inflated) payload of a plain or packed Kad datagram."""
    if len(datagram) < 2:
        raise MalformedPacket("datagram shorter than its header")
    if len(datagram) > MAX_DATAGRAM:
        raise MalformedPacket("datagram larger than one SAM datagram")
    protocol, opcode = datagram[0], datagram[1]
    if protocol == Protocol.KAD:
        return opcode, bytes(datagram[2:])
    if protocol != Protocol.KAD_PACKED:
        raise MalformedPacket(f"not a Kad datagram (protocol byte 0x{protocol:02x})")
    body = datagram[2:]
    inflater = zlib.decompressobj()
    try:
        payload = inflater.decompress(body, inflate_limit(len(datagram)))
    except zlib.error:
        raise MalformedPacket("packed payload does not inflate") from None
    if not inflater.eof or inflater.unconsumed_tail:
        raise MalformedPacket("packed payload truncated or larger than iMule inflates")
    return opcode, payload


def peek_opcode(datagram: bytes) -> int | None:
    """The opcode of a plain or packed Kad datagram, read from its header alone (no inflating, no parsing).

    ``None`` for anything that is not a Kad frame of an acceptable size. The node charges its flood limits with
    this before it pays for decoding.
    """
    if not 2 <= len(datagram) <= MAX_DATAGRAM or datagram[0] not in (Protocol.KAD, Protocol.KAD_PACKED):
        return None
    return datagram[1]
