"""Every Kad2 message iMule sends or answers, with the payload layouts of iMule 2.3.3.3 (I2P form)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from mule._core import Reader, Writer, build
from mule.kad.contact import (
    KAD2_CONTACT_LEN,
    Contact,
    read_contact,
    read_contacts,
    read_dest,
    write_contact,
    write_dest,
)
from mule.kad.errors import MalformedPacket
from mule.kad.message import Entries, Message, read_entries, write_entries
from mule.kad.opcodes import KAD_VERSION, Op
from mule.kad.search_expr import Expr, ReceivedExpression, read_search_tree, write_expr
from mule.kad.tags import Tag, TagSerials, read_tag_list, write_tag_list

_RESTRICTIVE = 0x8000  # SEARCH_KEY_REQ: an expression tree follows
_POSITION_MASK = 0x7FFF


def _contact_list(w: Writer, contacts: tuple[Contact, ...], count_size: int) -> None:
    w.contacts(contacts, count_size, KAD_VERSION)


@dataclass(frozen=True, slots=True)
class BootstrapReq(Message):
    OPCODE = Op.BOOTSTRAP_REQ


@dataclass(frozen=True, slots=True)
class BootstrapRes(Message):
    """The responder's ID, version and **TCP** destination, then up to 24 contacts (u16 count)."""

    OPCODE = Op.BOOTSTRAP_RES
    kad_id: int
    version: int
    tcp_dest: bytes
    contacts: tuple[Contact, ...]

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        w.uint128(self.kad_id)
        w.u8(self.version)
        write_dest(w, self.tcp_dest)
        _contact_list(w, self.contacts, 2)

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        kad_id, version, tcp_dest = r.uint128(), r.u8(), read_dest(r)
        return build(cls, kad_id, version, tcp_dest, read_contacts(r, r.u16()))


@dataclass(frozen=True, slots=True)
class _Hello(Message):
    """Our Kad2 contact (version 8, Kad ID, UDP destination), then a tag list.

    iMule drops a Kad2 HELLO whose contact says version 0 (that is a Kad1 contact).
    """

    contact: Contact
    tags: tuple[Tag, ...] = ()

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        if not self.contact.version:
            raise ValueError("a Kad2 hello needs a contact version of at least 1")
        write_contact(w, self.contact)
        write_tag_list(w, self.tags, serials)

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        contact = read_contact(r)
        if not contact.version:
            raise MalformedPacket("Kad2 hello with contact version 0")
        return build(cls, contact, read_tag_list(r))


@dataclass(frozen=True, slots=True)
class HelloReq(_Hello):
    OPCODE = Op.HELLO_REQ


@dataclass(frozen=True, slots=True)
class HelloRes(_Hello):
    """Carries TAG_KADMISCOPTIONS = 0x04 when the sender wants a HELLO_RES_ACK."""

    OPCODE = Op.HELLO_RES


@dataclass(frozen=True, slots=True)
class HelloResAck(Message):
    OPCODE = Op.HELLO_RES_ACK
    kad_id: int
    tags: tuple[Tag, ...] = ()

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        w.uint128(self.kad_id)
        write_tag_list(w, self.tags, serials)

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        return build(cls, r.uint128(), read_tag_list(r))


@dataclass(frozen=True, slots=True)
class KademliaReq(Message):
    """A request for contacts near ``target``; iMule appends its own ID (49 bytes), legacy challenges do not."""

    OPCODE = Op.KADEMLIA_REQ
    type: int
    target: int
    receiver_id: int
    sender_id: int | None = None

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        w.u8(self.type)
        w.uint128(self.target)
        w.uint128(self.receiver_id)
        if self.sender_id is not None:
            w.uint128(self.sender_id)

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        kind, target, receiver_id = r.u8(), r.uint128(), r.uint128()
        return build(cls, kind, target, receiver_id, r.uint128() if r.remaining() >= 16 else None)


@dataclass(frozen=True, slots=True)
class KademliaRes(Message):
    """Contacts near ``target`` (u8 count); iMule requires the length to be exactly count × 404."""

    OPCODE = Op.KADEMLIA_RES
    target: int
    contacts: tuple[Contact, ...]

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        w.uint128(self.target)
        _contact_list(w, self.contacts, 1)

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        target, count = r.uint128(), r.u8()
        if r.remaining() != count * KAD2_CONTACT_LEN:
            raise MalformedPacket(f"{count} contacts but {r.remaining()} bytes")
        return build(cls, target, read_contacts(r, count))


@dataclass(frozen=True, slots=True)
class SearchKeyReq(Message):
    """A keyword search: skip ``start_position`` results; an expression tree narrows it (flag 0x8000)."""

    OPCODE = Op.SEARCH_KEY_REQ
    target: int
    start_position: int = 0
    expression: Expr | ReceivedExpression | None = None

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        if not 0 <= self.start_position <= _POSITION_MASK:
            raise ValueError("start position is 15 bits")
        w.uint128(self.target)
        if self.expression is None:
            w.u16(self.start_position)
        else:
            w.u16(self.start_position | _RESTRICTIVE)
            write_expr(w, self.expression, serials)

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        target, position = r.uint128(), r.u16()
        expression = read_search_tree(r) if position & _RESTRICTIVE else None
        return build(cls, target, position & _POSITION_MASK, expression)


@dataclass(frozen=True, slots=True)
class SearchSourceReq(Message):
    """A source search; a file size of 0 matches any size."""

    OPCODE = Op.SEARCH_SOURCE_REQ
    target: int
    start_position: int = 0
    file_size: int = 0

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        if not 0 <= self.start_position <= _POSITION_MASK:
            raise ValueError("start position is 15 bits")
        w.uint128(self.target)
        w.u16(self.start_position)
        w.u64(self.file_size)

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        return build(cls, r.uint128(), r.u16() & _POSITION_MASK, r.u64())


@dataclass(frozen=True, slots=True)
class SearchNotesReq(Message):
    OPCODE = Op.SEARCH_NOTES_REQ
    target: int
    file_size: int = 0

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        w.uint128(self.target)
        w.u64(self.file_size)

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        return build(cls, r.uint128(), r.u64())


@dataclass(frozen=True, slots=True)
class SearchRes(Message):
    """Results for ``target`` from ``sender_id``; iMule sends one even with no results."""

    OPCODE = Op.SEARCH_RES
    sender_id: int
    target: int
    results: Entries

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        w.uint128(self.sender_id)
        w.uint128(self.target)
        write_entries(w, self.results, serials)

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        sender_id, target = r.uint128(), r.uint128()
        return build(cls, sender_id, target, read_entries(r))


@dataclass(frozen=True, slots=True)
class PublishKeyReq(Message):
    """Files published under keyword ``target`` (u16 count of (file ID, tags))."""

    OPCODE = Op.PUBLISH_KEY_REQ
    target: int
    entries: Entries

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        w.uint128(self.target)
        write_entries(w, self.entries, serials)

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        return build(cls, r.uint128(), read_entries(r))


@dataclass(frozen=True, slots=True)
class _IdPairWithTags(Message):
    target: int
    source_id: int
    tags: tuple[Tag, ...] = ()

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        w.uint128(self.target)
        w.uint128(self.source_id)
        write_tag_list(w, self.tags, serials)

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        target, source_id = r.uint128(), r.uint128()
        return build(cls, target, source_id, read_tag_list(r))


@dataclass(frozen=True, slots=True)
class PublishSourceReq(_IdPairWithTags):
    """File ID ``target``, the publisher's user hash as ``source_id``, and the source tags."""

    OPCODE = Op.PUBLISH_SOURCE_REQ


@dataclass(frozen=True, slots=True)
class PublishNotesReq(_IdPairWithTags):
    """File ID ``target``, the publisher's Kad ID as ``source_id``, and the note tags."""

    OPCODE = Op.PUBLISH_NOTES_REQ


@dataclass(frozen=True, slots=True)
class PublishRes(Message):
    """The answer to a publish: key and load; iMule's source form adds total and complete source counts.

    The stateless decoder tells the forms apart by length (key + 1 or 9 bytes, one more with options);
    bit 0x01 of ``options`` asks for a PUBLISH_RES_ACK.
    """

    OPCODE = Op.PUBLISH_RES
    target: int
    load: int
    source_counts: tuple[int, int] | None = None
    options: int | None = None

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        w.uint128(self.target)
        if self.source_counts is not None:
            w.u32(self.source_counts[0])
            w.u32(self.source_counts[1])
        w.u8(self.load)
        if self.options is not None:
            w.u8(self.options)

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        target = r.uint128()
        left = r.remaining()
        if left not in (1, 2, 9, 10):
            raise MalformedPacket(f"publish answer with {left} bytes after the key")
        counts = (r.u32(), r.u32()) if left >= 9 else None
        load = r.u8()
        return build(cls, target, load, counts, r.u8() if r.remaining() else None)


@dataclass(frozen=True, slots=True)
class PublishResAck(Message):
    """Sent when asked; iMule has no handler for it, so the decoder reports it as an unknown opcode."""

    OPCODE = Op.PUBLISH_RES_ACK


@dataclass(frozen=True, slots=True)
class Ping(Message):
    OPCODE = Op.PING


@dataclass(frozen=True, slots=True)
class Pong(Message):
    """Empty in iMule; aMule appends a port, and any length is accepted."""

    OPCODE = Op.PONG
