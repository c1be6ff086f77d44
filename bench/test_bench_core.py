"""Core hot paths, compiled twin vs pure-Python twin.

Targets (recorded, not asserted: machines are shared and noisy): closest-10 among
100,000 IDs under 2 ms with the compiled core; the routing table's filtered
closest-10 (verified, type <= 2) within ~3x of one XOR pass over the ID column.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from mule._core.columns import id_columns
from mule.routing.columns import ContactColumns

FRAME_BYTES = 4096


@pytest.fixture(scope="module")
def hundred_thousand_ids():
    values = [int.from_bytes(os.urandom(16), "big") for _ in range(100_000)]
    return id_columns(values)


@pytest.mark.benchmark(group="closest-10 of 100k ids")
def test_closest_10_of_100k(benchmark, core_twin, hundred_thousand_ids):
    hi, lo = hundred_thousand_ids
    target = int.from_bytes(os.urandom(16), "big")
    result = benchmark(core_twin.closest_k, hi, lo, target, 10)
    assert len(result) == 10


ROUTING_GROUP = "routing closest-10 of 100k ids vs one XOR pass"


@pytest.mark.benchmark(group=ROUTING_GROUP)
def test_xor_pass_100k(benchmark, hundred_thousand_ids):
    """The yardstick: one XOR of both halves of the ID column with a target."""
    hi, lo = hundred_thousand_ids
    target = int.from_bytes(os.urandom(16), "big")
    t_hi, t_lo = np.uint64(target >> 64), np.uint64(target & ((1 << 64) - 1))
    benchmark(lambda: (hi ^ t_hi, lo ^ t_lo))


@pytest.mark.benchmark(group=ROUTING_GROUP)
@pytest.mark.parametrize(
    "classes",
    [pytest.param(range(10), id="all-classes"), pytest.param([5, 6, 7], id="verified-type-le-2")],
)
def test_table_closest_10_of_100k(benchmark, core_twin, hundred_thousand_ids, classes):
    """The routing table's column store, 100,000 IDs spread over its ten (verified, type) classes: the filter
    picks whole columns, so the filtered query costs no more than the unfiltered one."""
    hi, lo = hundred_thousand_ids
    columns = ContactColumns(10, core_twin.closest_k)
    for n, (h, w) in enumerate(zip(hi.tolist(), lo.tolist(), strict=True)):
        columns.put((h << 64) | w, n % 10)
    target = int.from_bytes(os.urandom(16), "big")
    assert len(benchmark(columns.closest, target, 10, classes)) == 10


@pytest.mark.benchmark(group="1e5 jitter draws")
def test_jitter_draws(benchmark, core_twin):
    sampler = core_twin.JitterSampler(1.0, 2.0)
    draw = sampler.draw

    def draws():
        for _ in range(100_000):
            draw()

    benchmark(draws)


def _frame_fields():
    """A 4 KiB frame of mixed fields: 64 records of u8, u16, u32, u64, id, 30-byte string, 1 raw byte."""
    return [(i & 0xFF, i, i * 7, i << 40, (i << 100) | i, bytes(30), b"\x00") for i in range(64)]


@pytest.mark.benchmark(group="write a 4 KiB frame")
def test_write_frame(benchmark, core_twin):
    fields = _frame_fields()

    def write():
        writer = core_twin.Writer()
        for a, b, c, d, e, f, g in fields:
            writer.u8(a)
            writer.u16(b)
            writer.u32(c)
            writer.u64(d)
            writer.uint128(e)
            writer.string(f)
            writer.raw(g)
        return writer.getvalue()

    assert len(benchmark(write)) == FRAME_BYTES


@pytest.mark.benchmark(group="read a 4 KiB frame")
def test_read_frame(benchmark, core_twin):
    writer = core_twin.Writer()
    for a, b, c, d, e, f, g in _frame_fields():
        writer.u8(a)
        writer.u16(b)
        writer.u32(c)
        writer.u64(d)
        writer.uint128(e)
        writer.string(f)
        writer.raw(g)
    frame = writer.getvalue()

    def read():
        reader = core_twin.Reader(frame)
        for _ in range(64):
            reader.u8()
            reader.u16()
            reader.u32()
            reader.u64()
            reader.uint128()
            reader.string()
            reader.raw(1)
        return reader.remaining()

    assert benchmark(read) == 0
