"""Hand-written baselines the micro suite measures mule against in the same run (never used by the product).

- ``struct`` codec: decoders and encoders written straight on ``struct`` for the hot Kad2 messages. Each reads and
  writes the same bytes as mule's codec and refuses what it refuses (sizes, certificates, versions, zero IDs,
  tag types), but builds plain tuples: the floor a Python decoder of these bytes can reach. Encoders pay the same
  zlib level-9 trial as the product (the bytes must be identical).
- numpy ``argpartition`` closest-k over the two ID columns, and one XOR pass (the yardstick).
- the ``kademlia`` package from PyPI: its routing table's neighbour search.
"""

from __future__ import annotations

import asyncio
import struct
import zlib

import numpy as np

DEST = 387
CONTACT = 404
_WORDS = struct.Struct("<IIII")
_CONTACT_HEAD = struct.Struct("<BIIII")
_TAG_HEAD = struct.Struct("<BBI")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_KREQ = struct.Struct("<BIIIIIIII")
_NULL_CERT = b"\x00\x00\x00"
_INT_SIZES = {0x09: 1, 0x08: 2, 0x03: 4, 0x29: 8}
_INT_FORMS = {1: struct.Struct("<B"), 2: _U16, 4: _U32, 8: _U64}


class Refused(ValueError):
    pass


# --- decoders --------------------------------------------------------------------------------------------------------


def _payload(datagram: bytes) -> bytes:
    if datagram[0] == 0x05:
        return datagram[2:]
    inflater = zlib.decompressobj()
    limit = len(datagram) * 10 + 298
    payload = inflater.decompress(datagram[2:], limit + 1)
    if len(payload) > limit or not inflater.eof:
        raise Refused("inflate")
    return payload


def _kad_id(data: bytes, at: int) -> int:
    a, b, c, d = _WORDS.unpack_from(data, at)
    return (a << 96) | (b << 64) | (c << 32) | d


def _contacts(data: bytes, at: int, count: int) -> tuple[list[tuple[int, int, bytes]], int]:
    if len(data) - at < count * CONTACT:
        raise Refused("contacts")
    out = []
    unpack = _CONTACT_HEAD.unpack_from
    for _ in range(count):
        version, a, b, c, d = unpack(data, at)
        kad_id = (a << 96) | (b << 64) | (c << 32) | d
        dest = data[at + 17 : at + CONTACT]
        if version > 8 or not kad_id or dest[-3:] != _NULL_CERT:
            raise Refused("contact")
        out.append((version, kad_id, dest))
        at += CONTACT
    return out, at


def _text(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _int_tag(data: bytes, at: int) -> tuple[int, int]:
    kind, _name, _serial = _TAG_HEAD.unpack_from(data, at)
    size = _INT_SIZES.get(kind & 0x7F)
    if size is None or not kind & 0x80:
        raise Refused("int tag")
    return _INT_FORMS[size].unpack_from(data, at + 6)[0], at + 6 + size


def _tags(data: bytes, at: int) -> tuple[list[tuple[int, object]], int]:
    """A tag list in the new-style form iMule writes (old-style headers refused: the baseline's one shortcut)."""
    count = data[at]
    at += 1
    tags = []
    for _ in range(count):
        kind, name, _serial = _TAG_HEAD.unpack_from(data, at)
        if not kind & 0x80:
            raise Refused("old-style tag")
        kind &= 0x7F
        at += 6
        size = _INT_SIZES.get(kind)
        if size is not None:
            tags.append((name, _INT_FORMS[size].unpack_from(data, at)[0]))
            at += size
        elif 0x11 <= kind <= 0x20:
            end = at + kind - 0x10
            if end > len(data):
                raise Refused("short")
            tags.append((name, _text(data[at:end])))
            at = end
        elif kind == 0x02:
            (length,) = _U16.unpack_from(data, at)
            end = at + 2 + length
            if end > len(data):
                raise Refused("short")
            tags.append((name, _text(data[at + 2 : end])))
            at = end
        elif kind == 0x01:
            if at + 16 > len(data):
                raise Refused("short")
            tags.append((name, data[at : at + 16]))
            at += 16
        elif kind == 0x27:
            dest = data[at : at + DEST]
            if len(dest) != DEST or dest[-3:] != _NULL_CERT:
                raise Refused("dest")
            tags.append((name, dest))
            at += DEST
        else:
            raise Refused("tag type")
    return tags, at


def _entries(data: bytes, at: int) -> tuple[list[tuple[int, list]], int]:
    (count,) = _U16.unpack_from(data, at)
    at += 2
    entries = []
    for _ in range(count):
        kad_id = _kad_id(data, at)
        tags, at = _tags(data, at + 16)
        entries.append((kad_id, tags))
    return entries, at


def decode_kademlia_req(datagram: bytes) -> tuple:
    data = _payload(datagram)
    kind, a, b, c, d, e, f, g, h = _KREQ.unpack_from(data, 0)
    sender = _kad_id(data, 33) if len(data) >= 49 else None
    return kind, (a << 96) | (b << 64) | (c << 32) | d, (e << 96) | (f << 64) | (g << 32) | h, sender


def decode_kademlia_res(datagram: bytes) -> tuple:
    data = _payload(datagram)
    target, count = _kad_id(data, 0), data[16]
    if len(data) - 17 != count * CONTACT:
        raise Refused("size")
    return target, _contacts(data, 17, count)[0]


def decode_bootstrap_res(datagram: bytes) -> tuple:
    data = _payload(datagram)
    kad_id, version, dest = _kad_id(data, 0), data[16], data[17 : 17 + DEST]
    if len(dest) != DEST or dest[-3:] != _NULL_CERT:
        raise Refused("dest")
    (count,) = _U16.unpack_from(data, 17 + DEST)
    return kad_id, version, dest, _contacts(data, 19 + DEST, count)[0]


def decode_hello(datagram: bytes) -> tuple:
    data = _payload(datagram)
    contacts, at = _contacts(data, 0, 1)
    if not contacts[0][0]:
        raise Refused("kad1 hello")
    return contacts[0], _tags(data, at)[0]


def decode_search_res(datagram: bytes) -> tuple:
    data = _payload(datagram)
    return _kad_id(data, 0), _kad_id(data, 16), _entries(data, 32)[0]


def decode_publish_key_req(datagram: bytes) -> tuple:
    data = _payload(datagram)
    return _kad_id(data, 0), _entries(data, 16)[0]


def decode_publish_source_req(datagram: bytes) -> tuple:
    data = _payload(datagram)
    return _kad_id(data, 0), _kad_id(data, 16), _tags(data, 32)[0]


def decode_publish_res(datagram: bytes) -> tuple:
    data = _payload(datagram)
    left = len(data) - 16
    if left not in (1, 2, 9, 10):
        raise Refused("size")
    counts = (_U32.unpack_from(data, 16)[0], _U32.unpack_from(data, 20)[0]) if left >= 9 else None
    at = 24 if counts else 16
    return _kad_id(data, 0), data[at], counts, data[at + 1] if left in (2, 10) else None


# --- encoders --------------------------------------------------------------------------------------------------------


def frame(opcode: int, payload: bytes) -> bytes:
    """iMule's packing rule, as the product applies it: level-9 trial above 200 bytes, kept when strictly smaller."""
    if len(payload) > 200:
        packed = zlib.compress(payload, 9)
        if len(packed) < len(payload):
            return bytes((0x06, opcode)) + packed
    return bytes((0x05, opcode)) + payload


def _id_bytes(value: int) -> bytes:
    return _WORDS.pack(value >> 96, (value >> 64) & 0xFFFFFFFF, (value >> 32) & 0xFFFFFFFF, value & 0xFFFFFFFF)


def _contact_bytes(version: int, kad_id: int, dest: bytes) -> bytes:
    return (
        _CONTACT_HEAD.pack(
            version, kad_id >> 96, (kad_id >> 64) & 0xFFFFFFFF, (kad_id >> 32) & 0xFFFFFFFF, kad_id & 0xFFFFFFFF
        )
        + dest
    )


def _tag_bytes(parts: list[bytes], name: int, value: object, serial: int) -> int:
    """Append one int or text tag (the kinds the benchmarks carry); returns the next serial."""
    if isinstance(value, int):
        for kind, size in ((0x09, 1), (0x08, 2), (0x03, 4), (0x29, 8)):
            if value < 1 << (8 * size):
                parts.append(_TAG_HEAD.pack(kind | 0x80, name, serial) + _INT_FORMS[size].pack(value))
                return serial + 1
    raw = value.encode("utf-8") if isinstance(value, str) else value
    if isinstance(value, str) and 1 <= len(raw) <= 16:
        parts.append(_TAG_HEAD.pack((0x10 + len(raw)) | 0x80, name, serial) + raw)
    elif isinstance(value, str):
        parts.append(_TAG_HEAD.pack(0x82, name, serial) + _U16.pack(len(raw)) + raw)
    else:
        parts.append(_TAG_HEAD.pack(0xA7, name, serial) + raw)  # a 387-byte destination
    return serial + 1


def _tags_bytes(parts: list[bytes], tags: list[tuple[int, object]], serial: int) -> int:
    parts.append(bytes((len(tags),)))
    for name, value in tags:
        serial = _tag_bytes(parts, name, value, serial)
    return serial


def encode_kademlia_req(kind: int, target: int, receiver: int, sender: int) -> bytes:
    return frame(0x11, bytes((kind,)) + _id_bytes(target) + _id_bytes(receiver) + _id_bytes(sender))


def encode_kademlia_res(target: int, contacts: list[tuple[int, int, bytes]]) -> bytes:
    parts = [_id_bytes(target), bytes((len(contacts),))]
    parts += [_contact_bytes(*contact) for contact in contacts]
    return frame(0x13, b"".join(parts))


def encode_bootstrap_res(kad_id: int, version: int, dest: bytes, contacts: list[tuple[int, int, bytes]]) -> bytes:
    parts = [_id_bytes(kad_id), bytes((version,)), dest, _U16.pack(len(contacts))]
    parts += [_contact_bytes(*contact) for contact in contacts]
    return frame(0x0E, b"".join(parts))


def encode_hello(opcode: int, contact: tuple[int, int, bytes], tags: list[tuple[int, object]]) -> bytes:
    parts = [_contact_bytes(*contact)]
    _tags_bytes(parts, tags, 1)
    return frame(opcode, b"".join(parts))


def encode_search_res(sender: int, target: int, entries: list[tuple[int, list]]) -> bytes:
    parts = [_id_bytes(sender), _id_bytes(target), _U16.pack(len(entries))]
    serial = 1
    for kad_id, tags in entries:
        parts.append(_id_bytes(kad_id))
        serial = _tags_bytes(parts, tags, serial)
    return frame(0x17, b"".join(parts))


def encode_publish_key_req(target: int, entries: list[tuple[int, list]]) -> bytes:
    parts = [_id_bytes(target), _U16.pack(len(entries))]
    serial = 1
    for kad_id, tags in entries:
        parts.append(_id_bytes(kad_id))
        serial = _tags_bytes(parts, tags, serial)
    return frame(0x18, b"".join(parts))


def encode_publish_source_req(target: int, source: int, tags: list[tuple[int, object]]) -> bytes:
    parts = [_id_bytes(target), _id_bytes(source)]
    _tags_bytes(parts, tags, 1)
    return frame(0x19, b"".join(parts))


def encode_publish_res(target: int, load: int) -> bytes:
    return frame(0x1B, _id_bytes(target) + bytes((load,)))


# --- closest-k -------------------------------------------------------------------------------------------------------


def xor_pass(hi: np.ndarray, lo: np.ndarray, target: int) -> tuple[np.ndarray, np.ndarray]:
    """The yardstick: one XOR of both halves of the ID column with a target."""
    return hi ^ np.uint64(target >> 64), lo ^ np.uint64(target & ((1 << 64) - 1))


def argpartition_closest(hi: np.ndarray, lo: np.ndarray, target: int, k: int) -> np.ndarray:
    """Indices of the ``k`` IDs nearest to ``target``, nearest first: argpartition on the high halves, then an exact
    sort of every candidate that ties with the k-th high half."""
    d_hi, d_lo = xor_pass(hi, lo, target)
    kth = d_hi[np.argpartition(d_hi, k - 1)[k - 1]]
    candidates = np.flatnonzero(d_hi <= kth)
    order = np.lexsort((d_lo[candidates], d_hi[candidates]))
    return candidates[order[:k]]


class KademliaTable:
    """The ``kademlia`` package's routing table filled with the same IDs (160-bit there: ours shifted left 32 bits,
    which keeps every XOR order), and its neighbour search."""

    def __init__(self, own_id: int, ids: list[int], ksize: int = 20) -> None:
        from kademlia.node import Node
        from kademlia.routing import RoutingTable

        self._node = Node
        loop = asyncio.new_event_loop()
        self._loop = loop

        class _NoPing:  # a full bucket pings its head; nothing answers in a benchmark
            @staticmethod
            def call_ping(_node: object) -> asyncio.Future[None]:
                done = loop.create_future()
                done.set_result(None)
                return done

        self.table = RoutingTable(_NoPing(), ksize, Node((own_id << 32).to_bytes(20, "big")))
        for kad_id in ids:
            self.table.add_contact(Node((kad_id << 32).to_bytes(20, "big")))
        self.held = sum(len(bucket) for bucket in self.table.buckets)

    def close(self) -> None:
        self._loop.close()

    def query(self, target: int) -> object:
        return self._node((target << 32).to_bytes(20, "big"))

    def closest(self, query: object, k: int) -> list[int]:
        return [neighbour.long_id >> 32 for neighbour in self.table.find_neighbors(query, k)]
