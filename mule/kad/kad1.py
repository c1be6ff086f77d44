"""Kad1 ("deprecated") messages, which iMule still sends and answers (an empty-table node greets with HELLO_REQ)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from mule._core import Reader, Writer
from mule.kad.contact import KAD1_CONTACT_LEN, Kad1Contact, read_kad1_contact, read_kad1_contacts, write_kad1_contact
from mule.kad.errors import MalformedPacket
from mule.kad.message import Entries, Message, read_entries, write_entries
from mule.kad.messages import PublishKeyReq, PublishNotesReq, PublishRes
from mule.kad.opcodes import Op
from mule.kad.search_expr import Expr, ReceivedExpression, read_search_tree, write_expr
from mule.kad.tags import TagSerials

_REQ_LEN = 1 + 16 + 16 + 16


def _exactly(r: Reader, size: int) -> None:
    if r.remaining() != size:
        raise MalformedPacket(f"expected exactly {size} bytes, got {r.remaining()}")


@dataclass(frozen=True, slots=True)
class _OneContact(Message):
    """Exactly one Kad1 contact (791 bytes)."""

    contact: Kad1Contact

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        write_kad1_contact(w, self.contact)

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        _exactly(r, KAD1_CONTACT_LEN)
        return cls(read_kad1_contact(r))


@dataclass(frozen=True, slots=True)
class Kad1BootstrapReq(_OneContact):
    OPCODE = Op.KAD1_BOOTSTRAP_REQ


@dataclass(frozen=True, slots=True)
class Kad1HelloReq(_OneContact):
    OPCODE = Op.KAD1_HELLO_REQ


@dataclass(frozen=True, slots=True)
class Kad1HelloRes(_OneContact):
    OPCODE = Op.KAD1_HELLO_RES


@dataclass(frozen=True, slots=True)
class Kad1BootstrapRes(Message):
    """u16 count of Kad1 contacts, the responder's own contact last."""

    OPCODE = Op.KAD1_BOOTSTRAP_RES
    contacts: tuple[Kad1Contact, ...]

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        w.u16(len(self.contacts))
        for contact in self.contacts:
            write_kad1_contact(w, contact)

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        return cls(read_kad1_contacts(r, r.u16()))


@dataclass(frozen=True, slots=True)
class Kad1Req(Message):
    """type, target, receiver ID and iMule's extra requester ID: exactly 49 bytes."""

    OPCODE = Op.KAD1_REQ
    type: int
    target: int
    receiver_id: int
    sender_id: int

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        w.u8(self.type)
        w.uint128(self.target)
        w.uint128(self.receiver_id)
        w.uint128(self.sender_id)

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        _exactly(r, _REQ_LEN)
        return cls(r.u8(), r.uint128(), r.uint128(), r.uint128())


@dataclass(frozen=True, slots=True)
class Kad1Res(Message):
    """Contacts near ``target`` (u8 count of Kad1 contacts); the length must be exactly count x 791."""

    OPCODE = Op.KAD1_RES
    target: int
    contacts: tuple[Kad1Contact, ...]

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        w.uint128(self.target)
        w.u8(len(self.contacts))
        for contact in self.contacts:
            write_kad1_contact(w, contact)

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        target, count = r.uint128(), r.u8()
        _exactly(r, count * KAD1_CONTACT_LEN)  # iMule checks the exact size, as for KADEMLIA2_RES
        return cls(target, read_kad1_contacts(r, count))


@dataclass(frozen=True, slots=True)
class Kad1SearchReq(Message):
    """A keyword or source search. A tree follows only when ``restrictive`` is nonzero.

    Restrictive with nothing after it is a source search; iMule ignores data after a non-restrictive byte.
    """

    OPCODE = Op.KAD1_SEARCH_REQ
    target: int
    restrictive: int = 0
    expression: Expr | ReceivedExpression | None = None

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        if self.expression is not None and not self.restrictive:
            raise ValueError("an expression needs a nonzero restrictive byte")
        w.uint128(self.target)
        w.u8(self.restrictive)
        if self.expression is not None:
            write_expr(w, self.expression, serials)

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        target, restrictive = r.uint128(), r.u8()
        if restrictive and r.remaining():
            return cls(target, restrictive, read_search_tree(r))
        r.skip(r.remaining())
        return cls(target, restrictive)


@dataclass(frozen=True, slots=True)
class Kad1SearchRes(Message):
    OPCODE = Op.KAD1_SEARCH_RES
    target: int
    results: Entries

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        w.uint128(self.target)
        write_entries(w, self.results, serials)

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        return cls(r.uint128(), read_entries(r))


@dataclass(frozen=True, slots=True)
class Kad1SearchNotesReq(Message):
    OPCODE = Op.KAD1_SEARCH_NOTES_REQ
    target: int
    requester_id: int

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        w.uint128(self.target)
        w.uint128(self.requester_id)

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        return cls(r.uint128(), r.uint128())


@dataclass(frozen=True, slots=True)
class Kad1PublishReq(PublishKeyReq):
    """The Kad2 PUBLISH_KEY_REQ layout; an entry with TAG_SOURCETYPE is a source, otherwise a keyword entry."""

    OPCODE = Op.KAD1_PUBLISH_REQ


@dataclass(frozen=True, slots=True)
class Kad1PublishRes(PublishRes):
    OPCODE = Op.KAD1_PUBLISH_RES


@dataclass(frozen=True, slots=True)
class Kad1PublishNotesReq(PublishNotesReq):
    """The Kad2 PUBLISH_NOTES_REQ layout (iMule wants 1 to 5 tags here)."""

    OPCODE = Op.KAD1_PUBLISH_NOTES_REQ
