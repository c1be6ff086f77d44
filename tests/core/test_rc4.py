"""RC4 and iMule's MD5-keyed RC4 against RFC 6229 keystream vectors, in both twins, and the twins against each other."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

# (key, keystream offset, the 16 keystream bytes there): RFC 6229 section 2.
RFC6229_VECTORS = [
    ("0102030405", 0, "b2396305f03dc027ccc3524a0a1118a8"),
    ("0102030405", 16, "6982944f18fc82d589c403a47a0d0919"),
    ("0102030405", 240, "28cb1132c96ce286421dcaadb8b69eae"),
    ("0102030405", 256, "1cfcf62b03eddb641d77dfcf7f8d8c93"),
    ("0102030405060708090a0b0c0d0e0f10", 0, "9ac7cc9a609d1ef7b2932899cde41b97"),
    ("0102030405060708090a0b0c0d0e0f101112131415161718", 0, "0595e57fe5f0bb3c706edac8a4b2db11"),
    ("1ada31d5cf688221c109163908ebe51debb46227c6cc8b37641910833222772a", 4096, "370b1c1fe655916d97fd0d47ca1d72b8"),
]
MAGIC = 0x395F2EC1


@pytest.mark.parametrize("key,offset,keystream", RFC6229_VECTORS)
def test_rfc6229_keystream(twin, key, offset, keystream):
    stream = twin.rc4(bytes.fromhex(key), bytes(offset + 16))
    assert stream[offset:].hex() == keystream
    plain = b"sixteen bytes!!!"
    cipher = twin.rc4(bytes.fromhex(key), bytes(offset) + plain)
    assert twin.rc4(bytes.fromhex(key), cipher)[offset:] == plain


def test_md5_keying(twin):
    key_data = b"\x33\x22\x11\x00" * 4 + b"\xab\xcd"
    data = bytes(range(200))
    assert twin.rc4_md5(key_data, data) == twin.rc4(hashlib.md5(key_data).digest(), data)


@pytest.mark.parametrize("length", [0, 1, 4, 6, 9, 15, 17, 33, 255, 256])
def test_key_sizes_openssl_refuses_are_refused(twin, length):
    if length in twin.KEY_SIZES:
        assert len(twin.rc4(bytes(length), b"abc")) == 3
    else:
        with pytest.raises(ValueError):
            twin.rc4(bytes(length), b"abc")


def test_magic_gate(twin):
    key_data = b"receiver" + b"\x01\x02"
    body = MAGIC.to_bytes(4, "little") + b"\x00rest of the datagram"
    datagram = b"\x58\x01\x02" + twin.rc4_md5(key_data, body)
    assert twin.rc4_md5_magic(key_data, datagram, 3, MAGIC) == body
    assert twin.rc4_md5_magic(b"somebody else", datagram, 3, MAGIC) is None
    assert twin.rc4_md5_magic(key_data, datagram, 3, MAGIC ^ 1) is None
    assert twin.rc4_md5_magic(key_data, datagram[:6], 3, MAGIC) is None  # fewer than four bytes to read
    assert twin.rc4_md5_magic(key_data, datagram[:7], 3, MAGIC) == body[:4]


@given(
    key=st.sampled_from([5, 7, 8, 10, 16, 20, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    data=st.binary(max_size=1500),
)
def test_twins_agree_on_rc4(both_twins, key, data):
    compiled, python = both_twins
    assert compiled.rc4(key, data) == python.rc4(key, data) == compiled.rc4(bytearray(key), memoryview(data))


@given(key_data=st.binary(max_size=40), data=st.binary(max_size=1500), start=st.integers(-2, 12))
def test_twins_agree_on_md5_keyed_rc4(both_twins, key_data, data, start):
    compiled, python = both_twins
    assert compiled.rc4_md5(key_data, data) == python.rc4_md5(key_data, data)
    assert compiled.rc4_md5_magic(key_data, data, start, MAGIC) == python.rc4_md5_magic(key_data, data, start, MAGIC)
    # the same data with its first four bytes made to decrypt to the magic: both must open all of it
    if 0 <= start <= len(data) - 4:
        keystream = compiled.rc4_md5(key_data, bytes(4))
        head = bytes(a ^ b for a, b in zip(keystream, MAGIC.to_bytes(4, "little"), strict=True))
        sealed = data[:start] + head + data[start + 4 :]
        opened = compiled.rc4_md5_magic(key_data, sealed, start, MAGIC)
        assert opened == python.rc4_md5_magic(key_data, sealed, start, MAGIC)
        assert opened == python.rc4_md5(key_data, sealed[start:])
        assert opened[:4] == MAGIC.to_bytes(4, "little")


def test_twins_agree_on_refused_key_sizes(both_twins):
    compiled, python = both_twins
    for length in range(0, 40):
        outcomes = []
        for twin in (compiled, python):
            try:
                outcomes.append(twin.rc4(bytes(length), b"x"))
            except ValueError:
                outcomes.append("refused")
        assert outcomes[0] == outcomes[1], length


@pytest.mark.parametrize("magic", [-1, 1 << 32])
def test_a_magic_beyond_u32_is_refused(twin, magic):
    with pytest.raises(OverflowError):
        twin.rc4_md5_magic(b"key", bytes(10), 3, magic)
