"""Request tracking against iMule 2.3.3.3's ``src/kademlia/net/PacketTracking.cpp``, keyed on the whole destination."""

from __future__ import annotations

import tracemalloc

import pytest

from mule.kad.opcodes import Op
from mule.node.tracking import MAX_TRACKED, TRACK_SECONDS, Pending, RequestTracker
from mule.transport.memory import random_destination
from tests.node.peers import dest, kad_id

PEER = dest(0x5EED)
CHALLENGE = Pending(kad_id(1), 5, legacy_challenge=True)


def test_a_response_is_accepted_only_from_the_exact_destination_not_one_sharing_its_hash_code():
    """Regression (issue 9, forged answers): iMule's IsOnOutTrackList matches the 4-byte hashCode only, so a
    destination ground to share a seed's first 4 bytes could answer for it. mule matches the whole destination."""
    tracker = RequestTracker()
    tracker.expect(PEER, Op.BOOTSTRAP_REQ, 0.0)
    forged = PEER[:4] + random_destination()[4:]
    assert forged[:4] == PEER[:4] and forged != PEER
    assert tracker.consume(forged, Op.BOOTSTRAP_RES, 1.0) == (False, None)
    assert tracker.consume(PEER, Op.BOOTSTRAP_RES, 1.0) == (True, None)


@pytest.mark.parametrize(
    ("request_", "wrong", "right"),
    [
        (Op.HELLO_REQ, Op.BOOTSTRAP_RES, Op.HELLO_RES),
        (Op.HELLO_RES, Op.HELLO_RES, Op.HELLO_RES_ACK),
        (Op.BOOTSTRAP_REQ, Op.KAD1_BOOTSTRAP_RES, Op.BOOTSTRAP_RES),
        (Op.PING, Op.HELLO_RES_ACK, Op.PONG),
        (Op.KAD1_HELLO_REQ, Op.HELLO_RES, Op.KAD1_HELLO_RES),
    ],
)
def test_a_response_is_accepted_only_for_the_tracked_request(request_: int, wrong: int, right: int):
    """CHECK_TRACKED_PACKET(opcode): each response names the request opcode it must answer."""
    tracker = RequestTracker()
    tracker.expect(PEER, request_, 0.0)
    assert tracker.consume(PEER, wrong, 1.0) == (False, None)
    assert tracker.consume(PEER, right, 1.0) == (True, None)


@pytest.mark.parametrize(("request_", "response"), [(Op.KADEMLIA_REQ, Op.KADEMLIA_RES), (Op.KAD1_REQ, Op.KAD1_RES)])
def test_a_lookup_answer_is_accepted_only_for_the_tracked_target(request_: int, response: int):
    """ProcessKademlia2Response: the answer repeats the target; mule also requires it to be the one asked."""
    tracker = RequestTracker()
    tracker.expect(PEER, request_, 0.0, target=kad_id(7))
    tracker.expect(PEER, request_, 0.0, target=kad_id(8))
    assert tracker.consume(PEER, response, 1.0, target=kad_id(9)) == (False, None)
    assert tracker.consume(PEER, response, 1.0, target=kad_id(8)) == (True, None)
    assert tracker.consume(PEER, response, 1.0, target=kad_id(7)) == (True, None)


def test_responses_are_accepted_under_180_seconds_as_iMule():
    """IsOnOutTrackList: ``now - inserted < SEC2MS(180)``; at 180 s the entry is gone."""
    tracker = RequestTracker()
    tracker.expect(PEER, Op.HELLO_REQ, 10.0)
    assert tracker.outstanding(PEER, Op.HELLO_REQ, 10.0 + TRACK_SECONDS - 0.001)
    assert not tracker.outstanding(PEER, Op.HELLO_REQ, 10.0 + TRACK_SECONDS)
    assert tracker.consume(PEER, Op.HELLO_RES, 10.0 + TRACK_SECONDS) == (False, None)
    tracker.expect(PEER, Op.HELLO_REQ, 10.0)
    assert tracker.consume(PEER, Op.HELLO_RES, 10.0 + TRACK_SECONDS - 0.001) == (True, None)


def test_a_response_consumes_its_entry_once():
    """IsOnOutTrackList erases the entry it matched."""
    tracker = RequestTracker()
    tracker.expect(PEER, Op.HELLO_RES, 0.0, pending=Pending(kad_id(3), 8, 77))
    assert tracker.consume(PEER, Op.HELLO_RES_ACK, 1.0) == (True, Pending(kad_id(3), 8, 77))
    assert tracker.consume(PEER, Op.HELLO_RES_ACK, 2.0) == (False, None)
    assert len(tracker) == 0


def test_unsolicited_and_untracked_responses_are_refused():
    """Only answers to iMule's tracked requests are taken (IsTrackedOutListRequestPacket)."""
    tracker = RequestTracker()
    assert tracker.consume(PEER, Op.HELLO_RES, 0.0) == (False, None)
    assert tracker.consume(PEER, Op.SEARCH_RES, 0.0) == (False, None)


def test_has_challenge_while_a_legacy_challenge_is_open_at_most_180_seconds():
    """HasActiveLegacyChallenge: ``now - inserted <= SEC2MS(180)`` for the destination; answering it closes it."""
    tracker = RequestTracker()
    tracker.expect(PEER, Op.KADEMLIA_REQ, 0.0, target=kad_id(5), pending=CHALLENGE)
    assert tracker.has_challenge(PEER, TRACK_SECONDS)
    assert not tracker.has_challenge(PEER, TRACK_SECONDS + 0.001)
    assert not tracker.has_challenge(PEER[:4] + random_destination()[4:], 1.0)
    assert tracker.consume(PEER, Op.KADEMLIA_RES, 1.0, target=kad_id(5)) == (True, CHALLENGE)
    assert not tracker.has_challenge(PEER, 1.0)


def test_an_ordinary_request_opens_no_challenge():
    tracker = RequestTracker()
    tracker.expect(PEER, Op.KADEMLIA_REQ, 0.0, target=kad_id(5), pending=Pending(kad_id(1), 8))
    assert not tracker.has_challenge(PEER, 1.0)


def test_the_table_is_bounded_and_drops_the_entry_nearest_expiry():
    tracker = RequestTracker()
    for n in range(MAX_TRACKED + 100):
        tracker.expect(dest(n + 1), Op.HELLO_REQ, n * 0.001)
    assert len(tracker) == MAX_TRACKED
    now = (MAX_TRACKED + 100) * 0.001
    assert not tracker.outstanding(dest(1), Op.HELLO_REQ, now)  # the oldest went first
    assert tracker.outstanding(dest(MAX_TRACKED + 100), Op.HELLO_REQ, now)


def test_memory_stays_flat_under_100k_expects():
    """Nothing a peer can make us track grows memory: 10^5 requests (a tenth of them legacy challenges, some
    repeats) cost no more than the first 2 x MAX_TRACKED did."""
    tracker = RequestTracker()

    def expect(n: int) -> None:
        pending = CHALLENGE if n % 10 == 0 else None
        tracker.expect(dest(n % 50_000 + 1), Op.KADEMLIA_REQ, n * 0.01, target=n, pending=pending)

    tracemalloc.start()
    try:
        for n in range(2 * MAX_TRACKED):
            expect(n)
        settled, _ = tracemalloc.get_traced_memory()
        for n in range(2 * MAX_TRACKED, 100_000):
            expect(n)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(tracker) <= MAX_TRACKED
    assert after - settled < 256 * 1024, (settled, after)


def test_a_lapsed_challenge_does_not_close_the_next_one():
    """HasActiveLegacyChallenge looks at every challenge to the destination: clearing a lapsed one must not hide a
    newer one still open (else a second challenge could go out while the first is pending)."""
    tracker = RequestTracker()
    tracker.expect(PEER, Op.KADEMLIA_REQ, 0.0, target=kad_id(5), pending=CHALLENGE)
    tracker.expect(PEER, Op.KADEMLIA_REQ, 200.0, target=kad_id(6), pending=CHALLENGE)
    assert tracker.has_challenge(PEER, 201.0)
    assert tracker.consume(PEER, Op.KADEMLIA_RES, 202.0, target=kad_id(6)) == (True, CHALLENGE)
    assert not tracker.has_challenge(PEER, 203.0)
