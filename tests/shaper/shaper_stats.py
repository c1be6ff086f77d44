"""Statistical checks for the shaper's contract, each usable on the real shaper and on a leaky variant.

Every check raises ``AssertionError`` when the data contradict the contract. The statistics
themselves live in ``mule.contract.stats`` (shared with tests/contract and the constancy
bench); thresholds come from their null distributions at ``ALPHA`` (Bonferroni-corrected
where a check makes several comparisons), and the tests feed fixed seeds, so results are
reproducible. Each check has a negative control in the tests: a deliberately leaky
shaper (or list) that the same function must reject.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mule.clock import VirtualClock
from mule.contract.stats import (
    ALPHA,
    kendall_tau_threshold,
    law_p_value,
    order_tau,
    position_chi2_p_value,
    same_distribution_p_values,
)
from mule.shaper import Profile, Release, Shaper
from mule.transport.memory import MemoryHub, MemoryTransport, WireTap

ShaperFactory = Callable[..., Shaper]


@dataclass(slots=True)
class Rig:
    """A shaper on a virtual clock, sending into an in-memory hub whose wire is recorded."""

    shaper: Shaper
    clock: VirtualClock
    transport: MemoryTransport
    wire: list[tuple[float, bytes, bytes]] = field(default_factory=list)
    """``(time, destination, payload)`` of every datagram the hub carried."""
    releases: list[Release] = field(default_factory=list)


def open_endpoint(hub: MemoryHub) -> MemoryTransport:
    transport = hub.endpoint()
    asyncio.run(transport.open())
    return transport


def make_rig(
    profile: Profile,
    seed: bytes,
    factory: ShaperFactory = Shaper,
    *,
    start: float = 1000.0,
    tap: WireTap | None = None,
    clock: VirtualClock | None = None,
) -> Rig:
    """A recording rig; with ``tap``, the caller records the wire itself and nothing else is kept (floods).
    ``clock``: a virtual clock of the caller's (a subclass that plays a contended host), else a new one at ``start``."""
    clock = VirtualClock(start) if clock is None else clock
    wire: list[tuple[float, bytes, bytes]] = []
    releases: list[Release] = []
    if tap is None:
        hub = MemoryHub(tap=lambda _source, destination, payload: wire.append((clock.now(), destination, payload)))
    else:
        hub = MemoryHub(tap=tap)
    transport = open_endpoint(hub)
    shaper = factory(transport, clock, profile, seed=seed, observer=None if tap else releases.append)
    return Rig(shaper, clock, transport, wire, releases)


# --- the delay law --------------------------------------------------------------------------------------------


def assert_delays_follow_law(delays: np.ndarray, profile: Profile, alpha: float = ALPHA) -> None:
    """Every delay inside the law's bounds, and the whole sample consistent with the law (one-sample KS)."""
    tolerance = 1e-9  # float rounding
    assert delays.min() >= profile.delay.base - tolerance, f"a message left early: {delays.min():.6f} s"
    assert delays.max() <= profile.max_delay + tolerance, f"a message waited too long: {delays.max():.6f} s"
    p = law_p_value(delays, profile.delay)
    assert p > alpha, f"delays do not follow the law: KS p={p:.2e}"


def assert_same_distribution(samples: Mapping[str, np.ndarray], alpha: float = ALPHA) -> None:
    """Every pair of samples is consistent with one common distribution (two-sample KS, Bonferroni)."""
    p_values = same_distribution_p_values(samples)
    for (a, b), p in p_values.items():
        assert p > alpha / len(p_values), f"{a} and {b} are distinguishable: KS p={p:.2e}"


# --- ordering -------------------------------------------------------------------------------------------------


def assert_order_unrelated(enqueue_order: Sequence[int], send_order: Sequence[int], alpha: float = ALPHA) -> float:
    """Send order carries no trace of enqueue order: |Kendall tau| below its null threshold. Returns tau."""
    assert len(set(send_order)) == len(enqueue_order), "every enqueued message must be sent exactly once"
    tau = order_tau(enqueue_order, send_order)
    threshold = kendall_tau_threshold(len(enqueue_order), alpha)
    assert abs(tau) < threshold, f"send order follows enqueue order: tau={tau:.4f}, null threshold {threshold:.4f}"
    return tau


def position_counts(orders: Sequence[Sequence[int]], k: int) -> np.ndarray:
    """``counts[item, position]``: how often each of k items landed at each position."""
    counts = np.zeros((k, k), dtype=np.int64)
    for order in orders:
        counts[np.asarray(order), np.arange(k)] += 1
    return counts


def assert_positions_uniform(counts: np.ndarray, alpha: float = ALPHA) -> None:
    """Each item is equally likely at each position: Pearson's chi-square against uniform (see position_chi2)."""
    p = position_chi2_p_value(counts)
    assert p > alpha, f"positions are not uniform: chi2 p={p:.2e}"
