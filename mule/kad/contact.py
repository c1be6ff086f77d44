"""Contacts in iMule's I2P form: the 404-byte Kad2 contact and the 791-byte Kad1 contact.

iMule's contact parser throws, and so drops the whole enclosing packet, on a version
above 8, an all-zero Kad ID or a destination whose certificate is not null
(``Contact.cpp``, ``CI2PAddress::check``). The readers here refuse the same, and the
writers refuse to emit what iMule would drop.
"""

from __future__ import annotations

from dataclasses import dataclass

from mule._core import Reader, Writer, kadrules
from mule.kad.destination import DEST_LEN, hash_code, is_imule_destination
from mule.kad.errors import MalformedPacket
from mule.kad.opcodes import KAD_VERSION

KAD2_CONTACT_LEN = 1 + 16 + DEST_LEN
KAD1_CONTACT_LEN = 16 + DEST_LEN + DEST_LEN + 1
KAD1_CONTACT_TYPE = 3  # the type iMule gives every contact it reads from a Kad1 packet


@dataclass(frozen=True, slots=True)
class Contact:
    """A Kad2 contact: version, Kad ID and UDP destination (version 0 for contacts learned through Kad1)."""

    version: int
    kad_id: int
    udp_dest: bytes

    @property
    def hash_code(self) -> int:
        return hash_code(self.udp_dest)


@dataclass(frozen=True, slots=True)
class Kad1Contact:
    """A Kad1 contact: Kad ID, UDP and TCP destinations, and a type byte.

    iMule checks both destinations (a non-null certificate loses the packet), keeps the TCP one, and discards
    the type byte it reads, giving the contact type 3 (``Contact.cpp``); decoded contacts say 3 likewise.
    """

    kad_id: int
    udp_dest: bytes
    tcp_dest: bytes
    type: int = KAD1_CONTACT_TYPE

    @property
    def hash_code(self) -> int:
        return hash_code(self.udp_dest)


def contact_problem(version: int, kad_id: int, dest: bytes) -> str | None:
    """Why iMule's contact parser would throw on these fields, or ``None`` if it accepts them."""
    return kadrules.contact_problem(version, kad_id, dest, KAD_VERSION)


def write_dest(w: Writer, dest: bytes) -> None:
    if not is_imule_destination(dest):
        raise ValueError(f"iMule accepts only {DEST_LEN}-byte destinations with a null certificate")
    w.raw(dest)


def read_dest(r: Reader) -> bytes:
    dest = r.raw(DEST_LEN)
    if not is_imule_destination(dest):
        raise MalformedPacket("destination without a null certificate")
    return dest


def write_contact(w: Writer, contact: Contact) -> None:
    w.contact(contact, KAD_VERSION)


def read_contact(r: Reader) -> Contact:
    return r.contacts(1, Contact, KAD_VERSION)[0]


def read_contacts(r: Reader, count: int) -> tuple[Contact, ...]:
    """``count`` Kad2 contacts, refused before any allocation if the bytes left cannot hold them."""
    return r.contacts(count, Contact, KAD_VERSION)


def write_kad1_contact(w: Writer, contact: Kad1Contact) -> None:
    if not contact.kad_id:
        raise ValueError("contact with an all-zero Kad ID")
    w.uint128(contact.kad_id)
    write_dest(w, contact.udp_dest)
    write_dest(w, contact.tcp_dest)
    w.u8(contact.type)


def read_kad1_contact(r: Reader) -> Kad1Contact:
    contact = Kad1Contact(r.uint128(), read_dest(r), read_dest(r))
    r.skip(1)  # the type byte, which iMule discards
    if not contact.kad_id:
        raise MalformedPacket("contact with an all-zero Kad ID")
    return contact


def read_kad1_contacts(r: Reader, count: int) -> tuple[Kad1Contact, ...]:
    if count * KAD1_CONTACT_LEN > r.remaining():
        raise MalformedPacket(f"{count} Kad1 contacts do not fit {r.remaining()} bytes")
    return tuple([read_kad1_contact(r) for _ in range(count)])
