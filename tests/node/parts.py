"""The sans-IO node parts on a real routing table, with seeded randomness: what the unit tests drive directly."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from mule._core.keystream import Keystream
from mule._core.shuffle import Shuffler
from mule.kad.codec import decode
from mule.kad.message import Message
from mule.kad.obfuscation import Received, deobfuscate
from mule.kad.opcodes import KAD_VERSION
from mule.kad.tags import TagSerials
from mule.node.inbound import Inbound
from mule.node.outbound import Outbound, OwnContact, seal
from mule.node.peer_keys import VerifyKeys
from mule.node.tracking import TARGETED_REQUESTS, TRACKED_REQUESTS, RequestTracker
from mule.routing import RoutingTable
from tests.node.peers import dest, kad_id

ME = OwnContact(kad_id(0), dest(0xA0A0), dest(0xB0B0))
"""Our own contact: its stream (TCP) destination differs from the datagram one, as iMule's does."""
UDP_SECRET = 0x5EC2E7
KEYS = VerifyKeys(UDP_SECRET)


def seeded(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def randbytes(label: str = "randbytes") -> Callable[[int], bytes]:
    """A replayable byte source (the node's ``randbytes``)."""
    return Keystream(seeded(label)).read


def shuffler(label: str = "shuffler") -> Shuffler:
    return Shuffler(seeded(label))


def table(label: str = "table", now: float = 0.0) -> RoutingTable:
    return RoutingTable(ME.kad_id, now, shuffler(label))


def fill(
    routing: RoutingTable, numbers: range, *, verified: bool = True, version: int = KAD_VERSION, alive_at: float = 0.0
) -> list[int]:
    """Add ``kad_id(n)`` at ``dest(n)`` for each ``n``, seen alive at ``alive_at`` (type 2, as iMule's first HELLO
    leaves a contact); the Kad IDs the table took."""
    taken = []
    for n in numbers:
        if routing.add(kad_id(n), dest(n), version, 0.0, verified=verified):
            routing.seen_alive(kad_id(n), alive_at)
            taken.append(kad_id(n))
    return taken


def inbound(source: bytes, message: Message, now: float = 0.0, *, sender_key: int = 0, valid: bool = False) -> Inbound:
    """What the core hands a part: ``valid`` when the datagram carried our verify key for ``source``."""
    return Inbound(source, message, now, sender_key, valid)


def track(tracker: RequestTracker, sent: list[Outbound], now: float) -> None:
    """Record the requests among ``sent`` as the core does when it seals them (``NodeCore._sealed``)."""
    for item in sent:
        opcode = item.message.OPCODE
        if opcode in TRACKED_REQUESTS:
            target = item.message.target if opcode in TARGETED_REQUESTS else None  # type: ignore[attr-defined]
            tracker.expect(item.destination, opcode, now, target=target, pending=item.pending)


def on_the_wire(item: Outbound, receiver_id: int = 0) -> tuple[Received, Message]:
    """Seal ``item`` as the core would and open it as its receiver would (knowing its own Kad ID and the verify key
    it gave us): the envelope it sees and the message inside."""
    payload = seal(item, TagSerials(), KEYS.for_peer(item.destination), randbytes("seal"))
    received = deobfuscate(payload, own_id=receiver_id, own_verify_key_for_sender=item.receiver_key)
    return received, decode(received.datagram)
