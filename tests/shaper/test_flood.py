"""Contract invariant 5 (rate limits) under a flood: 1,000 peers at 100x every cap for a virtual hour.

The flood profile scales the caps down (and their windows up) so that 100x the caps
is a few hundred thousand events, not hundreds of millions; what is tested is the
mechanism, which does not depend on the numbers. Caps are checked afterwards over
every sliding window, from the wire itself; memory is traced throughout.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from shaper_stats import make_rig

from mule.contract.profile import KADEMLIA2_REQ, PING, profile_for_tests
from mule.contract.stats import most_in_any_window
from mule.shaper import Kind, WindowCap

pytestmark = pytest.mark.once

PEERS = 1000
OVERDRIVE = 100
HOUR = 3600.0
MINUTE = 60.0
FLOOD = profile_for_tests(
    queue_messages=256,
    queue_bytes=48 * 1024,
    global_send=WindowCap(10, 10.0),
    responses_per_peer=WindowCap(1, 1200.0),
    lookups=WindowCap(2, MINUTE),
    publishes=WindowCap(2, MINUTE),
    inbound={PING: WindowCap(1, 1200.0), KADEMLIA2_REQ: WindowCap(1, 1200.0)},
)
# Per-peer caps of one event per window: iMule's bucket then admits exactly what a sliding window would.
# Per second, at OVERDRIVE times each cap: outbound answers (global and per-peer cap), inbound requests per peer
# (each peer floods one opcode), lookups and publishes.
SUBMITS_PER_SECOND = OVERDRIVE * FLOOD.global_send.limit / FLOOD.global_send.window
INBOUND_PER_SECOND = PEERS * OVERDRIVE * 1 / 1200.0
STARTS_PER_SECOND = OVERDRIVE * 2 / MINUTE
PAYLOADS = [bytes(size) for size in (40, 120, 300, 600, 1500, 4000)]


class Log:
    """Preallocated columns, so that recording an hour of events does not itself grow memory."""

    def __init__(self, capacity: int, columns: int) -> None:
        self._rows = np.empty((capacity, columns))
        self._size = 0

    def add(self, *row: float) -> None:
        self._rows[self._size] = row
        self._size += 1

    def column(self, index: int) -> np.ndarray:
        return self._rows[: self._size, index]


@pytest.fixture(scope="module")
def flood() -> dict[str, object]:
    peers = [i.to_bytes(4, "little") + b"-peer" for i in range(PEERS)]  # distinct hashCodes, as real peers have
    peer_index = {peer: i for i, peer in enumerate(peers)}
    hours_of = lambda cap: int(HOUR / cap.window + 1) * cap.limit  # noqa: E731  # most events a cap lets by
    sent = Log(hours_of(FLOOD.global_send), 2)
    admitted = Log(PEERS * hours_of(FLOOD.inbound[PING]), 3)
    lookups = Log(hours_of(FLOOD.lookups), 1)
    publishes = Log(hours_of(FLOOD.publishes), 1)
    rig = make_rig(
        FLOOD,
        b"flood".ljust(32, b"."),
        start=0.0,
        tap=lambda _source, destination, _payload: sent.add(rig.clock.now(), peer_index[destination]),
    )
    shaper, clock = rig.shaper, rig.clock
    rng = np.random.default_rng(2026)
    memory: list[int] = []
    queue_high = bytes_high = 0
    counts = {"submits": 0, "inputs": 0}
    opcodes = (PING, KADEMLIA2_REQ)

    tracemalloc.start()
    try:
        for second in range(int(HOUR)):
            n_submit = rng.poisson(SUBMITS_PER_SECOND)
            n_inbound = rng.poisson(INBOUND_PER_SECOND)
            n_start = rng.poisson(STARTS_PER_SECOND)
            kinds = rng.permutation(np.repeat([0, 1, 2], [n_submit, n_inbound, n_start]))
            times = second + np.sort(rng.random(kinds.size))
            who = rng.integers(0, PEERS, times.size)
            sizes = rng.integers(0, len(PAYLOADS), times.size)
            for t, kind, peer, size in zip(times.tolist(), kinds.tolist(), who.tolist(), sizes.tolist(), strict=True):
                clock.advance_to(t)
                if kind == 0:
                    shaper.submit(peers[peer], PAYLOADS[size], Kind.RESPONSE)
                elif kind == 1:
                    opcode = opcodes[peer % 2]
                    if shaper.admit(peers[peer], opcode):
                        admitted.add(t, peer, opcode)
                elif size % 2:
                    if shaper.start_lookup():
                        lookups.add(t)
                elif shaper.start_publish():
                    publishes.add(t)
            counts["submits"] += n_submit
            counts["inputs"] += n_inbound
            queue_high = max(queue_high, shaper.queued_messages)
            bytes_high = max(bytes_high, shaper.queued_bytes)
            if second % 60 == 59:
                memory.append(tracemalloc.get_traced_memory()[0])
        clock.advance(FLOOD.max_delay + 1.0)
    finally:
        tracemalloc.stop()
    return {
        "shaper": shaper,
        "sent_times": sent.column(0),
        "sent_peers": sent.column(1),
        "admitted": admitted,
        "lookups": lookups.column(0),
        "publishes": publishes.column(0),
        "memory": memory,
        "queue_high": queue_high,
        "bytes_high": bytes_high,
        "counts": counts,
    }


def test_flood_really_is_100x_the_caps(flood: dict[str, object]) -> None:
    counts = flood["counts"]
    assert counts["submits"] >= 0.99 * OVERDRIVE * HOUR * FLOOD.global_send.limit / FLOOD.global_send.window
    assert counts["inputs"] >= 0.99 * OVERDRIVE * PEERS * HOUR / 1200.0


def test_global_send_cap_holds_in_every_window(flood: dict[str, object]) -> None:
    cap = FLOOD.global_send
    times = flood["sent_times"]
    assert most_in_any_window(times, cap.window) <= cap.limit
    # The caps are the limits, not something stricter: sending stops only where a cap binds (here: per peer).
    per_peer_allowance = PEERS * HOUR / FLOOD.responses_per_peer.window * FLOOD.responses_per_peer.limit
    assert times.size >= 0.95 * min(HOUR * cap.limit / cap.window, per_peer_allowance)


def test_responses_per_peer_cap_holds_in_every_window(flood: dict[str, object]) -> None:
    cap = FLOOD.responses_per_peer
    times, peers = flood["sent_times"], flood["sent_peers"]
    assert max(most_in_any_window(times[peers == peer], cap.window) for peer in np.unique(peers)) <= cap.limit


def test_inbound_cap_per_peer_and_opcode_holds_in_every_window(flood: dict[str, object]) -> None:
    admitted = flood["admitted"]
    times, peers, opcodes = admitted.column(0), admitted.column(1), admitted.column(2)
    assert times.size >= 0.9 * PEERS * HOUR / 1200.0
    for peer in range(PEERS):
        for opcode, cap in FLOOD.inbound.items():
            mine = times[(peers == peer) & (opcodes == opcode)]
            assert most_in_any_window(mine, cap.window) <= cap.limit


def test_lookup_and_publish_caps_hold_in_every_window(flood: dict[str, object]) -> None:
    assert most_in_any_window(flood["lookups"], FLOOD.lookups.window) <= FLOOD.lookups.limit
    assert most_in_any_window(flood["publishes"], FLOOD.publishes.window) <= FLOOD.publishes.limit
    assert flood["lookups"].size >= 0.9 * HOUR / MINUTE * FLOOD.lookups.limit


def test_queue_and_tables_stay_within_their_bounds(flood: dict[str, object]) -> None:
    shaper = flood["shaper"]
    assert flood["queue_high"] <= FLOOD.queue_messages
    assert flood["bytes_high"] <= FLOOD.queue_bytes
    assert shaper.peer_state_bytes == 2 * 8 * FLOOD.sketch_width * FLOOD.sketch_depth  # fixed at construction
    assert shaper.counters.overflowed > 0, "the flood must actually overflow the queue"
    assert shaper.queued_messages == 0


def test_memory_stays_flat(flood: dict[str, object]) -> None:
    """Once every per-peer table has seen every peer (the longest cap window, plus margin), memory stops growing."""
    memory = flood["memory"]
    longest_window = max(cap.window for cap in (FLOOD.responses_per_peer, *FLOOD.inbound.values()))
    settled = int(longest_window / MINUTE) + 10
    assert max(memory[settled:]) - memory[settled - 1] < 64 * 1024, [m // 1024 for m in memory]
    assert max(memory) < 4 * 1024 * 1024
