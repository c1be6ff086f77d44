"""The costliest datagrams: accepted exactly as iMule accepts them, and decoded with bounded work.

Work is counted, not timed: the Python-level calls one decode makes. The compiled twin checks lists and
trees in C, so its count is a small constant whatever the datagram holds; the pure twin's count is linear in
the payload, which iMule's inflate buffer bounds. Wall-clock figures are in bench/test_bench_codec.py.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest
from hostile import INFLATED_MAX, WORST, tree_terms
from kad_twins import codec_on

from mule.kad import codec
from mule.kad.envelope import MAX_DATAGRAM, unframe
from mule.kad.message import ReceivedEntries
from mule.kad.search_expr import ReceivedExpression

COMPILED_CALLS = 40  # decode's fixed path: unframe, one Reader, a few fields, one scan, one wrapper
PURE_CALLS_PER_BYTE = 4  # the pure scan: a handful of calls per term or tag, each at least 2 bytes


def _calls(action: Callable[[], object]) -> int:
    calls = 0

    def count(_frame, event, _arg):
        nonlocal calls
        calls += event in ("call", "c_call")

    sys.setprofile(count)
    try:
        action()
    finally:
        sys.setprofile(None)
    return calls


def test_worst_datagrams_fill_a_datagram_and_imules_buffer():
    for datagram in WORST.values():
        assert len(datagram) == MAX_DATAGRAM
    assert len(unframe(WORST["packed SEARCH_KEY_REQ tree"])[1]) == INFLATED_MAX
    assert tree_terms(INFLATED_MAX - 18) > 30_000  # what a depth bound alone lets through


@pytest.mark.parametrize("name", list(WORST))
def test_worst_datagrams_are_accepted(twin, name):
    """Each is valid for iMule (depth <= 24, every tag and count well-formed), so mule must take it too."""
    with codec_on(twin):
        message = codec.decode(WORST[name])
    lazy = getattr(message, "expression", None) or getattr(message, "results", None) or message.entries
    assert isinstance(lazy, ReceivedExpression | ReceivedEntries)


@pytest.mark.parametrize("name", list(WORST))
def test_decode_work_is_bounded(twin, name):
    datagram = WORST[name]
    with codec_on(twin):
        calls = _calls(lambda: codec.decode(datagram))
    if twin.implementation == "cython":
        assert calls <= COMPILED_CALLS, f"{calls} calls: per-item work in the compiled decode path"
    else:
        assert calls <= PURE_CALLS_PER_BYTE * len(unframe(datagram)[1]), f"{calls} calls"


def test_call_count_sees_per_item_work(twin):
    """Negative control: building the typed tree, which the decoder defers, is per-term work the count catches."""
    with codec_on(twin):
        message = codec.decode(WORST["plain SEARCH_KEY_REQ tree"])
        assert _calls(lambda: message.expression.tree) > 100 * COMPILED_CALLS
