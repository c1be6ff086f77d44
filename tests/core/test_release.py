"""The release queue, in both twins: what leaves, in which order, to which socket, and never before its instant.

How close to its instant a datagram leaves is a timing figure: ``bench/`` and the constancy bench measure it, not
these tests (shared machines are noisy). What is asserted here holds on any machine: nothing leaves early, the order
is (instant, order of hand-over), a full or closed queue refuses, ``close`` drains, ``discard`` drops one socket's.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

SPIN = 0.0003
ROUNDING = 1e-9
"""Slack for differences of monotonic instants: at 1e5 s a float's rounding is about 1e-11 s, so an instant aimed
exactly ``gap`` after another can read a few picoseconds closer."""


@contextmanager
def serving(queue: object) -> Iterator[None]:
    thread = threading.Thread(target=queue.run, daemon=True)  # type: ignore[attr-defined]
    thread.start()
    try:
        yield
    finally:
        queue.close()  # type: ignore[attr-defined]
        thread.join(5.0)
        assert not thread.is_alive()


@contextmanager
def udp_pair(family: int = socket.AF_INET, host: str = "127.0.0.1") -> Iterator[tuple[socket.socket, socket.socket]]:
    sender, receiver = socket.socket(family, socket.SOCK_DGRAM), socket.socket(family, socket.SOCK_DGRAM)
    with sender, receiver:
        sender.bind((host, 0))
        receiver.bind((host, 0))
        receiver.settimeout(5.0)
        yield sender, receiver


def received(receiver: socket.socket, count: int) -> list[bytes]:
    return [receiver.recv(2048) for _ in range(count)]


def release_all(twin, offsets: list[float], *, addressed: bool, family: int = socket.AF_INET, host: str = "127.0.0.1"):
    """Hand ``offsets`` (seconds from now + 20 ms) to a fresh queue; what the receiver got, and the records."""
    queue = twin.ReleaseQueue(SPIN, 64, True)
    with udp_pair(family, host) as (sender, receiver):
        if not addressed:
            sender.connect(receiver.getsockname())
        start = time.monotonic() + 0.02
        with serving(queue):
            for index, offset in enumerate(offsets):
                address = receiver.getsockname()[:2] if addressed else None
                assert queue.release_at(start + offset, sender.fileno(), b"d%d" % index, address)
        return received(receiver, len(offsets)), queue.sent_instants(), start, queue.failed


OFFSETS = [0.006, 0.001, 0.004, 0.004, 0.0, 0.0025]
EXPECTED = [b"d4", b"d1", b"d5", b"d2", b"d3", b"d0"]  # by instant; the tie (d2, d3) in the order handed over


@pytest.mark.parametrize("addressed", [False, True])
def test_datagrams_leave_in_instant_order_never_before_their_instant(twin, addressed):
    got, records, start, failed = release_all(twin, OFFSETS, addressed=addressed)
    assert got == EXPECTED
    assert failed == 0
    assert [order for order, _ in records] == [4, 1, 5, 2, 3, 0]
    for order, instant in records:
        assert instant >= start + OFFSETS[order]


def test_the_twins_send_the_same_bytes_in_the_same_order(both_twins):
    compiled, pure = (release_all(twin, OFFSETS, addressed=True) for twin in both_twins)
    assert compiled[0] == pure[0]
    assert [order for order, _ in compiled[1]] == [order for order, _ in pure[1]]


def test_an_ipv6_peer_is_reached_by_address(twin):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    try:
        got, _, _, failed = release_all(twin, [0.001, 0.0], addressed=True, family=socket.AF_INET6, host="::1")
    except OSError as exc:  # a host without ::1 (IPv6 disabled in the namespace)
        pytest.skip(f"no IPv6 loopback: {exc}")
    assert got == [b"d1", b"d0"]
    assert failed == 0


@pytest.mark.parametrize("address", [("localhost", 7655), ("300.1.1.1", 7655), ("::zz", 7655)])
def test_a_host_that_is_not_numeric_is_refused_at_hand_over(twin, address):
    queue = twin.ReleaseQueue(SPIN)
    with pytest.raises(OSError):
        queue.release_at(time.monotonic(), 0, b"x", address)


@pytest.mark.parametrize(
    "spin,capacity,gap", [(-0.001, 4, 0.0), (float("nan"), 4, 0.0), (0.001, 0, 0.0), (0.0, 4, -1.0)]
)
def test_nonsense_settings_are_refused(twin, spin, capacity, gap):
    with pytest.raises(ValueError):
        twin.ReleaseQueue(spin, capacity, False, gap)


def test_a_full_or_closed_queue_refuses_and_close_drains_what_it_holds(twin):
    queue = twin.ReleaseQueue(SPIN, 2, True)
    with udp_pair() as (sender, receiver):
        sender.connect(receiver.getsockname())
        at = time.monotonic() + 0.05
        assert queue.release_at(at, sender.fileno(), b"a")
        assert queue.release_at(at + 0.001, sender.fileno(), b"b")
        assert not queue.release_at(at, sender.fileno(), b"c")  # full
        queue.close()
        assert not queue.release_at(at, sender.fileno(), b"d")  # closed
        queue.run()  # returns once both have left, each at its instant
        assert received(receiver, 2) == [b"a", b"b"]
        assert [order for order, _ in queue.sent_instants()] == [0, 1]
        assert all(instant >= at for _, instant in queue.sent_instants())


def test_discard_drops_only_what_waits_for_that_socket(twin):
    queue = twin.ReleaseQueue(SPIN, 8, True)
    with udp_pair() as (closing, receiver), udp_pair() as (kept, _):
        closing.connect(receiver.getsockname())
        kept.connect(receiver.getsockname())
        at = time.monotonic() + 0.2
        with serving(queue):
            for data, sender in ((b"a", closing), (b"b", kept), (b"c", closing)):
                assert queue.release_at(at, sender.fileno(), data)
            assert queue.discard(closing.fileno()) == 2
        assert received(receiver, 1) == [b"b"]
        assert [order for order, _ in queue.sent_instants()] == [1]


@pytest.mark.parametrize("gap", [0.002])
def test_no_two_sends_are_closer_than_the_gap_and_the_push_counts_as_lateness(twin, gap):
    queue = twin.ReleaseQueue(SPIN, 8, True, gap)
    with udp_pair() as (sender, receiver):
        sender.connect(receiver.getsockname())
        at = time.monotonic() + 0.05
        with serving(queue):
            for data in (b"a", b"b", b"c"):
                assert queue.release_at(at, sender.fileno(), data)  # one instant for all three
        assert received(receiver, 3) == [b"a", b"b", b"c"]
        instants = [instant for _, instant in queue.sent_instants()]
        assert instants[0] >= at and all(b - a >= gap - ROUNDING for a, b in itertools.pairwise(instants))
    late = sorted(queue.lateness_samples())  # one kept per send, as `mule status` reads them
    assert len(late) == 3 and late[0] >= 0.0
    assert late[1] >= gap - ROUNDING and late[2] >= 2 * gap - ROUNDING


def test_a_send_the_kernel_refuses_is_counted_lost_and_has_no_lateness(twin):
    queue = twin.ReleaseQueue(SPIN, 4, True)
    with udp_pair() as (sender, receiver):
        sender.connect(receiver.getsockname())
        sender.shutdown(socket.SHUT_WR)  # every send now fails with EPIPE
        assert queue.release_at(time.monotonic(), sender.fileno(), b"lost")
        queue.close()
        queue.run()
    assert queue.failed == 1
    assert queue.sent_instants() == [(0, -1.0)]
    assert queue.lateness_samples() == []


def test_only_the_latest_1024_sends_lateness_is_kept(twin):
    queue = twin.ReleaseQueue(0.0, 2048, False)
    with udp_pair() as (sender, receiver):
        sender.connect(receiver.getsockname())
        receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        at = time.monotonic()
        for index in range(1100):
            assert queue.release_at(at, sender.fileno(), b"%d" % index)
        queue.close()
        serving_thread = threading.Thread(target=queue.run)
        serving_thread.start()
        serving_thread.join(10.0)
    kept = queue.lateness_samples()
    assert len(kept) == 1024 and min(kept) >= 0.0


@pytest.mark.parametrize("realtime", [False, True])
def test_realtime_is_taken_by_what_sends_only_when_asked_and_known_once_run_begins(
    twin, realtime, release_priority_allowed
):
    queue = twin.ReleaseQueue(SPIN, 4, False, 0.0, realtime)
    assert queue.realtime is None
    began = threading.Event()
    thread = threading.Thread(target=queue.run, args=(began.set,), daemon=True)
    thread.start()
    assert began.wait(5.0)
    assert queue.realtime == (realtime and release_priority_allowed)
    queue.close()
    thread.join(5.0)
    assert not thread.is_alive()
