"""Kad datagram obfuscation (MD5-keyed RC4), compiled twin vs pure twin (``cryptography``'s RC4), in one run.

The three costs a node pays per datagram: sealing one it sends, opening one addressed to it,
and refusing one that is not (the magic check after four bytes: the flood path's trial).
Figures in docs/performance.md; recorded, not asserted.
"""

from __future__ import annotations

import hashlib
import random

import pytest

MAGIC = 0x395F2EC1
KEY_DATA = bytes(range(16)) + b"\xab\xcd"  # a receiver's Kad ID in wire form and the key part
DATAGRAM = random.Random(7).randbytes(400)  # about a KADEMLIA2_RES with a few contacts, after the header


@pytest.fixture(scope="module")
def sealed(core_twin) -> bytes:
    return b"\x58\xab\xcd" + core_twin.rc4_md5(KEY_DATA, MAGIC.to_bytes(4, "little") + DATAGRAM)


@pytest.mark.benchmark(group="obfuscation: seal a 400-byte datagram")
def test_seal(benchmark, core_twin):
    assert len(benchmark(core_twin.rc4_md5, KEY_DATA, DATAGRAM)) == len(DATAGRAM)


@pytest.mark.benchmark(group="obfuscation: open one addressed to us")
def test_open(benchmark, core_twin, sealed):
    assert benchmark(core_twin.rc4_md5_magic, KEY_DATA, sealed, 3, MAGIC)[4:] == DATAGRAM


@pytest.mark.benchmark(group="obfuscation: refuse one for another key")
def test_refuse(benchmark, core_twin, sealed):
    other = hashlib.md5(b"somebody else").digest() + b"\xab\xcd"
    assert benchmark(core_twin.rc4_md5_magic, other, sealed, 3, MAGIC) is None
