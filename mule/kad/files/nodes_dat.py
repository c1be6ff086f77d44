"""``nodes.dat``: every layout iMule reads (v0, v1, v2, v3 and its bootstrap edition), and v2 as iMule writes it.

| layout | header | entry |
|---|---|---|
| v0 | u32 count (nonzero) | Kad1 contact, 791 bytes |
| v1 | u32 0, u32 1, u32 count | Kad2 contact, 404 bytes |
| v2 | u32 0, u32 2, u32 count | Kad2 contact, UDP key u32, key "IP" u32, verified u8: 413 bytes |
| v3 | u32 0, u32 3, u32 edition, u32 count | edition 1 (bootstrap): 404 bytes; others: 413 bytes |

Entries are carried as stored (an entry iMule would discard stays in the file model, so
that reading then writing gives the same bytes); ``usable_entries`` applies iMule's filter.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources

from mule._core import FramingError, Reader, Writer
from mule.kad.contact import KAD1_CONTACT_LEN, KAD2_CONTACT_LEN, Contact, contact_problem
from mule.kad.destination import DEST_LEN
from mule.kad.errors import CorruptFile
from mule.kad.files.atomic import read_bounded, write_atomic

WRITTEN_VERSION = 2
BOOTSTRAP_EDITION = 1
ENTRY_LEN = KAD2_CONTACT_LEN + 4 + 4 + 1
SEED_NOTE = "bundled seed"
MAX_FILE_BYTES = 8 << 20
"""Far above any real nodes.dat (iMule keeps a few hundred contacts, ~413 bytes each): a bound, not a format limit."""


@dataclass(frozen=True, slots=True)
class NodeEntry:
    contact: Contact
    udp_key: int = 0
    udp_key_ip: int = 0  # the dest hash of the node that received the key
    verified: bool = False


@dataclass(frozen=True, slots=True)
class NodesDat:
    version: int
    entries: tuple[NodeEntry, ...]
    edition: int | None = None  # v3 only

    @property
    def is_bootstrap(self) -> bool:
        """A bootstrap file: its contacts seed the bootstrap list, not the routing table."""
        return self.version == 3 and self.edition == BOOTSTRAP_EDITION


def _count(r: Reader, entry_len: int) -> int:
    count = r.u32()
    if count * entry_len > r.remaining():
        raise CorruptFile(f"truncated: header says {count} contacts, the file holds {r.remaining() // entry_len}")
    return count


def _contact(r: Reader) -> Contact:
    return Contact(r.u8(), r.uint128(), r.raw(DEST_LEN))


def _entry(r: Reader) -> NodeEntry:
    return NodeEntry(_contact(r), r.u32(), r.u32(), r.u8() != 0)


def _plain(r: Reader) -> NodeEntry:
    return NodeEntry(_contact(r))


def _kad1(r: Reader) -> NodeEntry:
    kad_id, udp_dest = r.uint128(), r.raw(DEST_LEN)
    r.skip(DEST_LEN + 1)  # TCP destination and type: iMule keeps neither from nodes.dat
    return NodeEntry(Contact(0, kad_id, udp_dest))


def parse_nodes_dat(data: bytes) -> NodesDat:
    """Parse a nodes.dat; raises ``CorruptFile`` with a one-line reason. Bytes after the last entry are ignored."""
    r = Reader(data)
    try:
        first = r.u32()
        if first:
            if first * KAD1_CONTACT_LEN > r.remaining():
                raise CorruptFile(f"truncated: v0 header says {first} contacts, the file holds fewer")
            return NodesDat(0, tuple([_kad1(r) for _ in range(first)]))
        version = r.u32()
        if version == 1:
            return NodesDat(1, tuple([_plain(r) for _ in range(_count(r, KAD2_CONTACT_LEN))]))
        if version == 2:
            return NodesDat(2, tuple([_entry(r) for _ in range(_count(r, ENTRY_LEN))]))
        if version == 3:
            edition = r.u32()
            if edition == BOOTSTRAP_EDITION:
                entries = tuple([_plain(r) for _ in range(_count(r, KAD2_CONTACT_LEN))])
            else:
                entries = tuple([_entry(r) for _ in range(_count(r, ENTRY_LEN))])
            return NodesDat(3, entries, edition)
    except FramingError:
        raise CorruptFile(f"truncated header ({len(data)} bytes)") from None
    raise CorruptFile(f"unknown nodes.dat version {version}")


def build_nodes_dat(entries: tuple[NodeEntry, ...]) -> bytes:
    """The v2 file iMule writes."""
    w = Writer()
    w.u32(0)
    w.u32(WRITTEN_VERSION)
    w.u32(len(entries))
    for entry in entries:
        w.u8(entry.contact.version)
        w.uint128(entry.contact.kad_id)
        w.raw(entry.contact.udp_dest)
        w.u32(entry.udp_key)
        w.u32(entry.udp_key_ip)
        w.u8(int(entry.verified))
    return w.getvalue()


def read_nodes_dat(path: str | os.PathLike[str]) -> NodesDat:
    return parse_nodes_dat(read_bounded(path, MAX_FILE_BYTES))


def write_nodes_dat(path: str | os.PathLike[str], entries: tuple[NodeEntry, ...]) -> None:
    write_atomic(path, build_nodes_dat(entries))


def usable_entries(nodes: NodesDat) -> tuple[NodeEntry, ...]:
    """The entries iMule would load: it discards bad versions, all-zero IDs and invalid destinations.

    As iMule does, if none is marked verified, all are taken as verified.
    """
    kept = [e for e in nodes.entries if not contact_problem(e.contact.version, e.contact.kad_id, e.contact.udp_dest)]
    if not any(entry.verified for entry in kept):
        kept = [NodeEntry(e.contact, e.udp_key, e.udp_key_ip, True) for e in kept]
    return tuple(kept)


def bundled_seed() -> NodesDat:
    """The seed shipped with mule (a real iMule nodes.dat of the I2P Kad network)."""
    return parse_nodes_dat(resources.files("mule.kad").joinpath("data", "nodes.initseed.dat").read_bytes())


def load_or_seed(path: str | os.PathLike[str]) -> tuple[tuple[NodeEntry, ...], str]:
    """The usable contacts of the node's nodes.dat, or of the bundled seed, with a one-line note on the source.

    The seed is used when the file is missing, unreadable, corrupt or holds no usable contact.
    """
    try:
        entries = usable_entries(read_nodes_dat(path))
    except (OSError, CorruptFile) as exc:
        reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
    else:
        if entries:
            return entries, os.fspath(path)
        reason = "no usable contact"
    return usable_entries(bundled_seed()), f"{SEED_NOTE} ({os.fspath(path)}: {reason})"
