"""iMule's RC4 obfuscation of Kad datagrams (kad-wire.md §9), checked against an independent RC4 written here."""

from __future__ import annotations

import hashlib
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mule.kad.messages import Ping
from mule.kad.obfuscation import MAGIC, OVERHEAD, KeyMode, Received, deobfuscate, obfuscate, verify_key

OWN_ID = 0x00112233445566778899AABBCCDDEEFF
OWN_ID_WIRE = bytes.fromhex("33221100 77665544 bbaa9988 ffeeddcc")


def _rc4(key: bytes, data: bytes) -> bytes:
    """Textbook RC4 (no keystream discarded), independent of the module under test."""
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) & 0xFF
        s[i], s[j] = s[j], s[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) & 0xFF
        j = (j + s[i]) & 0xFF
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) & 0xFF])
    return bytes(out)


def _fixed_random(*chunks: bytes):
    stream = iter(chunks)
    return lambda n: next(stream)[:n]


def test_node_id_mode_layout():
    datagram = Ping().encode()
    sent = obfuscate(
        datagram,
        _fixed_random(b"\xab\xcd", b"\x58"),
        receiver_id=OWN_ID,
        receiver_verify_key=0,
        sender_verify_key=0x01020304,
    )
    assert len(sent) == len(datagram) + OVERHEAD
    assert sent[0] == 0x58  # random marker with bits 0 and 1 clear: Kad, keyed by node ID
    assert sent[1:3] == b"\xab\xcd"  # the random key part, in clear
    # key = MD5(receiver ID in its wire ("crypt value") form + the 2 key bytes as sent)
    plain = _rc4(hashlib.md5(OWN_ID_WIRE + b"\xab\xcd").digest(), sent[3:])
    assert plain[:4] == MAGIC.to_bytes(4, "little") == bytes.fromhex("c12e5f39")
    assert plain[4] == 0  # no padding
    assert plain[5:9] == bytes(4)  # receiver verify key unknown
    assert plain[9:13] == bytes.fromhex("04030201")  # sender verify key, u32 LE
    assert plain[13:] == datagram

    received = deobfuscate(sent, own_id=OWN_ID, own_verify_key_for_sender=0)
    assert (received.datagram, received.mode, received.sender_verify_key) == (datagram, KeyMode.NODE_ID, 0x01020304)


def test_receiver_key_mode_layout():
    datagram = Ping().encode()
    sent = obfuscate(
        datagram,
        _fixed_random(b"\x01\x02", b"\xff"),
        receiver_id=None,
        receiver_verify_key=0xCAFEBABE,
        sender_verify_key=7,
    )
    assert sent[0] == 0xFE  # bit 1 set, bit 0 clear: Kad, keyed by the receiver's verify key
    plain = _rc4(hashlib.md5(bytes.fromhex("bebafeca") + b"\x01\x02").digest(), sent[3:])
    assert plain[:5] == bytes.fromhex("c12e5f39 00")
    assert plain[5:9] == bytes.fromhex("bebafeca")
    received = deobfuscate(sent, own_id=OWN_ID, own_verify_key_for_sender=0xCAFEBABE)
    assert received.mode is KeyMode.RECEIVER_KEY
    assert (received.datagram, received.receiver_verify_key, received.sender_verify_key) == (datagram, 0xCAFEBABE, 7)


def test_marker_never_looks_like_a_plain_protocol_byte():
    # 0x04 and 0x07 both give marker 0x04 in node-ID mode, a plain protocol byte: the next random byte is drawn.
    rand = _fixed_random(b"\x00\x00", b"\x04", b"\x07", b"\x10")
    sent = obfuscate(Ping().encode(), rand, receiver_id=1, receiver_verify_key=0, sender_verify_key=0)
    assert sent[0] == 0x10


@pytest.mark.parametrize("first", [0x03, 0x04, 0x05, 0x06, 0xA3, 0xB2])
def test_plain_protocol_bytes_pass_through(first):
    data = bytes([first]) + bytes(20)
    assert deobfuscate(data, own_id=OWN_ID, own_verify_key_for_sender=1).mode is None


def test_short_or_foreign_datagrams_pass_through():
    assert deobfuscate(b"\x10" * 8, own_id=OWN_ID, own_verify_key_for_sender=1).datagram == b"\x10" * 8
    junk = bytes(range(7, 60))
    assert deobfuscate(junk, own_id=OWN_ID, own_verify_key_for_sender=1).datagram == junk


def test_verify_key():
    # MD5 over (dest hash u32 LE, our UDP key u32 LE); the four LE words XORed, mod 0xFFFFFFFE, plus 1
    digest = hashlib.md5(bytes.fromhex("78563412 efbeadde")).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    assert verify_key(0x12345678, 0xDEADBEEF) == (words[0] ^ words[1] ^ words[2] ^ words[3]) % 0xFFFFFFFE + 1
    assert all(verify_key(h, k) for h, k in itertools.product(range(50), range(50)))


@given(
    payload=st.binary(min_size=2, max_size=300),
    key_part=st.binary(min_size=2, max_size=2),
    marker=st.binary(min_size=1, max_size=1).filter(lambda b: b[0] & 0xFC not in (0x04, 0xB0)),
    by_id=st.booleans(),
    keys=st.tuples(st.integers(1, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF)),
)
def test_round_trip(payload, key_part, marker, by_id, keys):
    receiver_key, sender_key = keys
    sent = obfuscate(
        payload,
        _fixed_random(key_part, *[marker] * 128),
        receiver_id=OWN_ID if by_id else None,
        receiver_verify_key=receiver_key,
        sender_verify_key=sender_key,
    )
    received = deobfuscate(sent, own_id=OWN_ID, own_verify_key_for_sender=receiver_key)
    assert received.datagram == payload
    assert received.mode is (KeyMode.NODE_ID if by_id else KeyMode.RECEIVER_KEY)
    assert (received.receiver_verify_key, received.sender_verify_key) == (receiver_key, sender_key)


def _padded(datagram: bytes, padding: bytes, key_part: bytes, receiver_key: int, sender_key: int) -> bytes:
    """What an iMule sender with padding would send in node-ID mode, built with the independent RC4."""
    body = MAGIC.to_bytes(4, "little") + bytes((len(padding),)) + padding
    body += receiver_key.to_bytes(4, "little") + sender_key.to_bytes(4, "little") + datagram
    return b"\x58" + key_part + _rc4(hashlib.md5(OWN_ID_WIRE + key_part).digest(), body)


@given(
    payload=st.binary(max_size=300),
    padding=st.binary(max_size=255),
    key_part=st.binary(min_size=2, max_size=2),
    keys=st.tuples(st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF)),
)
def test_padding_is_skipped_and_short_bodies_pass_through(payload, padding, key_part, keys):
    sent = _padded(payload, padding, key_part, *keys)
    received = deobfuscate(sent, own_id=OWN_ID, own_verify_key_for_sender=1)
    if len(payload) + 8 <= 8:  # iMule hands a body of 8 bytes or fewer on untouched
        assert received == Received(sent)
    else:
        assert received == Received(payload, KeyMode.NODE_ID, *keys)


@given(payload=st.binary(min_size=2, max_size=300), key_part=st.binary(min_size=2, max_size=2))
def test_a_datagram_for_another_node_passes_through_untouched(payload, key_part):
    sent = _padded(payload, b"", key_part, 5, 6)
    assert deobfuscate(sent, own_id=OWN_ID ^ 1, own_verify_key_for_sender=1) == Received(sent)
