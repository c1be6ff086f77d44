"""What the sans-IO node parts hand back: messages to queue, and our own contact as peers see it."""

from __future__ import annotations

from dataclasses import dataclass

from mule.contract import Kind
from mule.kad.contact import Contact, Kad1Contact
from mule.kad.message import Message
from mule.kad.opcodes import KAD_VERSION
from mule.routing.table import Contact as TableContact


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message for the shaper; the service encodes it and ``submit``s it, nothing else sends."""

    destination: bytes
    message: Message
    kind: Kind


@dataclass(frozen=True, slots=True)
class OwnContact:
    """Our own contact. mule has no TCP side, so where iMule writes a TCP destination we write the UDP one."""

    kad_id: int
    udp_dest: bytes

    def kad2(self) -> Contact:
        return Contact(KAD_VERSION, self.kad_id, self.udp_dest)

    def kad1(self) -> Kad1Contact:
        return Kad1Contact(self.kad_id, self.udp_dest, self.udp_dest)


def as_kad2(contact: TableContact) -> Contact:
    return Contact(contact.version, contact.kad_id, contact.destination)


def as_kad1(contact: TableContact) -> Kad1Contact:
    return Kad1Contact(contact.kad_id, contact.destination, contact.destination)
