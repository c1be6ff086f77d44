"""What the sans-IO node parts hand back, our own contact as peers see it, and how a message becomes a datagram."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mule.contract import Kind
from mule.kad.contact import Contact, Kad1Contact
from mule.kad.destination import DEST_LEN
from mule.kad.message import Message
from mule.kad.obfuscation import obfuscate
from mule.kad.opcodes import KAD_VERSION
from mule.kad.tags import TagSerials
from mule.node.tracking import Pending
from mule.routing import Contact as TableContact

CRYPT_VERSION = 6  # from this version on, iMule obfuscates what it sends a peer, keyed by the peer's Kad ID
KAD2_VERSION = 2  # below this a peer speaks Kad1

NO_DESTINATION = bytes(DEST_LEN)
"""What iMule writes for a TCP destination it does not know (a null address: 387 zero bytes)."""


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message for the shaper, with how iMule would obfuscate it (``SendPacket``'s two key arguments).

    ``crypt_id``: the receiver's Kad ID when iMule keys the packet by it (requests and HELLO_RES to peers of
    version 6 and up). ``receiver_key``: the verify key the peer gave us, echoed back. Neither set: plaintext.
    """

    destination: bytes
    message: Message
    kind: Kind
    crypt_id: int = 0
    receiver_key: int = 0
    pending: Pending | None = None
    """For a tracked request: the contact its answer will verify (a handshake in progress)."""


@dataclass(frozen=True, slots=True)
class Peer:
    """Whom we send a request to: a table contact or a seed (what iMule needs to address and obfuscate it)."""

    destination: bytes
    kad_id: int
    version: int
    udp_key: int = 0

    @classmethod
    def of(cls, contact: TableContact | Contact) -> Peer:
        if isinstance(contact, Contact):
            return cls(contact.udp_dest, contact.kad_id, contact.version)
        return cls(contact.destination, contact.kad_id, contact.version, contact.udp_key)

    def request(self, message: Message, kind: Kind) -> Outbound:
        """A Kad2 request as iMule sends it: keyed by the peer's Kad ID from version 6 on, else plain."""
        if self.version >= CRYPT_VERSION:
            return Outbound(self.destination, message, kind, crypt_id=self.kad_id, receiver_key=self.udp_key)
        return Outbound(self.destination, message, kind)


@dataclass(frozen=True, slots=True)
class OwnContact:
    """Our own contact: the datagram destination, and the separate stream (TCP) destination iMule also names."""

    kad_id: int
    udp_dest: bytes
    tcp_dest: bytes

    def kad2(self) -> Contact:
        return Contact(KAD_VERSION, self.kad_id, self.udp_dest)

    def kad1(self) -> Kad1Contact:
        return Kad1Contact(self.kad_id, self.udp_dest, self.tcp_dest, type=0)  # iMule's Self() has type 0


def as_kad2(contact: TableContact) -> Contact:
    return Contact(contact.version, contact.kad_id, contact.destination)


def as_kad1(contact: TableContact) -> Kad1Contact:
    # iMule learns no TCP destination from Kad2 contacts and writes its null address there, with the current type.
    return Kad1Contact(contact.kad_id, contact.destination, NO_DESTINATION, type=contact.type)


def seal(item: Outbound, serials: TagSerials, sender_key: int, randbytes: Callable[[int], bytes]) -> bytes:
    """The datagram for ``item``: encoded (packed as iMule packs), then obfuscated where iMule would.

    ``sender_key`` is our verify key for the receiver, which every obfuscated datagram carries.
    """
    datagram = item.message.encode(serials)
    if not (item.crypt_id or item.receiver_key):
        return datagram
    return obfuscate(
        datagram,
        randbytes,
        receiver_id=item.crypt_id or None,
        receiver_verify_key=item.receiver_key,
        sender_verify_key=sender_key,
    )
