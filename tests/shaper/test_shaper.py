"""The shaper's API as the node uses it: submit, admit, activity caps, retries, lateness, close, replay."""

from __future__ import annotations

import numpy as np
import pytest
from shaper_stats import make_rig, open_endpoint

from mule.clock import VirtualClock
from mule.contract.profile import PING, PROFILE_V2, profile_for_tests
from mule.shaper import Kind, Outcome, Shaper, WindowCap
from mule.shaper.lateness import LatenessLog
from mule.transport.interface import SenderAlreadyClaimed
from mule.transport.memory import MemoryHub

SEED = b"shaper-api".ljust(32, b".")


def test_submit_tells_the_caller_nothing_and_counts_everything() -> None:
    rig = make_rig(profile_for_tests(global_send=WindowCap(3, 60.0)), SEED)
    for index in range(5):
        assert rig.shaper.submit(b"peer", bytes([index]), Kind.REQUEST) is None
    rig.clock.advance(10.0)
    counters = rig.shaper.counters
    assert (counters.submitted, counters.sent, counters.capped) == (5, 3, 2)
    assert len(rig.wire) == 3
    assert sorted(r.outcome.value for r in rig.releases) == ["capped", "capped", "sent", "sent", "sent"]


def test_responses_are_capped_per_peer_at_release() -> None:
    rig = make_rig(profile_for_tests(responses_per_peer=WindowCap(2, 60.0)), SEED)
    for index in range(4):
        rig.shaper.submit(b"greedy", bytes([index]), Kind.RESPONSE)
        rig.shaper.submit(b"modest", bytes([index]), Kind.REQUEST)  # requests are not capped per peer
    rig.clock.advance(10.0)
    sent_to = [destination for _at, destination, _payload in rig.wire]
    assert sent_to.count(b"greedy") == 2 and sent_to.count(b"modest") == 4


def test_admit_counts_each_reason_without_telling_the_caller_which() -> None:
    rig = make_rig(profile_for_tests(inbound={PING: WindowCap(1, 60.0)}), SEED)
    shaper = rig.shaper
    assert shaper.admit(b"p", PING) is True
    assert shaper.admit(b"p", PING) is False
    assert shaper.admit(b"p", None) is False
    assert shaper.admit(b"p", PING, malformed=True) is False
    counters = shaper.counters
    assert (counters.admitted, counters.over_cap, counters.unknown, counters.generic_failures) == (1, 1, 1, 1)
    rig.clock.advance(10.0)
    assert [r.outcome for r in rig.releases] == [Outcome.VOID] * 3 and rig.wire == []


def test_lookups_and_publishes_are_capped_per_window() -> None:
    rig = make_rig(profile_for_tests(lookups=WindowCap(2, 60.0), publishes=WindowCap(1, 60.0)), SEED)
    shaper, clock = rig.shaper, rig.clock
    assert [shaper.start_lookup() for _ in range(3)] == [True, True, False]
    assert [shaper.start_publish() for _ in range(2)] == [True, False]
    clock.advance(60.0)
    assert shaper.start_lookup() and shaper.start_publish()


def test_retry_delays_are_jittered_and_never_immediate() -> None:
    shaper = make_rig(PROFILE_V2, SEED).shaper
    delays = np.array([shaper.retry_delay() for _ in range(2000)])
    law = PROFILE_V2.retry
    assert delays.min() >= law.base and delays.max() <= law.high
    assert np.unique(delays).size == delays.size


def test_lateness_is_recorded_per_hand_off() -> None:
    rig = make_rig(profile_for_tests(global_send=WindowCap(1, 60.0)), SEED)
    for index in range(3):
        rig.shaper.submit(b"peer", bytes([index]), Kind.REQUEST)
    rig.clock.advance(10.0)
    assert rig.shaper.lateness.count == 1  # capped messages are never handed off
    assert rig.shaper.lateness.quantiles() == (0.0, 0.0)  # the virtual clock is never late


def test_lateness_log_keeps_a_fixed_ring() -> None:
    log = LatenessLog(capacity=4)
    assert log.quantiles() == (0.0, 0.0)
    for lateness in (0.5, 0.001, 0.002, 0.003, 0.004, 0.005):
        log.record(10.0, 10.0 + lateness)
    assert log.count == 6 and log.max_seen == 0.5
    assert sorted(log.samples().round(6)) == [0.002, 0.003, 0.004, 0.005]
    assert log.quantiles((0.0, 1.0)) == pytest.approx((0.002, 0.005))


def test_close_drops_the_queue_and_ignores_later_input() -> None:
    rig = make_rig(PROFILE_V2, SEED)
    rig.shaper.submit(b"peer", b"late", Kind.REQUEST)
    rig.shaper.close()
    assert rig.shaper.queued_messages == 0
    rig.shaper.submit(b"peer", b"after", Kind.REQUEST)
    assert rig.shaper.admit(b"peer", PING) is False
    assert not rig.shaper.start_lookup() and not rig.shaper.start_publish()
    rig.clock.advance(10.0)
    assert rig.wire == [] and rig.clock.pending() == 0


def test_a_seed_replays_every_stream() -> None:
    def run() -> list[tuple[float, bytes]]:
        rig = make_rig(PROFILE_V2, SEED)
        for index in range(50):
            rig.shaper.submit(b"peer-%d" % index, bytes([index]), Kind.RESPONSE)
        rig.clock.advance(10.0)
        return [(at, payload) for at, _destination, payload in rig.wire]

    assert run() == run()


def test_only_one_shaper_per_transport() -> None:
    transport = open_endpoint(MemoryHub())
    Shaper(transport, VirtualClock())
    with pytest.raises(SenderAlreadyClaimed):
        Shaper(transport, VirtualClock())
