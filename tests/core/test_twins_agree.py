"""Differential tests: the compiled and pure-Python twins give identical results or identical errors.

Two twins that disagree are a security bug (aiohttp's parser advisory), so these
feed the same input to both and compare everything that comes out.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mule._core.columns import id_columns

OPS = st.lists(st.sampled_from(["u8", "u16", "u32", "u64", "uint128", "string", "rest", "raw3", "skip2"]), max_size=20)


def _outcome(call):
    try:
        return ("ok", call())
    except Exception as exc:  # the point is to compare whatever comes out
        return ("error", type(exc).__name__)


def _run_reader(twin, data, ops):
    reader = twin.Reader(data)
    calls = {"raw3": lambda: reader.raw(3), "skip2": lambda: reader.skip(2)}
    return [_outcome(calls.get(op, getattr(reader, op, None))) for op in ops] + [reader.offset]


@given(data=st.binary(max_size=200), ops=OPS)
def test_readers_agree_on_arbitrary_bytes(both_twins, data, ops):
    compiled, python = both_twins
    assert _run_reader(compiled, data, ops) == _run_reader(python, data, ops)


@given(
    values=st.lists(st.integers(min_value=-5, max_value=(1 << 130)), max_size=10),
    method=st.sampled_from(["u8", "u16", "u32", "u64", "uint128"]),
)
def test_writers_agree_including_errors(both_twins, values, method):
    compiled, python = both_twins

    def run(twin):
        writer = twin.Writer()
        return [_outcome(lambda v=v: getattr(writer, method)(v)) for v in values] + [writer.getvalue()]

    assert run(compiled) == run(python)


@given(
    values=st.lists(st.integers(0, (1 << 128) - 1), max_size=200),
    target=st.integers(0, (1 << 128) - 1),
    k=st.integers(0, 30),
)
def test_closest_k_agrees(both_twins, values, target, k):
    compiled, python = both_twins
    hi, lo = id_columns(values)
    assert compiled.closest_k(hi, lo, target, k).tolist() == python.closest_k(hi, lo, target, k).tolist()


@given(data=st.binary(min_size=0, max_size=40), offset=st.integers(-2, 40))
def test_id_decoding_agrees(both_twins, data, offset):
    compiled, python = both_twins
    assert _outcome(lambda: compiled.id_from_wire(data, offset)) == _outcome(lambda: python.id_from_wire(data, offset))


@given(seed=st.binary(min_size=32, max_size=32), base=st.floats(0, 100), jitter=st.floats(1e-6, 100))
def test_seeded_jitter_streams_are_bit_identical(both_twins, seed, base, jitter):
    compiled, python = both_twins
    assert compiled.JitterSampler(base, jitter, seed=seed).draw_many(1100).tolist() == (
        python.JitterSampler(base, jitter, seed=seed).draw_many(1100).tolist()
    )
