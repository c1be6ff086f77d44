"""Where a release is counted from (the cause's receipt) and what the shaper does with a late wake-up.

Virtual clock only: the receipt anchor and the deferral are exact arithmetic there. How late real wake-ups
are, and whether their phase shows, is measured by ``python -m mule bench constancy`` (docs/constancy.md).
"""

from __future__ import annotations

import numpy as np
import pytest
from shaper_stats import assert_delays_follow_law, make_rig

from mule.clock import VirtualClock
from mule.contract.profile import PROFILE_V2
from mule.shaper import Kind, Outcome, Release, Shaper
from mule.shaper.shaper import RETRIES
from mule.transport.interface import Transport

SEED = b"shaper-handoff".ljust(32, b".")
WORK = 0.3
"""Seconds the node spends between receiving a request and submitting its reply (a starved host, a full table)."""


class SubmitAnchoredShaper(Shaper):
    """Leaky: ignores the receipt and counts the delay from submit, so the node's work time adds to every delay."""

    def submit(self, destination: bytes, payload: bytes, kind: Kind, *, received: float | None = None) -> None:
        super().submit(destination, payload, kind)


def _replies_after_slow_work(factory: type[Shaper]) -> np.ndarray:
    rig = make_rig(PROFILE_V2, SEED, factory)
    received = []
    for index in range(2000):
        receipt = rig.clock.now()
        received.append(receipt)
        rig.clock.advance(WORK)  # the work happens between receipt and submit
        rig.shaper.submit(b"peer-%d" % index, index.to_bytes(2, "big"), Kind.RESPONSE, received=receipt)
    rig.clock.advance(10.0)
    by_payload = {payload: at for at, _destination, payload in rig.wire}
    return np.asarray([by_payload[index.to_bytes(2, "big")] - received[index] for index in range(2000)])


def test_a_reply_is_counted_from_its_request_s_receipt_not_from_submit() -> None:
    delays = _replies_after_slow_work(Shaper)
    assert_delays_follow_law(delays, PROFILE_V2)  # the 0.3 s of work is invisible: receipt + one draw


def test_negative_control_a_delay_counted_from_submit_is_caught() -> None:
    delays = _replies_after_slow_work(SubmitAnchoredShaper)
    assert delays.min() >= PROFILE_V2.delay.base + WORK - 1e-9  # every reply carries the work time ...
    try:
        assert_delays_follow_law(delays, PROFILE_V2)
    except AssertionError:
        return  # ... and the law check sees it
    raise AssertionError("a delay counted from submit went unnoticed")


def test_work_longer_than_the_bound_means_the_reply_is_dropped() -> None:
    rig = make_rig(PROFILE_V2, SEED)
    receipt = rig.clock.now()
    rig.clock.advance(PROFILE_V2.max_delay + 0.1)  # the host was stalled past the whole bound
    rig.shaper.submit(b"peer", b"too late", Kind.RESPONSE, received=receipt)
    rig.clock.advance(10.0)
    assert rig.wire == [] and rig.shaper.counters.expired == 1


class RefusingClock(VirtualClock):
    """A clock that finds the first ``refusals`` wake-ups late (as a contended host would) and names a new aim."""

    def __init__(self, start: float, refusals: int, step: float) -> None:
        super().__init__(start)
        self.refusals = refusals
        self.step = step
        self.asked: list[float] = []

    def retry_at(self, aim: float) -> float | None:
        self.asked.append(aim)
        if self.refusals <= 0:
            return None
        self.refusals -= 1
        return self.now() + self.step


def test_a_late_wake_up_is_deferred_to_the_clock_s_new_aim_and_still_sent_in_time() -> None:
    clock = RefusingClock(1000.0, refusals=RETRIES, step=0.0007)
    rig = make_rig(PROFILE_V2, SEED, clock=clock)
    rig.shaper.submit(b"peer", b"once", Kind.RESPONSE)
    planned = rig.shaper._queue.next_due()
    assert planned is not None
    clock.advance(10.0)
    assert [payload for _at, _d, payload in rig.wire] == [b"once"]
    sent_at = rig.wire[0][0]
    assert clock.asked == pytest.approx([planned, planned + 0.0007])  # refused twice (RETRIES), then taken
    assert sent_at == pytest.approx(planned + 0.0014) and sent_at <= planned + PROFILE_V2.deadline_slack
    assert [r.outcome for r in rig.releases] == [Outcome.SENT] and rig.releases[0].planned == planned


def test_a_busy_loop_s_late_wake_ups_are_refused_only_so_often_then_the_message_leaves() -> None:
    clock = RefusingClock(1000.0, refusals=10**6, step=0.0009)  # every wake-up late, as on a loop that is busy
    rig = make_rig(PROFILE_V2, SEED, clock=clock)
    for index in range(50):
        rig.shaper.submit(b"peer-%d" % index, bytes([index]), Kind.RESPONSE)
    clock.advance(10.0)
    assert len(rig.wire) == 50 and rig.shaper.counters.expired == 0  # load is not turned into loss
    assert len(clock.asked) == 50 * RETRIES  # each refused exactly RETRIES times, then taken
    assert all(r.actual == pytest.approx(r.planned + RETRIES * 0.0009) for r in rig.releases)


def test_deferral_never_outlives_the_deadline() -> None:
    step = PROFILE_V2.deadline_slack / RETRIES + 0.001  # the refusals alone run past the deadline
    clock = RefusingClock(1000.0, refusals=10**6, step=step)
    rig = make_rig(PROFILE_V2, SEED, clock=clock)
    for index in range(50):
        rig.shaper.submit(b"peer-%d" % index, bytes([index]), Kind.RESPONSE)
    clock.advance(10.0)
    assert rig.wire == [] and rig.shaper.counters.expired == 50 and rig.shaper.queued_messages == 0
    assert all(r.outcome is Outcome.EXPIRED for r in rig.releases)


# --- a transport with a release thread ------------------------------------------------------------------------

LEAD = 0.003


class ReleasingTransport(Transport):
    """Records each hand-over: (instant handed over, instant to leave at, payload), as a release thread gets them."""

    release_lead = LEAD

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.handed: list[tuple[float, float | None, bytes]] = []

    local_destination = stream_destination = b"me"

    async def open(self) -> None: ...

    async def receive(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def close(self) -> None: ...

    def _send_datagram(self, destination: bytes, payload: bytes, at: float | None = None) -> None:
        self.handed.append((self.clock.now(), at, payload))


def _leading(clock: VirtualClock, count: int = 200) -> tuple[Shaper, ReleasingTransport, list[Release]]:
    transport = ReleasingTransport(clock)
    releases: list[Release] = []
    shaper = Shaper(transport, clock, PROFILE_V2, seed=SEED, observer=releases.append)
    for index in range(count):
        shaper.submit(b"peer-%d" % index, index.to_bytes(2, "big"), Kind.RESPONSE)
        clock.advance(0.01)
    clock.advance(10.0)
    return shaper, transport, releases


def test_with_a_release_thread_each_message_is_handed_over_early_for_the_instant_it_would_leave_at() -> None:
    rig = make_rig(PROFILE_V2, SEED)  # the same seed and submissions, handed off at the instant itself
    for index in range(200):
        rig.shaper.submit(b"peer-%d" % index, index.to_bytes(2, "big"), Kind.RESPONSE)
        rig.clock.advance(0.01)
    rig.clock.advance(10.0)
    clock = RefusingClock(1000.0, refusals=10**6, step=0.0009)  # every wake-up late: the lead makes it moot
    _, transport, _ = _leading(clock)
    assert [(at, payload) for _now, at, payload in transport.handed] == [(at, p) for at, _d, p in rig.wire]
    assert all(now == pytest.approx(at - LEAD) for now, at, _payload in transport.handed)
    assert clock.asked == []  # no wake-up is refused: the release thread keeps the instant


class LateClock(VirtualClock):
    """Every timer fires ``late`` seconds after its time, as on a loop too busy for the release lead."""

    def __init__(self, start: float, late: float) -> None:
        super().__init__(start)
        self.late = late

    def call_at(self, when: float, callback):  # type: ignore[no-untyped-def]
        return super().call_at(when + self.late, callback)


def test_a_loop_later_than_the_lead_hands_over_for_now_never_for_an_instant_already_past() -> None:
    shaper, transport, releases = _leading(LateClock(1000.0, late=LEAD + 0.002))
    assert len(transport.handed) == 200 and shaper.counters.expired == 0
    assert all(now <= at <= now + LEAD for now, at, _payload in transport.handed)  # 2 ms late, within the deadline
    assert sum(at == now for now, at, _payload in transport.handed) >= 100  # many were past their instant
    assert all(r.actual >= r.planned for r in releases)  # never handed over for an instant before its own


def test_a_loop_later_than_the_deadline_hands_over_nothing_past_it() -> None:
    shaper, transport, releases = _leading(LateClock(1000.0, late=LEAD + PROFILE_V2.deadline_slack + 0.001))
    sent = [r for r in releases if r.outcome is Outcome.SENT]
    assert shaper.counters.expired > 0 and len(sent) + shaper.counters.expired == 200
    assert all(r.actual <= r.planned + PROFILE_V2.deadline_slack for r in sent)
    assert [at for _now, at, _payload in transport.handed] == [r.actual for r in sent]
