"""Per-run features of a wire trace: what an observer would feed a classifier to tell two conditions apart.

A *run* is one node under one condition for a while; its trace (``mule.transport.trace``)
gives reply delays (inbound request -> linked outbound reply), hand-off instants, gaps and
sizes. ``run_features`` condenses a run into named numbers; ``mule.contract.stats.compare_runs``
tests them across conditions with runs as the unit. numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from mule.transport.trace import TraceRecord

PHASE_PERIODS = (0.001, 0.01, 0.05, 0.1, 1.0, 10.0)
"""Candidate periods (s) an observer would try: timer granularities, V1's 50 ms grid, the 10 s upkeep tick."""
DELAY_QUANTILES = (0.0, 0.001, 0.01, 0.05, 0.5, 0.95, 0.99, 0.999, 1.0)
"""The edges matter most: a bounded law's minimum and maximum move with any constant added before hand-off."""
GAP_QUANTILES = (0.0, 0.01, 0.1, 0.5)
TIMING_PREFIXES = ("delay_", "phase_", "gap_")


def reply_delays(records: Sequence[TraceRecord]) -> np.ndarray:
    """Seconds from each inbound request to the outbound reply linked to it, in reply order."""
    received = {record.seq: record.t for record in records if record.dir == "in"}
    return np.asarray(
        [r.t - received[r.cause] for r in records if r.dir == "out" and r.cause is not None and r.cause in received]
    )


def send_times(records: Sequence[TraceRecord]) -> np.ndarray:
    return np.asarray([record.t for record in records if record.dir == "out"])


def mean_resultant_length(times: np.ndarray, period: float) -> float:
    """How strongly ``times`` cluster at one phase of ``period``: 0 for uniform phases, 1 for a perfect grid."""
    if times.size == 0:
        return 0.0
    angles = 2.0 * math.pi * np.mod(times, period) / period
    return math.hypot(float(np.cos(angles).mean()), float(np.sin(angles).mean()))


def run_features(records: Sequence[TraceRecord], periods: Sequence[float] = PHASE_PERIODS) -> dict[str, float]:
    """Delay quantiles, phase concentration per period, gap quantiles, sizes, answer rate of one run."""
    out = [record for record in records if record.dir == "out"]
    return sample_features(
        reply_delays(records),
        send_times(records),
        np.asarray([record.size for record in out]),
        sum(record.dir == "in" for record in records),
        periods,
    )


def sample_features(
    delays: np.ndarray,
    sent: np.ndarray,
    sizes: np.ndarray,
    inbound: int,
    periods: Sequence[float] = PHASE_PERIODS,
) -> dict[str, float]:
    """The features of one run from its samples: reply delays, hand-off instants, sizes, requests received.

    Names start with ``delay_``, ``phase_`` or ``gap_`` for timing (``TIMING_PREFIXES``); the rest (sizes,
    answer rate) are what the messages say, which Kad's semantics fix (a peer list's size is its length).
    """
    features: dict[str, float] = {}
    if delays.size:
        for q, value in zip(DELAY_QUANTILES, np.quantile(delays, DELAY_QUANTILES), strict=True):
            features[f"delay_q{q:g}"] = float(value)
    for period in periods:
        features[f"phase_R_{period:g}s"] = mean_resultant_length(sent, period)
    gaps = np.diff(np.sort(sent))
    if gaps.size:
        for q, value in zip(GAP_QUANTILES, np.quantile(gaps, GAP_QUANTILES), strict=True):
            features[f"gap_q{q:g}"] = float(value)
    features["size_mean"] = float(np.mean(sizes)) if sizes.size else 0.0
    features["answered"] = delays.size / inbound if inbound else 0.0
    return features


def timing_features(features: dict[str, float]) -> dict[str, float]:
    """Only what timing shows (delays, phases, gaps): the features the contract says must not differ."""
    return {name: value for name, value in features.items() if name.startswith(TIMING_PREFIXES)}
