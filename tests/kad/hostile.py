"""The costliest datagrams a peer can send: each is a full SAM datagram whose payload (inflated to the last byte
of iMule's buffer when packed) holds as many items as the bytes allow. Shared by the tests and the benchmarks."""

from __future__ import annotations

import zlib

from mule.kad.envelope import MAX_DATAGRAM, MAX_PAYLOAD, inflate_limit
from mule.kad.opcodes import Op, Protocol

INFLATED_MAX = inflate_limit(MAX_DATAGRAM)  # 102,698 payload bytes
_ID = bytes(15) + b"\x01"
_DEPTH = 24
_MIN_SPLIT = 2 + 3 + 3  # a boolean over two empty keyword terms


def _tree(budget: int, levels: int, out: list[bytes]) -> None:
    """A tree of exactly ``budget`` bytes, at most ``levels`` deep: booleans (2 bytes) split the budget in two
    until empty keyword terms (3 bytes) are left, so about one term per 2.5 bytes."""
    if levels == 1 or budget < _MIN_SPLIT:
        out.append(b"\x01" + (budget - 3).to_bytes(2, "little") + bytes(budget - 3))
        return
    out.append(b"\x00\x00")
    left = (budget - 2) // 2
    _tree(left, levels - 1, out)
    _tree(budget - 2 - left, levels - 1, out)


def tree(budget: int) -> bytes:
    out: list[bytes] = []
    _tree(budget, _DEPTH, out)
    return b"".join(out)


def tree_terms(budget: int) -> int:
    """How many terms (booleans and keywords) ``tree(budget)`` holds."""
    out: list[bytes] = []
    _tree(budget, _DEPTH, out)
    return len(out)


def _entries(budget: int, tags_per_entry: int) -> bytes:
    """A u16 count of entries filling ``budget`` bytes: Kad ID and UINT8 tags of 7 bytes (the smallest tag)."""
    entry = _ID + bytes([tags_per_entry]) + b"\x89\x24\x01\x00\x00\x00\x07" * tags_per_entry
    count = (budget - 2) // len(entry)
    return count.to_bytes(2, "little") + entry * count


def packed(opcode: int, payload: bytes) -> bytes:
    """``payload`` packed, padded to a full datagram with bytes after the zlib stream (iMule ignores them)."""
    body = bytes((Protocol.KAD_PACKED, opcode)) + zlib.compress(payload, 9)
    assert len(body) <= MAX_DATAGRAM and len(payload) <= inflate_limit(MAX_DATAGRAM)
    return body + bytes(MAX_DATAGRAM - len(body))


def plain(opcode: int, payload: bytes) -> bytes:
    assert len(payload) == MAX_PAYLOAD
    return bytes((Protocol.KAD, opcode)) + payload


_KEY_HEAD = _ID + (0x8000).to_bytes(2, "little")  # keyword, start position with the expression flag
_KAD1_HEAD = _ID + b"\x01"  # keyword, restrictive byte
_RES_HEAD = _ID + _ID  # sender, target

WORST: dict[str, bytes] = {
    "packed SEARCH_KEY_REQ tree": packed(Op.SEARCH_KEY_REQ, _KEY_HEAD + tree(INFLATED_MAX - len(_KEY_HEAD))),
    "plain SEARCH_KEY_REQ tree": plain(Op.SEARCH_KEY_REQ, _KEY_HEAD + tree(MAX_PAYLOAD - len(_KEY_HEAD))),
    "packed Kad1 SEARCH_REQ tree": packed(Op.KAD1_SEARCH_REQ, _KAD1_HEAD + tree(INFLATED_MAX - len(_KAD1_HEAD))),
    "plain Kad1 SEARCH_REQ tree": plain(Op.KAD1_SEARCH_REQ, _KAD1_HEAD + tree(MAX_PAYLOAD - len(_KAD1_HEAD))),
    "packed SEARCH_RES tags": packed(Op.SEARCH_RES, _RES_HEAD + _entries(INFLATED_MAX - len(_RES_HEAD), 255)),
    "packed PUBLISH_KEY_REQ entries": packed(Op.PUBLISH_KEY_REQ, _ID + _entries(INFLATED_MAX - len(_ID), 0)),
    "packed Kad1 SEARCH_RES tags": packed(Op.KAD1_SEARCH_RES, _ID + _entries(INFLATED_MAX - len(_ID), 255)),
}
