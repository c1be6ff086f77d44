"""Hard caps: exact sliding windows, per-peer leaky buckets in a fixed-size sketch, and the inbound gate's verdicts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mule.contract.profile import HELLO_REQ, PING, PROFILE_V2, profile_for_tests
from mule.contract.stats import most_in_any_window
from mule.shaper import WindowCap
from mule.shaper.caps import SlidingWindow
from mule.shaper.gate import InboundGate, Verdict
from mule.shaper.sketch import RateSketch

SECRET = bytes(32)

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


class LeakyBucket:
    """The reference: one exact per-key bucket, iMule's counter in continuous time (see mule/shaper/sketch.py)."""

    def __init__(self, cap: WindowCap) -> None:
        self.interval = cap.window / cap.limit
        self.limit = cap.limit
        self.arrival = float("-inf")

    def has_room(self, now: float) -> bool:
        return max(self.arrival, now) - now <= (self.limit - 1) * self.interval

    def admit(self, now: float) -> None:
        self.arrival = max(self.arrival, now) + self.interval


@given(caps, gaps, st.lists(st.integers(0, 3), min_size=200, max_size=200))
def test_a_wide_sketch_is_an_exact_bucket_per_key(cap: WindowCap, gap_list: list[float], keys: list[int]) -> None:
    """With room to spare (4 keys in 4 x 65,536 cells) the sketch decides exactly as one bucket per key would."""
    sketch = RateSketch(1 << 16, 4, SECRET)
    reference = {key: LeakyBucket(cap) for key in range(4)}
    for now, key in zip(event_times(gap_list), keys, strict=False):
        expected = reference[key].has_room(now)
        assert sketch.allow(bytes([key]), now, cap) == expected
        if expected:
            reference[key].admit(now)


@given(caps, gaps, st.lists(st.integers(0, 63), min_size=200, max_size=200))
def test_a_crowded_sketch_only_errs_by_refusing(cap: WindowCap, gap_list: list[float], keys: list[int]) -> None:
    """64 keys in 2 x 4 cells collide all the time: the sketch may refuse a key with room, never admit one without."""
    sketch = RateSketch(4, 2, SECRET)
    reference = {key: LeakyBucket(cap) for key in range(64)}
    for now, key in zip(event_times(gap_list), keys, strict=False):
        if sketch.allow(bytes([key]), now, cap):
            assert reference[key].has_room(now)
            reference[key].admit(now)


def test_the_bucket_is_imules_per_minute_counter() -> None:
    """iMule (PacketTracking.cpp): PING allows 2 per minute and forgets one every 30 s; a peer may burst 2."""
    sketch = RateSketch(1 << 10, 4, SECRET)
    ping = PROFILE_V2.inbound[PING]
    allowed = [sketch.allow(b"peer", t, ping) for t in (0.0, 0.0, 1.0, 29.0, 31.0, 31.0, 61.5)]
    assert allowed == [True, True, False, False, True, False, True]
    assert sketch.memory_bytes == 8 * 4 * (1 << 10)


def test_a_sketch_rejects_a_width_that_is_not_a_power_of_two() -> None:
    with pytest.raises(ValueError):
        RateSketch(1000, 4, SECRET)


def test_most_in_any_window_counts_half_open_windows() -> None:
    assert most_in_any_window(np.asarray([0.0, 1.0, 2.0, 2.5]), 2.0) == 3  # (0.5, 2.5] holds 1.0, 2.0, 2.5
    assert most_in_any_window(np.asarray([0.0, 2.0, 4.0]), 2.0) == 1
    assert most_in_any_window(np.asarray([]), 2.0) == 0


def test_window_cap_rejects_nonsense() -> None:
    for limit, window in ((0, 1.0), (1, 0.0), (1, float("inf")), (1, float("nan"))):
        with pytest.raises(ValueError):
            WindowCap(limit, window)


def test_gate_verdicts() -> None:
    gate = InboundGate(profile_for_tests(inbound={PING: WindowCap(2, 60.0)}), SECRET)
    assert gate.check(0.0, b"p", PING, malformed=False) is Verdict.ADMIT
    assert gate.check(0.0, b"p", PING, malformed=False) is Verdict.ADMIT
    assert gate.check(1.0, b"p", PING, malformed=False) is Verdict.OVER_CAP
    assert gate.check(1.0, b"q", PING, malformed=False) is Verdict.ADMIT  # per peer
    assert gate.check(60.0, b"p", PING, malformed=False) is Verdict.ADMIT  # the bucket drained
    assert gate.check(1.0, b"p", None, malformed=False) is Verdict.UNKNOWN
    assert gate.check(1.0, b"p", PING, malformed=True) is Verdict.MALFORMED
    for _ in range(100):  # responses (opcodes without a limit) are never limited, as in iMule
        assert gate.check(1.0, b"p", 0x1F, malformed=False) is Verdict.ADMIT


def test_gate_keys_peers_by_hash_code_as_imule_does() -> None:
    """iMule tracks inbound requests per destination hashCode (its first four bytes), so mule does too."""
    gate = InboundGate(profile_for_tests(inbound={PING: WindowCap(1, 60.0)}), SECRET)
    assert gate.check(0.0, b"abcd-one", PING, malformed=False) is Verdict.ADMIT
    assert gate.check(0.0, b"abcd-two", PING, malformed=False) is Verdict.OVER_CAP
    assert gate.check(0.0, b"abce-one", PING, malformed=False) is Verdict.ADMIT


def test_gate_uses_imule_flood_limits_per_opcode() -> None:
    gate = InboundGate(PROFILE_V2, SECRET)
    verdicts = [gate.check(0.0, b"p", HELLO_REQ, malformed=False) for _ in range(4)]
    assert verdicts == [Verdict.ADMIT] * 3 + [Verdict.OVER_CAP]  # iMule: HELLO_REQ 3 per minute
