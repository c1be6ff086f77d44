"""From the runs' raw samples to per-condition figures and per-pair tests, each with its threshold.

Pooled tests (KS, Anderson–Darling, precedence and balance at the law's edges, Welch t) treat replies as the
unit: the delay of each reply is its own draw of the law plus a lateness that is small next to
it. Where replies of one run share something (a load, a table, a host), runs are the unit: the
classifier, the per-run Mann–Whitney comparison, the burst order and the two-node alignment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mule.bench.constancy import adversary
from mule.contract import stats
from mule.contract.features import mean_resultant_length, sample_features, timing_features
from mule.contract.profile import PRODUCTION, PROFILE_V2

Run = Mapping[str, object]
BURST = 64
"""Requests in the burst that opens each run (``child.BURST``)."""
ALPHA = stats.ALPHA
PHASE_TEST_PERIODS = (0.001, 0.01, 0.05, 1.0)
"""Periods for the pooled phase KS between conditions (timer grain, scheduler tick, V1's grid, a second)."""
ALIGNMENT_PERIODS = (0.001, 0.01, 0.05, 0.1)
"""Periods for the two-node alignment: far shorter than a run (nodes probed together share any longer phase)."""
UPKEEP_SENDS = 30
"""Fewest upkeep sends (about five minutes of a node's life) before its law is judged."""
WINDOW = 0.5
"""Seconds per window for the per-window counts of replies per opcode."""


RESOLUTION = 1e-6
"""Seconds: the finest the analysis reads a hand-off instant (and so a reply delay or a gap) at. The child records
the instant the release thread read just before its send call; the call itself costs about a microsecond more in
the pure twin or on a slower host, and the pure twin's spin (a Python loop) ends some 50 ns later than the compiled
one's. Finer digits describe where the bench reads the clock, not the wire, where I2P adds milliseconds: read at
0.1 µs, 48 runs a side told the twins apart by that 50 ns alone (the 50 µs gap floor read as 50.0 against 50.1)."""
_HAND_OFF_KEYS = frozenset({"sent", "delays"})


def arrays(run: Run, key: str) -> np.ndarray:
    values = np.asarray(run.get(key, []), dtype=np.float64)
    return np.round(values / RESOLUTION) * RESOLUTION if key in _HAND_OFF_KEYS else values


def features(run: Run) -> dict[str, float]:
    return sample_features(arrays(run, "delays"), arrays(run, "sent"), arrays(run, "sizes"), int(run["requests"]))


def pooled(runs: Sequence[Run], key: str) -> np.ndarray:
    return np.concatenate([arrays(run, key) for run in runs]) if runs else np.zeros(0)


def phases(runs: Sequence[Run], period: float) -> np.ndarray:
    return np.mod(pooled(runs, "sent"), period) / period


def run_gaps(runs: Sequence[Run]) -> list[np.ndarray]:
    """Each run's gaps between consecutive hand-offs."""
    return [np.diff(np.sort(arrays(run, "sent"))) for run in runs]


def window_counts(runs: Sequence[Run]) -> np.ndarray:
    """Replies per ``WINDOW`` per opcode (columns in opcode order), windows of every run stacked."""
    ops = sorted({op for run in runs for op in run["ops"] if isinstance(op, int)})  # type: ignore[attr-defined]
    blocks = []
    for run in runs:
        labels = np.asarray([ops.index(op) if op in ops else 0 for op in run["ops"]])  # type: ignore[attr-defined]
        start, end = float(run["start"]) + 0.5 + 0.25, float(run["end"]) + 0.25  # type: ignore[arg-type]
        blocks.append(stats.window_counts(arrays(run, "sent"), labels, WINDOW, start, end))
    width = max((b.shape[1] for b in blocks), default=0)
    return np.vstack([np.pad(b, ((0, 0), (0, width - b.shape[1]))) for b in blocks]) if blocks else np.zeros((0, 0))


@dataclass(slots=True)
class Test:
    name: str
    statistic: float
    p_value: float | None
    threshold: str
    """What the statistic or p-value is compared with, in words (``p <= 0.001``, ``|t| > 4.5``)."""
    flagged: bool
    unit: str
    """``replies`` (pooled) or ``runs``."""


@dataclass(slots=True)
class Pair:
    a: str
    b: str
    kind: str
    """``condition`` (should be indistinguishable), ``control`` (must be caught) or ``null`` (A/A)."""
    tests: list[Test] = field(default_factory=list)
    classifiers: dict[str, list[dict[str, object]]] = field(default_factory=dict)

    @property
    def distinguishable(self) -> bool:
        return any(test.flagged for test in self.tests)


def _p_test(name: str, statistic: float, p: float, unit: str, alpha: float = ALPHA) -> Test:
    return Test(name, statistic, p, f"p <= {alpha:g}", p <= alpha, unit)


def compare(a_runs: Sequence[Run], b_runs: Sequence[Run], a: str, b: str, kind: str, *, permutations: int) -> Pair:
    pair = Pair(a, b, kind)
    tests = pair.tests
    da, db = pooled(a_runs, "delays"), pooled(b_runs, "delays")
    d, p = stats.ks_2samp(da, db)
    tests.append(_p_test("KS reply delays", d, p, "replies"))
    ad, p = stats.anderson_darling_2samp(da, db)
    tests.append(_p_test("Anderson–Darling reply delays", ad, p, "replies"))
    tests.append(
        _p_test(
            "precedence at the law's edges", stats.edge_shift(da, db)[0], stats.precedence_p_value(da, db), "replies"
        )
    )
    tests.append(
        _p_test(
            f"edge balance (below base + {1e3 * stats.EDGE_BAND:g} ms, above the law's top)",
            stats.edge_shift(da, db)[1],
            stats.edge_balance_p_value(da, db, PROFILE_V2.delay),
            "replies",
        )
    )
    t = stats.welch_t(da, db)
    tests.append(
        Test(
            "Welch t reply delays (dudect)",
            t,
            None,
            f"|t| > {stats.WELCH_T_THRESHOLD:g}",
            abs(t) > stats.WELCH_T_THRESHOLD,
            "replies",
        )
    )
    for period in PHASE_TEST_PERIODS:
        d, p = stats.ks_2samp(phases(a_runs, period), phases(b_runs, period))
        tests.append(_p_test(f"KS hand-off phase mod {period:g} s", d, p, "replies"))
    # A run's gaps share its host's state (a stall crowds a run's gaps at once): runs are the unit here.
    (d, p), (ad, p_ad) = stats.run_permutation_ks_ad(run_gaps(a_runs), run_gaps(b_runs))
    tests.append(_p_test("KS inter-send gaps", d, p, "runs"))
    tests.append(_p_test("Anderson–Darling inter-send gaps", ad, p_ad, "runs"))
    wa, wb = window_counts(a_runs), window_counts(b_runs)
    if wa.size and wb.size:
        tests.append(
            _p_test(
                "per-window counts per opcode", float(wa.sum(0).std()), stats.window_counts_p_value(wa, wb), "windows"
            )
        )
    taus = [*burst_taus(a_runs), *burst_taus(b_runs)]
    threshold = stats.kendall_tau_threshold(BURST, ALPHA / max(len(taus), 1))
    worst = max((abs(tau) for tau in taus), default=0.0)
    tests.append(
        Test(
            "Kendall tau, burst reply vs request order",
            worst,
            None,
            f"max |tau| > {threshold:.2f}",
            worst > threshold,
            "runs",
        )
    )
    fa = [timing_features(features(run)) for run in a_runs]
    fb = [timing_features(features(run)) for run in b_runs]
    per_feature = stats.compare_runs(fa, fb) if fa and fb else {}
    if per_feature:
        worst_name = min(per_feature, key=per_feature.get)  # type: ignore[arg-type]
        corrected = min(1.0, per_feature[worst_name] * len(per_feature))
        tests.append(
            _p_test(
                f"Mann–Whitney per-run timing features (worst: {worst_name})",
                per_feature[worst_name],
                corrected,
                "runs",
            )
        )
    for feature_set, fs_a, fs_b in (
        ("timing", fa, fb),
        ("all", [features(run) for run in a_runs], [features(run) for run in b_runs]),
    ):
        # Only the timing verdict is judged, so only it pays for a permutation test.
        verdicts = adversary.classify(fs_a, fs_b, permutations=permutations if feature_set == "timing" else 0)
        pair.classifiers[feature_set] = [v.as_dict() for v in verdicts]
    best = judged_classifier(pair, "timing")
    if best is not None:
        alpha = max(0.01, 1.0 / (1 + permutations))
        flagged = float(best["p_value"]) <= alpha and float(best["low"]) > 0.5  # type: ignore[arg-type]
        name = "classifier on timing features (adversary)"
        threshold = f"permutation p <= {alpha:g} and 95 % interval above 0.5"
        tests.append(Test(name, float(best["accuracy"]), float(best["p_value"]), threshold, flagged, "runs"))  # type: ignore[arg-type]
    return pair


def judged_classifier(pair: Pair, feature_set: str) -> dict[str, object] | None:
    """The adversary's verdict (model chosen per fold on training runs only), the one the bench judges."""
    return adversary.judged(pair.classifiers.get(feature_set) or [])  # type: ignore[return-value]


def burst_taus(runs: Sequence[Run]) -> list[float]:
    return [stats.burst_tau(run["burst_requests"], run["burst_replies"])[0] for run in runs]  # type: ignore[arg-type]


def linkability(a_runs: Sequence[Run], b_runs: Sequence[Run]) -> list[Test]:
    """Two nodes started together on one host: do their hand-off phases line up (runs paired by block)?"""
    by_block = {int(run["block"]): run for run in b_runs}  # type: ignore[arg-type]
    tests = []
    for period in ALIGNMENT_PERIODS:
        zs = [
            stats.phase_alignment_z(arrays(run, "sent"), arrays(by_block[int(run["block"])], "sent"), period)  # type: ignore[arg-type]
            for run in a_runs
            if int(run["block"]) in by_block  # type: ignore[arg-type]
        ]
        p = min(1.0, stats.alignment_p_value(zs) * len(ALIGNMENT_PERIODS))
        tests.append(
            _p_test(f"phase alignment of the two nodes mod {period:g} s", float(np.mean(zs)) if zs else 0.0, p, "runs")
        )
    return tests


def upkeep_tests(runs: Sequence[Run]) -> list[Test]:
    """One long-lived node's upkeep sends against the documented renewal law: gaps, and a beat at its mean interval."""
    times = np.sort(pooled(runs, "upkeep_t"))
    if times.size < UPKEEP_SENDS:
        return []  # a few minutes of upkeep say nothing either way
    gaps_ = np.diff(times)
    law = stats.upkeep_gap_sample(PRODUCTION.upkeep, PRODUCTION.delay, 100_000)
    d, p = stats.ks_2samp(gaps_, law)
    tests = [_p_test("KS upkeep gaps against the renewal law", d, p, "sends")]
    beat = PRODUCTION.upkeep.mean
    p = stats.phase_p_value(times, (beat,))
    tests.append(_p_test(f"Rayleigh + KS upkeep phase mod {beat:g} s", mean_resultant_length(times, beat), p, "sends"))
    return tests


def condition_summary(runs: Sequence[Run]) -> dict[str, object]:
    delays = pooled(runs, "delays")
    lateness = pooled(runs, "lateness")
    quantiles = (0.0, 0.5, 0.99, 0.999, 1.0)
    return {
        "runs": len(runs),
        "replies": int(delays.size),
        "requests": int(sum(int(run["requests"]) for run in runs)),  # type: ignore[arg-type]
        "delay_quantiles": dict(zip(map(str, quantiles), np.quantile(delays, quantiles).tolist(), strict=True))
        if delays.size
        else {},
        "lateness_ms": dict(zip(map(str, quantiles), (1e3 * np.quantile(lateness, quantiles)).tolist(), strict=True))
        if lateness.size
        else {},
        "law_ks_p": stats.law_p_value(delays, PROFILE_V2.delay) if delays.size else 1.0,
        "burst_tau_mean": float(np.mean(burst_taus(runs))) if runs else 0.0,
        "expired": int(sum(int(run["expired"]) for run in runs)),  # type: ignore[arg-type]
        # Handed to the release thread after their instant: the loop was later than the lead (older files: 0).
        "loop_late": int(sum(int(run.get("loop_late", 0)) for run in runs)),  # type: ignore[arg-type]
        "implementation": sorted({str(run["implementation"]) for run in runs}),
        "contacts": sorted({int(run["contacts"]) for run in runs}),  # type: ignore[arg-type]
        "loadavg": [round(float(run["loadavg"]), 2) for run in runs],  # type: ignore[arg-type]
    }
