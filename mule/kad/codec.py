"""The one decode entry point: a datagram in, a typed message out, or a ``CodecError``."""

from __future__ import annotations

from mule._core import Reader
from mule.kad import kad1, messages
from mule.kad.envelope import unframe
from mule.kad.errors import MalformedPacket, UnknownOpcode
from mule.kad.message import Message
from mule.kad.opcodes import Op

MESSAGE_TYPES: tuple[type[Message], ...] = (
    messages.BootstrapReq,
    messages.BootstrapRes,
    messages.HelloReq,
    messages.HelloRes,
    messages.HelloResAck,
    messages.KademliaReq,
    messages.KademliaRes,
    messages.SearchKeyReq,
    messages.SearchSourceReq,
    messages.SearchNotesReq,
    messages.SearchRes,
    messages.PublishKeyReq,
    messages.PublishSourceReq,
    messages.PublishNotesReq,
    messages.PublishRes,
    messages.PublishResAck,
    messages.Ping,
    messages.Pong,
    kad1.Kad1BootstrapReq,
    kad1.Kad1BootstrapRes,
    kad1.Kad1HelloReq,
    kad1.Kad1HelloRes,
    kad1.Kad1Req,
    kad1.Kad1Res,
    kad1.Kad1SearchReq,
    kad1.Kad1SearchRes,
    kad1.Kad1SearchNotesReq,
    kad1.Kad1PublishReq,
    kad1.Kad1PublishRes,
    kad1.Kad1PublishNotesReq,
)
# iMule has no handler for these: they take the node's "unknown -> delay -> drop" path.
UNHANDLED_OPCODES = frozenset({Op.PUBLISH_RES_ACK, Op.FIREWALLED_REQ, Op.FIREWALL_UDP})
_BY_OPCODE = {cls.OPCODE: cls for cls in MESSAGE_TYPES if cls.OPCODE not in UNHANDLED_OPCODES}


def decode(datagram: bytes) -> Message:
    """Decode one plain or packed Kad datagram (already de-obfuscated).

    Raises ``UnknownOpcode`` for opcodes iMule does not handle and ``MalformedPacket`` for
    everything else iMule would drop while parsing; both are ``CodecError``, and nothing else escapes.
    The payload is read once; lists and trees whose size only the datagram bounds are checked by one
    linear scan and built on use (``ReceivedEntries``, ``ReceivedExpression``).
    """
    opcode, payload = unframe(datagram)
    cls = _BY_OPCODE.get(opcode)
    if cls is None:
        raise UnknownOpcode(opcode)
    try:
        return cls.read_payload(Reader(payload))
    except MalformedPacket:
        raise
    except ValueError as exc:  # FramingError from a short read or a failed structure check
        raise MalformedPacket(str(exc)) from None
