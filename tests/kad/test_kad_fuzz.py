"""The decoder is the first thing an attacker touches: it raises only ``CodecError``, allocates in proportion
to the datagram, and finishes on crafted lengths.

Inputs: hypothesis-generated and hypothesis-mutated datagrams, a fast seeded loop of 20,000 mutations
of valid samples, and every truncation and one bit flip at every offset of every valid sample.
"""

from __future__ import annotations

import contextlib
import random
import sys
import tracemalloc
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kad_twins import codec_on
from test_kad_known_answers import CASES

from mule.kad import codec
from mule.kad.errors import CodecError
from mule.kad.opcodes import Protocol
from tests.mutations import mutate

SAMPLES = [bytes.fromhex(wire.replace(" ", "")) for wire, _ in CASES]
HYPOTHESIS_EXAMPLES = 5_000
LOOP_MUTATIONS = 20_000


def _decode_or_codec_error(datagram: bytes) -> None:
    with contextlib.suppress(CodecError):
        codec.decode(datagram)


def test_samples_are_valid():
    for sample in SAMPLES:
        codec.decode(sample)


headers = st.tuples(st.sampled_from([Protocol.KAD, Protocol.KAD_PACKED, 0x04, 0xE4]), st.integers(0, 0x22)).map(bytes)
generated = st.builds(lambda head, body: head + body, headers, st.binary(max_size=1200))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "cut"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[at] = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFF]))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and data:
            del data[at : at + draw(st.integers(1, 8))]
        elif kind == "cut":
            del data[at:]
    return bytes(data)


@settings(max_examples=HYPOTHESIS_EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(datagram=generated | mutated() | mutated().map(lambda d: d[:2] + zlib.compress(d[2:])))
def test_hypothesis_datagrams_raise_only_codec_errors(twin, datagram):
    with codec_on(twin):
        _decode_or_codec_error(datagram)


def test_seeded_mutation_loop(twin):
    rng = random.Random(20_000)
    with codec_on(twin):
        for i in range(LOOP_MUTATIONS):
            _decode_or_codec_error(mutate(rng, SAMPLES[i % len(SAMPLES)]))


def test_every_truncation_and_bit_flip_of_every_sample(twin):
    with codec_on(twin):
        for sample in SAMPLES:
            for end in range(len(sample)):
                _decode_or_codec_error(sample[:end])
            for at in range(len(sample)):
                flipped = bytearray(sample)
                flipped[at] ^= 1 << (at % 8)
                _decode_or_codec_error(bytes(flipped))


ID = "00" * 15 + "01"
DEST = "11" * 384 + "000000"
# Counts and lengths that claim far more than the datagram holds.
CRAFTED = [
    f"05 13 {ID} ff",  # 255 contacts
    f"05 0e {ID} 08 {DEST} ffff",  # 65535 bootstrap contacts
    f"05 17 {ID} {ID} ffff",  # 65535 search results
    f"05 18 {ID} ffff" + f"{ID} 00" * 50,  # 65535 publish entries, 50 present
    f"05 12 {ID} ff",  # 255 tags
    f"05 12 {ID} 01 87 30 ffffffff ffffffff",  # 4 GiB blob
    f"05 12 {ID} 01 82 30 00000000 ffff",  # 64 KiB string
    f"05 12 {ID} 01 86 30 00000000 ffff",  # 65535-bit bool array
    "05 02 ffff",  # 65535 Kad1 contacts
    f"05 14 {ID} 0080 " + "00 01 " * 4000,  # a tree far deeper than 24 levels
]


def _zlib_bomb() -> bytes:
    return bytes((Protocol.KAD_PACKED, 0x17)) + zlib.compress(bytes(8 << 20), 9)


@pytest.mark.parametrize("datagram", [bytes.fromhex(c.replace(" ", "")) for c in CRAFTED] + [_zlib_bomb()])
def test_allocation_stays_within_what_the_datagram_implies(twin, datagram):
    # A packed datagram may inflate to at most length * 10 + 298 bytes (iMule's buffer); a plain one holds itself.
    bound = 4 * (len(datagram) * 10 + 300) + 64 * 1024
    with codec_on(twin):
        tracemalloc.start()
        try:
            _decode_or_codec_error(datagram)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak <= bound, f"peak {peak} bytes for a {len(datagram)}-byte datagram"


@pytest.mark.parametrize("datagram", [bytes.fromhex(c.replace(" ", "")) for c in CRAFTED])
def test_work_stays_within_what_the_datagram_implies(twin, datagram):
    """No crafted count or length makes the decoder loop: its calls are bounded by the datagram's size."""
    calls = 0

    def count(_frame, event, _arg):
        nonlocal calls
        calls += event in ("call", "c_call")

    with codec_on(twin):
        sys.setprofile(count)
        try:
            _decode_or_codec_error(datagram)
        finally:
            sys.setprofile(None)
    assert 0 < calls <= 20 * len(datagram) + 1_000, f"{calls} calls for a {len(datagram)}-byte datagram"


def test_harness_sees_foreign_exceptions(monkeypatch):
    """Negative control: a decoder leaking anything but ``CodecError`` fails the fuzz harness."""

    def leaky(_datagram: bytes) -> None:
        raise IndexError("leak")

    monkeypatch.setattr(codec, "decode", leaky)
    with pytest.raises(IndexError):
        _decode_or_codec_error(SAMPLES[0])


def test_memory_check_can_fail():
    """Negative control: the same measurement sees an allocation the datagram does not justify."""
    tracemalloc.start()
    try:
        blob = bytearray(1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del blob
    assert peak > 4 * (10 * 10 + 300) + 64 * 1024
