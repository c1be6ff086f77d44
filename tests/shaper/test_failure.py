"""Contract invariant 4 (failure): unknown, malformed, over-cap and overflow inputs end the same slow, silent way.

The shaper's only observable effects are datagrams on the wire and the moment it
finishes with an input; for a discarded input that moment is its void's release.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from shaper_stats import Rig, ShaperFactory, assert_delays_follow_law, assert_same_distribution, make_rig

from mule.clock import VirtualClock
from mule.contract.profile import PING, profile_for_tests
from mule.shaper import Kind, Outcome, Release, Shaper, WindowCap
from mule.transport.interface import Transport, TransportError

INPUTS = 3000
PEER = b"flooding-peer"
PROFILE = profile_for_tests(
    queue_messages=1,  # so that one filler message makes the next submit overflow
    inbound={PING: WindowCap(1, 1e9)},  # one PING per "forever": every later PING is over the cap
)


def _unknown(rig: Rig) -> None:
    assert rig.shaper.admit(PEER, None) is False


def _malformed(rig: Rig) -> None:
    assert rig.shaper.admit(PEER, PING, malformed=True) is False


def _over_cap(rig: Rig) -> None:
    assert rig.shaper.admit(PEER, PING) is False


def _overflow(rig: Rig) -> None:
    rig.shaper.submit(PEER, b"filler", Kind.RESPONSE)
    rig.shaper.submit(PEER, b"overflow", Kind.RESPONSE)


INPUT_KINDS: dict[str, Callable[[Rig], None]] = {
    "unknown": _unknown,
    "malformed": _malformed,
    "over-cap": _over_cap,
    "overflow": _overflow,
}


def discard_delays(feed: Callable[[Rig], None], seed: bytes, factory: ShaperFactory = Shaper) -> tuple[np.ndarray, Rig]:
    """Feed INPUTS inputs one at a time at random phases; measure input -> void release."""
    rig = make_rig(PROFILE, seed, factory)
    rig.shaper.admit(PEER, PING)  # uses up the PING cap
    rng = np.random.default_rng(int.from_bytes(seed[:4], "big"))
    delays = []
    for _ in range(INPUTS):
        rig.clock.advance(rng.uniform(0.0, 0.05))
        fed_at = rig.clock.now()
        seen = len(rig.releases)
        feed(rig)
        rig.clock.advance(PROFILE.max_delay + 0.01)
        voids = [r for r in rig.releases[seen:] if r.outcome is Outcome.VOID]
        assert len(voids) == 1
        delays.append(voids[0].actual - fed_at)
    return np.asarray(delays), rig


def all_discard_delays(factory: ShaperFactory = Shaper) -> dict[str, np.ndarray]:
    return {
        name: discard_delays(feed, seed=name.encode().ljust(32, b"."), factory=factory)[0]
        for name, feed in INPUT_KINDS.items()
    }


class FastFailure(Shaper):
    """Leaky: malformed input is dropped at once (a "fast failure path")."""

    def admit(self, source: bytes, opcode: int | None, *, malformed: bool = False) -> bool:
        if malformed:
            now = self._clock.now()
            self.counters.generic_failures += 1
            self._observer(Release(Outcome.VOID, now, now, None))  # type: ignore[misc]
            return False
        return super().admit(source, opcode, malformed=malformed)


def test_discarded_inputs_share_one_timing_distribution_which_is_the_delay_law() -> None:
    delays = all_discard_delays()
    assert_same_distribution(delays)
    for sample in delays.values():
        assert_delays_follow_law(sample, PROFILE)


def test_negative_control_a_fast_failure_path_is_caught() -> None:
    with pytest.raises(AssertionError, match="distinguishable"):
        assert_same_distribution(all_discard_delays(FastFailure))


@pytest.mark.parametrize("name", INPUT_KINDS)
def test_discarded_inputs_put_nothing_on_the_wire(name: str) -> None:
    _delays, rig = discard_delays(INPUT_KINDS[name], seed=bytes(32))
    payloads = {payload for _at, _destination, payload in rig.wire}
    assert payloads <= {b"filler"}  # only the overflow case sends anything: its fillers, never the overflow
    assert (name == "overflow") == bool(payloads)
    counters = rig.shaper.counters
    expected = {"unknown": counters.unknown, "malformed": counters.generic_failures, "over-cap": counters.over_cap}
    assert expected.get(name, counters.overflowed) == INPUTS


# --- transport failure is congestion --------------------------------------------------------------------------


class FlakyTransport(Transport):
    """Refuses every datagram, or raises an unexpected error once; counts attempts."""

    def __init__(self, error: Exception) -> None:
        self.attempts: list[tuple[bytes, bytes]] = []
        self._error: Exception | None = error

    @property
    def local_destination(self) -> bytes:
        return b"me"

    @property
    def stream_destination(self) -> bytes:
        return b"my streams"

    async def open(self) -> None: ...

    async def receive(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def close(self) -> None: ...

    def _send_datagram(self, destination: bytes, payload: bytes, at: float | None = None) -> None:
        self.attempts.append((destination, payload))
        error = self._error
        if isinstance(error, RuntimeError):
            self._error = None  # unexpected errors happen once; TransportError stays
        if error is not None:
            raise error


def test_transport_error_is_congestion_no_retry_and_no_distinct_timing() -> None:
    clock = VirtualClock()
    transport = FlakyTransport(TransportError("down"))
    releases: list[Release] = []
    shaper = Shaper(transport, clock, PROFILE, seed=bytes(32), observer=releases.append)
    shaper.submit(b"unreachable", b"hello", Kind.REQUEST)
    clock.advance(3600.0)
    assert transport.attempts == [(b"unreachable", b"hello")]  # handed off once, at its release, never again
    assert [r.outcome for r in releases] == [Outcome.CONGESTED]
    assert PROFILE.delay.base <= releases[0].actual <= PROFILE.max_delay
    assert shaper.counters.congested == 1 and shaper.counters.sent == 0
    assert clock.pending() == 0  # no retry timer left behind
    assert shaper.queued_messages == 0 and shaper.queued_bytes == 0


def test_an_unexpected_transport_exception_does_not_stall_later_rounds() -> None:
    clock = VirtualClock()
    transport = FlakyTransport(RuntimeError("bug"))
    shaper = Shaper(transport, clock, profile_for_tests(), seed=bytes(32))
    for index in range(20):  # spread over many rounds
        shaper.submit(b"a", bytes([index]), Kind.REQUEST)
    with pytest.raises(RuntimeError):
        clock.advance(10.0)
    clock.advance(10.0)  # no new submit: the later rounds must still have been armed
    assert len(transport.attempts) > 10
    assert shaper.queued_messages == 0
