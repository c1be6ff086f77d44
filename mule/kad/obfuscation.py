"""iMule's RC4 obfuscation of Kad datagrams (``EncryptedDatagramSocket.cpp``), used over I2P on top of I2P's own.

Layout: marker u8, random key part u16, then RC4 over: magic u32, padding length u8,
padding, receiver verify key u32, sender verify key u32, the plain Kad datagram.
The RC4 key is MD5 of the key data; no keystream bytes are discarded. Randomness is
passed in (sans-IO): the node hands over its keystream's ``read``. The cipher is the core's
``rc4_md5`` (compiled twin): a receiver that is not the addressee stops after four bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from mule._core import id_to_wire, rc4_md5, rc4_md5_magic

MAGIC = 0x395F2EC1
OVERHEAD = 16  # header, magic, padding length and the two verify keys, with no padding (iMule sends none)
_HEADER = 8  # marker, key part, magic, padding length
_KEY_END = 3  # marker and key part are plain; the cipher starts here
_MARKER_TRIES = 128
# First bytes a receiver takes for a plain packet, so an obfuscated one must not start with them.
_PLAIN_MARKERS = frozenset({0x03, 0x04, 0x05, 0x06, 0xA3, 0xB2})
_RECEIVER_KEY_BIT = 0x02


class KeyMode(Enum):
    NODE_ID = "node-id"  # keyed by the receiver's Kad ID
    RECEIVER_KEY = "receiver-key"  # keyed by the verify key the receiver gave us


# The order a receiver tries the two keys in: the marker's key bit names the likelier one.
_NODE_ID_FIRST = (KeyMode.NODE_ID, KeyMode.RECEIVER_KEY)
_RECEIVER_KEY_FIRST = (KeyMode.RECEIVER_KEY, KeyMode.NODE_ID)


@dataclass(frozen=True, slots=True)
class Received:
    """A received datagram after de-obfuscation (``mode`` is None when it arrived in plaintext)."""

    datagram: bytes
    mode: KeyMode | None = None
    receiver_verify_key: int = 0
    sender_verify_key: int = 0


def verify_key(dest_hash: int, udp_key: int) -> int:
    """The verify key for a peer: MD5 of (its dest hash, our secret UDP key) folded to a nonzero u32."""
    digest = hashlib.md5(dest_hash.to_bytes(4, "little") + udp_key.to_bytes(4, "little")).digest()
    folded = 0
    for i in range(0, 16, 4):
        folded ^= int.from_bytes(digest[i : i + 4], "little")
    return folded % 0xFFFFFFFE + 1


def _key_data(mode: KeyMode, secret: int, key_part: bytes) -> bytes:
    if mode is KeyMode.NODE_ID:
        return id_to_wire(secret) + key_part  # the ID's "crypt value" is its wire form
    return secret.to_bytes(4, "little") + key_part


def obfuscate(
    datagram: bytes,
    rand: Callable[[int], bytes],
    *,
    receiver_id: int | None,
    receiver_verify_key: int,
    sender_verify_key: int,
) -> bytes:
    """Obfuscate a plain Kad datagram as iMule does: keyed by ``receiver_id`` if known, else by the receiver key.

    ``receiver_verify_key`` is the key the peer last sent us (0 if none); ``sender_verify_key``
    is ``verify_key(peer dest hash, our UDP key)``.
    """
    if receiver_id:
        mode, secret = KeyMode.NODE_ID, receiver_id
    elif receiver_verify_key:
        mode, secret = KeyMode.RECEIVER_KEY, receiver_verify_key
    else:
        raise ValueError("obfuscation needs the receiver's Kad ID or its verify key")
    key_part = rand(2)
    for _ in range(_MARKER_TRIES):
        marker = rand(1)[0] & 0xFC
        if mode is KeyMode.RECEIVER_KEY:
            marker |= _RECEIVER_KEY_BIT
        if marker not in _PLAIN_MARKERS:
            break
    else:
        raise ValueError("the random source gave no usable marker byte")
    body = (
        MAGIC.to_bytes(4, "little")
        + b"\x00"
        + receiver_verify_key.to_bytes(4, "little")
        + sender_verify_key.to_bytes(4, "little")
        + datagram
    )
    return bytes((marker,)) + key_part + rc4_md5(_key_data(mode, secret, key_part), body)


def deobfuscate(data: bytes, *, own_id: int, own_verify_key_for_sender: int) -> Received:
    """Undo obfuscation if ``data`` is obfuscated for us; anything else passes through as plaintext.

    ``own_verify_key_for_sender`` is ``verify_key(sender dest hash, our UDP key)``: the key a
    receiver-key-mode packet is encrypted with, and what its receiver field must equal to be
    "valid". Never raises: junk passes through for the decoder to refuse.
    """
    if len(data) <= _HEADER or data[0] in _PLAIN_MARKERS:
        return Received(data)
    key_part = data[1:_KEY_END]
    modes = _RECEIVER_KEY_FIRST if data[0] & 0x03 == _RECEIVER_KEY_BIT else _NODE_ID_FIRST
    for mode in modes:
        secret = own_id if mode is KeyMode.NODE_ID else own_verify_key_for_sender
        plain = rc4_md5_magic(_key_data(mode, secret, key_part), data, _KEY_END, MAGIC)
        if plain is None:
            continue
        padding = plain[4]
        if len(data) - _HEADER - padding <= 8:  # iMule passes such packets through untouched
            return Received(data)
        keys = _HEADER - _KEY_END + padding  # the verify keys' offset in ``plain``
        return Received(
            plain[keys + 8 :],
            mode,
            receiver_verify_key=int.from_bytes(plain[keys : keys + 4], "little"),
            sender_verify_key=int.from_bytes(plain[keys + 4 : keys + 8], "little"),
        )
    return Received(data)
