"""MD4 against the RFC 1320 test suite (appendix A.5), in both twins."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

RFC1320_VECTORS = [
    (b"", "31d6cfe0d16ae931b73c59d7e0c089c0"),
    (b"a", "bde52cb31de33e46245e05fbdbd6fb24"),
    (b"abc", "a448017aaf21d8525fc10ae87aa6729d"),
    (b"message digest", "d9130a8164549fe818874806e1c7014b"),
    (b"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"),
    (b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4"),
    (b"1234567890" * 8, "e33b4ddc9c38f2199c3e7b164fcc0536"),
]


@pytest.mark.parametrize("message,digest", RFC1320_VECTORS)
def test_rfc1320_vectors(twin, message, digest):
    assert twin.md4(message).hex() == digest


@pytest.mark.parametrize("length", [55, 56, 63, 64, 65, 119, 120, 127, 128, 129])
def test_padding_boundaries_agree(both_twins, length):
    compiled, python = both_twins
    data = bytes(i * 7 % 251 for i in range(length))
    assert compiled.md4(data) == python.md4(data)


@given(data=st.binary(max_size=2000))
def test_twins_agree_on_any_input(both_twins, data):
    compiled, python = both_twins
    assert compiled.md4(data) == python.md4(data) == compiled.md4(bytearray(data))
