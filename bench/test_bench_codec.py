"""Kad codec hot paths, compiled twin vs pure-Python twin.

Targets (recorded, not asserted: machines are shared and noisy): decode of a 10-contact
KADEMLIA2_RES under 20 us, and of the costliest datagram of any type (tests/kad/hostile.py)
well under 5 ms, with the compiled core. Encoding includes iMule's zlib attempt (level 9) on
payloads over 200 bytes, so it is dominated by zlib for both twins.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mule.kad import codec, message
from mule.kad.contact import Contact
from mule.kad.message import Entry
from mule.kad.messages import KademliaRes, SearchRes
from mule.kad.opcodes import TagName
from mule.kad.tags import IntTag, StringTag, TagSerials

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "kad"))  # the hostile datagrams the tests use
from hostile import WORST


@pytest.fixture
def codec_twin(core_twin, monkeypatch):
    """The codec on one core twin: the decoder's Reader and the encoder's Writer are the only core calls here."""
    monkeypatch.setattr(codec, "Reader", core_twin.Reader)
    monkeypatch.setattr(message, "Writer", core_twin.Writer)
    return core_twin


def _kad_id() -> int:
    return int.from_bytes(os.urandom(16), "big") | 1


def _kademlia_res() -> KademliaRes:
    contacts = tuple(Contact(8, _kad_id(), os.urandom(384) + bytes(3)) for _ in range(10))
    return KademliaRes(_kad_id(), contacts)


def _search_res() -> SearchRes:
    results = tuple(
        Entry(
            _kad_id(),
            (
                StringTag(TagName.FILENAME, f"some artist - track {i:02d} (live).ogg"),
                IntTag(TagName.FILESIZE, 4_000_000 + i * 7919),
                IntTag(TagName.SOURCES, i + 1),
                IntTag(TagName.COMPLETE_SOURCES, i // 2),
                StringTag(TagName.FILETYPE, "Audio"),
            ),
        )
        for i in range(50)
    )
    return SearchRes(_kad_id(), _kad_id(), results)


@pytest.mark.benchmark(group="decode KADEMLIA2_RES, 10 contacts")
def test_decode_kademlia_res(benchmark, codec_twin):
    original = _kademlia_res()
    datagram = original.encode()
    assert datagram[0] == 0x05  # random destinations do not compress: a plain datagram
    assert benchmark(codec.decode, datagram) == original


@pytest.mark.benchmark(group="encode KADEMLIA2_RES, 10 contacts")
def test_encode_kademlia_res(benchmark, codec_twin):
    original = _kademlia_res()
    assert len(benchmark(original.encode, TagSerials())) == 2 + 16 + 1 + 10 * 404


@pytest.mark.benchmark(group="decode SEARCH_RES, 50 results")
def test_decode_search_res(benchmark, codec_twin):
    original = _search_res()
    datagram = original.encode()
    assert datagram[0] == 0x06  # file names compress: a packed datagram, inflated on decode
    assert benchmark(codec.decode, datagram) == original


@pytest.mark.benchmark(group="encode SEARCH_RES, 50 results")
def test_encode_search_res(benchmark, codec_twin):
    original = _search_res()
    assert benchmark(original.encode, TagSerials())[0] == 0x06


@pytest.mark.parametrize("name", list(WORST))
def test_decode_worst_case(benchmark, codec_twin, name):
    """A full datagram (inflated to iMule's whole buffer when packed) of the most terms, tags or entries."""
    benchmark.group = f"decode worst case: {name}"
    benchmark(codec.decode, WORST[name])
