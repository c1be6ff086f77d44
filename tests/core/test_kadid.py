"""Kad IDs: wire form, MD4 form, distance, and closest-k against a brute-force sort (both twins)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mule._core.columns import id_columns
from mule._core.errors import FramingError

ids = st.integers(min_value=0, max_value=(1 << 128) - 1)


def test_wire_form_is_four_little_endian_words_most_significant_first(twin):
    value = 0x00112233_44556677_8899AABB_CCDDEEFF
    assert twin.id_to_wire(value) == bytes.fromhex("3322110077665544BBAA9988FFEEDDCC")
    assert twin.id_from_wire(bytes.fromhex("3322110077665544BBAA9988FFEEDDCC")) == value


def test_md4_form_loads_each_word_big_endian(twin):
    digest = bytes(range(16))
    value = twin.id_from_md4(digest)
    assert value == int.from_bytes(digest, "big")
    # On the wire that is the digest with every 4-byte group reversed.
    assert twin.id_to_wire(value) == bytes([3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12])


@given(value=ids, prefix=st.binary(max_size=8))
def test_wire_round_trip_at_offset(twin, value, prefix):
    assert twin.id_from_wire(prefix + twin.id_to_wire(value), len(prefix)) == value


@pytest.mark.parametrize("data,offset", [(b"", 0), (bytes(15), 0), (bytes(16), 1), (bytes(16), -1)])
def test_short_wire_input_raises_framing_error(twin, data, offset):
    with pytest.raises(FramingError):
        twin.id_from_wire(data, offset)


@pytest.mark.parametrize("value", [-1, 1 << 128, 1.0, None])
def test_out_of_range_id_raises_framing_error(twin, value):
    with pytest.raises(FramingError):
        twin.id_to_wire(value)


@given(a=ids, b=ids, target=ids)
def test_distance_prefix_and_compare(twin, a, b, target):
    assert twin.xor_distance(a, b) == a ^ b
    prefix = twin.common_prefix_length(a, b)
    assert 0 <= prefix <= 128
    assert (a >> (128 - prefix)) == (b >> (128 - prefix))
    if prefix < 128:
        assert (a >> (127 - prefix)) != (b >> (127 - prefix))
    expected = (a ^ target > b ^ target) - (a ^ target < b ^ target)
    assert twin.compare_distance(target, a, b) == expected


@given(values=st.lists(ids, max_size=300), target=ids, k=st.integers(min_value=0, max_value=40))
def test_closest_k_matches_brute_force_sort(twin, values, target, k):
    hi, lo = id_columns(values)
    expected = sorted(range(len(values)), key=lambda i: (values[i] ^ target, i))[:k]
    assert twin.closest_k(hi, lo, target, k).tolist() == expected


@given(base=ids, target=ids, k=st.integers(min_value=1, max_value=12))
def test_closest_k_breaks_ties_by_index(twin, base, target, k):
    values = [base] * 5 + [base ^ 1] * 5 + [base ^ (1 << 127)] * 5
    hi, lo = id_columns(values)
    expected = sorted(range(len(values)), key=lambda i: (values[i] ^ target, i))[:k]
    assert twin.closest_k(hi, lo, target, k).tolist() == expected


def test_closest_k_rejects_mismatched_columns(twin):
    with pytest.raises(ValueError):
        twin.closest_k(np.zeros(3, dtype=np.uint64), np.zeros(4, dtype=np.uint64), 0, 1)
    with pytest.raises(ValueError):
        twin.closest_k(np.zeros((2, 2), dtype=np.uint64), np.zeros((2, 2), dtype=np.uint64), 0, 1)
