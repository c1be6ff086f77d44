"""Statistical checks for the shaper's contract, each usable on the real shaper and on a leaky variant.

Every check raises ``AssertionError`` when the data contradict the contract. Thresholds
come from the statistic's null distribution at ``ALPHA`` (Bonferroni-corrected where a
check makes several comparisons), and the tests feed fixed seeds, so results are
reproducible. Each check has a negative control in the tests: a deliberately leaky
shaper (or list) that the same function must reject.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from mule.clock import VirtualClock
from mule.shaper import Profile, Release, Shaper
from mule.transport.memory import MemoryHub, MemoryTransport, WireTap

ALPHA = 1e-3
"""False-alarm rate of every check: a correct shaper fails a given seed's check with at most this probability."""

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
) -> Rig:
    """A recording rig; with ``tap``, the caller records the wire itself and nothing else is kept (floods)."""
    clock = VirtualClock(start)
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


def observed_delay_cdf(profile: Profile) -> Callable[[np.ndarray], np.ndarray]:
    """CDF of (release - enqueue) when enqueue times fall at uniformly random phases of the round grid.

    The queue releases at the end of the round that contains now + D, with D uniform on
    [base, base + jitter]; the wait to the round's end is then uniform on [0, round) and
    independent of D, so the observed delay is the sum of two uniforms (a trapezoid).
    """
    base, jitter, rnd = profile.delay.base, profile.delay.jitter, profile.round_length

    def integral(y: np.ndarray) -> np.ndarray:  # the antiderivative of the uniform CDF on [0, jitter]
        return np.where(y <= 0, 0.0, np.where(y <= jitter, y * y / (2 * jitter), jitter / 2 + (y - jitter)))

    return lambda z: (integral(np.asarray(z) - base) - integral(np.asarray(z) - base - rnd)) / rnd


def assert_delays_follow_law(delays: np.ndarray, profile: Profile, alpha: float = ALPHA) -> None:
    """Every delay inside the law's bounds, and the whole sample consistent with the law (one-sample KS)."""
    tolerance = 1e-9  # float rounding of round ticks
    assert delays.min() >= profile.delay.base - tolerance, f"a message left early: {delays.min():.6f} s"
    assert delays.max() <= profile.max_delay + tolerance, f"a message waited too long: {delays.max():.6f} s"
    result = stats.kstest(delays, observed_delay_cdf(profile))
    assert result.pvalue > alpha, f"delays do not follow the law: KS D={result.statistic:.4f} p={result.pvalue:.2e}"


def assert_same_distribution(samples: Mapping[str, np.ndarray], alpha: float = ALPHA) -> None:
    """Every pair of samples is consistent with one common distribution (two-sample KS, Bonferroni)."""
    pairs = list(itertools.combinations(sorted(samples), 2))
    for a, b in pairs:
        result = stats.ks_2samp(samples[a], samples[b])
        assert result.pvalue > alpha / len(pairs), (
            f"{a} and {b} are distinguishable: KS D={result.statistic:.4f} p={result.pvalue:.2e}"
        )


# --- ordering -------------------------------------------------------------------------------------------------


def kendall_tau_threshold(n: int, alpha: float = ALPHA) -> float:
    """Two-sided critical |tau| for n untied pairs under independence: tau ~ N(0, 2(2n+5) / (9n(n-1)))."""
    sd = math.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1)))
    return float(stats.norm.isf(alpha / 2)) * sd


def assert_order_unrelated(enqueue_order: Sequence[int], send_order: Sequence[int], alpha: float = ALPHA) -> float:
    """Send order carries no trace of enqueue order: |Kendall tau| below its null threshold. Returns tau."""
    sent_rank = {item: rank for rank, item in enumerate(send_order)}
    assert len(sent_rank) == len(enqueue_order), "every enqueued message must be sent exactly once"
    tau = stats.kendalltau(np.arange(len(enqueue_order)), [sent_rank[item] for item in enqueue_order]).statistic
    threshold = kendall_tau_threshold(len(enqueue_order), alpha)
    assert abs(tau) < threshold, f"send order follows enqueue order: tau={tau:.4f}, null threshold {threshold:.4f}"
    return float(tau)


def position_counts(orders: Sequence[Sequence[int]], k: int) -> np.ndarray:
    """``counts[item, position]``: how often each of k items landed at each position."""
    counts = np.zeros((k, k), dtype=np.int64)
    for order in orders:
        counts[np.asarray(order), np.arange(k)] += 1
    return counts


def assert_positions_uniform(counts: np.ndarray, alpha: float = ALPHA) -> None:
    """Each item is equally likely at each position: Pearson's chi-square against uniform.

    The counts are sums of uniformly random permutation matrices, whose cells have covariance
    (d_il - 1/k)(d_jm - 1/k) / (k - 1): a projection of rank (k-1)^2 scaled by 1/(k-1). So
    Pearson's statistic is k/(k-1) times a chi-square with (k-1)^2 degrees of freedom.
    """
    k = counts.shape[0]
    expected = counts.sum() / (k * k)
    statistic = float(((counts - expected) ** 2 / expected).sum()) * (k - 1) / k
    critical = float(stats.chi2.isf(alpha, (k - 1) ** 2))
    assert statistic < critical, f"positions are not uniform: chi2={statistic:.1f} >= {critical:.1f}"


# --- caps -----------------------------------------------------------------------------------------------------


def most_in_any_window(times: np.ndarray, window: float) -> int:
    """The largest number of events inside any half-open interval (t - window, t]."""
    if times.size == 0:
        return 0
    times = np.sort(times)
    first_inside = np.searchsorted(times, times - window, side="right")
    return int((np.arange(times.size) - first_inside + 1).max())
