"""Hard caps: exact sliding windows, per-key tables in bounded memory, and the inbound gate's verdicts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shaper_stats import most_in_any_window

from mule.contract.profile import HELLO_REQ, PING, PROFILE_V1, profile_for_tests
from mule.shaper import WindowCap
from mule.shaper.caps import KeyedWindows, SlidingWindow
from mule.shaper.gate import InboundGate, Verdict

gaps = st.lists(st.floats(0.0, 3.0, allow_nan=False), min_size=1, max_size=200)
caps = st.builds(WindowCap, st.integers(1, 6), st.floats(0.5, 10.0))


def event_times(gap_list: list[float]) -> list[float]:
    return np.cumsum(gap_list).tolist()


@given(caps, gaps)
def test_sliding_window_admits_exactly_what_fits(cap: WindowCap, gap_list: list[float]) -> None:
    """Never more than ``limit`` in any window, and a refusal happens only when the window is really full."""
    window = SlidingWindow(cap)
    admitted: list[float] = []
    for now in event_times(gap_list):
        room = window.has_room(now)
        allowed = window.allow(now)
        assert room == allowed
        inside = sum(1 for t in admitted if now - t < cap.window)  # the window (now - window, now]
        assert allowed == (inside < cap.limit)
        if allowed:
            admitted.append(now)


@given(caps, gaps, st.lists(st.integers(0, 3), min_size=200, max_size=200))
def test_keyed_windows_are_independent_sliding_windows(cap: WindowCap, gap_list: list[float], keys: list[int]) -> None:
    keyed = KeyedWindows(cap, max_keys=10)
    reference = {key: SlidingWindow(cap) for key in range(4)}
    for now, key in zip(event_times(gap_list), keys, strict=False):
        assert keyed.allow(key, now) == reference[key].allow(now)


def test_keyed_windows_forget_idle_keys_and_fail_closed_when_full() -> None:
    keyed = KeyedWindows(WindowCap(2, 60.0), max_keys=3)
    for key in "abc":
        assert keyed.allow(key, 0.0)
    assert not keyed.allow("d", 30.0)  # table full of live keys: a new key is refused, nobody is evicted
    assert len(keyed) == 3
    assert keyed.allow("a", 30.0) and not keyed.allow("a", 31.0)  # "a" kept its count
    assert keyed.allow("d", 60.0)  # "b" and "c" went idle at 60 s and were forgotten
    assert len(keyed) == 2


def test_most_in_any_window_counts_half_open_windows() -> None:
    assert most_in_any_window(np.asarray([0.0, 1.0, 2.0, 2.5]), 2.0) == 3  # (0.5, 2.5] holds 1.0, 2.0, 2.5
    assert most_in_any_window(np.asarray([0.0, 2.0, 4.0]), 2.0) == 1
    assert most_in_any_window(np.asarray([]), 2.0) == 0


def test_window_cap_rejects_nonsense() -> None:
    for limit, window in ((0, 1.0), (1, 0.0), (1, float("inf")), (1, float("nan"))):
        with pytest.raises(ValueError):
            WindowCap(limit, window)


def test_gate_verdicts() -> None:
    gate = InboundGate(profile_for_tests(inbound={PING: WindowCap(2, 60.0)}))
    assert gate.check(0.0, b"p", PING, malformed=False) is Verdict.ADMIT
    assert gate.check(0.0, b"p", PING, malformed=False) is Verdict.ADMIT
    assert gate.check(1.0, b"p", PING, malformed=False) is Verdict.OVER_CAP
    assert gate.check(1.0, b"q", PING, malformed=False) is Verdict.ADMIT  # per peer
    assert gate.check(60.0, b"p", PING, malformed=False) is Verdict.ADMIT  # the window slid
    assert gate.check(1.0, b"p", None, malformed=False) is Verdict.UNKNOWN
    assert gate.check(1.0, b"p", PING, malformed=True) is Verdict.MALFORMED
    for _ in range(100):  # responses (opcodes without a limit) are never limited, as in iMule
        assert gate.check(1.0, b"p", 0x1F, malformed=False) is Verdict.ADMIT
    assert gate.tracked() == 2


def test_gate_uses_imule_flood_limits_per_opcode() -> None:
    gate = InboundGate(PROFILE_V1)
    verdicts = [gate.check(0.0, b"p", HELLO_REQ, malformed=False) for _ in range(4)]
    assert verdicts == [Verdict.ADMIT] * 3 + [Verdict.OVER_CAP]  # iMule: HELLO_REQ 3 per minute
