"""Statistics that check the contract against what an observer can measure: laws, phases, order, rates, runs.

Each function returns a statistic or a p-value; the callers (tests/contract, tests/shaper and
``python -m mule bench constancy``) pick ``alpha`` and assert. Thresholds come from each
statistic's null distribution, never from a tuned constant. Where messages of one run are
correlated (one host, one load, one table), a *run* is the unit: ``compare_runs`` tests per-run
features across conditions. Needs scipy (the ``test`` extra); nothing on the node's path imports it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy import stats

from mule.contract.profile import DelayLaw

ALPHA = 1e-3
"""Default false-alarm rate of one check (Bonferroni-corrected inside checks that make several comparisons)."""


# --- the delay law --------------------------------------------------------------------------------------------


def law_cdf(law: DelayLaw) -> Callable[[np.ndarray], np.ndarray]:
    """CDF of the delay law: uniform on [base, base + jitter]."""
    return lambda x: np.clip((np.asarray(x, dtype=np.float64) - law.base) / law.jitter, 0.0, 1.0)


def law_p_value(delays: np.ndarray, law: DelayLaw) -> float:
    """One-sample KS p-value of ``delays`` against the law."""
    return float(stats.kstest(delays, law_cdf(law)).pvalue)


def same_distribution_p_values(samples: Mapping[str, np.ndarray]) -> dict[tuple[str, str], float]:
    """Two-sample KS p-value for every pair of samples (compare each against ``alpha / len(result)``)."""
    names = sorted(samples)
    return {
        (a, b): float(stats.ks_2samp(samples[a], samples[b]).pvalue)
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    }


# --- phase ----------------------------------------------------------------------------------------------------


def rayleigh_p_value(times: np.ndarray, period: float) -> float:
    """Rayleigh test that ``times`` modulo ``period`` are uniform on the circle (Zar's p-value approximation).

    Small p: the times cluster at some phase of ``period`` (a grid, a tick, a beat).
    """
    n = times.size
    if n < 2:
        return 1.0
    angles = 2.0 * math.pi * np.mod(times, period) / period
    resultant = math.hypot(float(np.cos(angles).sum()), float(np.sin(angles).sum()))
    return min(1.0, math.exp(math.sqrt(1.0 + 4.0 * n + 4.0 * (n * n - resultant * resultant)) - (1.0 + 2.0 * n)))


def phase_ks_p_value(times: np.ndarray, period: float) -> float:
    """KS p-value that ``times`` modulo ``period`` are uniform on [0, period): catches multi-modal phases too."""
    return float(stats.kstest(np.mod(times, period) / period, "uniform").pvalue)


def phase_p_value(times: np.ndarray, periods: Sequence[float]) -> float:
    """The smallest Rayleigh or KS phase p-value over candidate periods, Bonferroni-corrected for all of them."""
    p_values = [test(times, period) for period in periods for test in (rayleigh_p_value, phase_ks_p_value)]
    return min(1.0, min(p_values) * len(p_values))


# --- order ----------------------------------------------------------------------------------------------------


def kendall_tau_threshold(n: int, alpha: float = ALPHA) -> float:
    """Two-sided critical |tau| for n untied pairs under independence: tau ~ N(0, 2(2n+5) / (9n(n-1)))."""
    sd = math.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1)))
    return float(stats.norm.isf(alpha / 2)) * sd


def order_tau(causal_order: Sequence[int], send_order: Sequence[int]) -> float:
    """Kendall tau between the order items were caused (enqueued, requested) and the order they were sent."""
    sent_rank = {item: rank for rank, item in enumerate(send_order)}
    if len(sent_rank) != len(causal_order):
        raise ValueError("every item must be sent exactly once")
    return float(stats.kendalltau(np.arange(len(causal_order)), [sent_rank[item] for item in causal_order]).statistic)


def position_chi2(counts: np.ndarray) -> tuple[float, float]:
    """``(statistic, degrees of freedom)``: whether each of k items is equally likely at each of k list positions.

    ``counts[item, position]`` sums uniformly random permutation matrices, whose cells have covariance
    (d_il - 1/k)(d_jm - 1/k) / (k - 1): a projection of rank (k-1)^2 scaled by 1/(k-1). So Pearson's
    statistic is k/(k-1) times a chi-square with (k-1)^2 degrees of freedom; it is returned rescaled.
    """
    k = counts.shape[0]
    expected = counts.sum() / (k * k)
    statistic = float(((counts - expected) ** 2 / expected).sum()) * (k - 1) / k
    return statistic, (k - 1) ** 2


def position_chi2_p_value(counts: np.ndarray) -> float:
    statistic, dof = position_chi2(counts)
    return float(stats.chi2.sf(statistic, dof))


# --- rates ----------------------------------------------------------------------------------------------------


def most_in_any_window(times: np.ndarray, window: float) -> int:
    """The largest number of events inside any half-open interval (t - window, t]."""
    if times.size == 0:
        return 0
    times = np.sort(times)
    first_inside = np.searchsorted(times, times - window, side="right")
    return int((np.arange(times.size) - first_inside + 1).max())


def window_counts(times: np.ndarray, labels: np.ndarray, window: float, start: float, end: float) -> np.ndarray:
    """``counts[window_index, label]`` for labels 0..L-1 over consecutive windows from ``start`` to ``end``."""
    edges = np.arange(start, end + window / 2, window)
    n_labels = int(labels.max()) + 1 if labels.size else 0
    counts = np.zeros((max(edges.size - 1, 0), n_labels), dtype=np.int64)
    index = np.searchsorted(edges, times, side="right") - 1
    inside = (index >= 0) & (index < counts.shape[0])
    np.add.at(counts, (index[inside], labels[inside]), 1)
    return counts


def window_counts_p_value(a: np.ndarray, b: np.ndarray) -> float:
    """Whether two conditions' per-window counts per label come from one distribution (KS per label, Bonferroni)."""
    labels = max(a.shape[1], b.shape[1])
    p_values = []
    for label in range(labels):
        column_a = a[:, label] if label < a.shape[1] else np.zeros(a.shape[0])
        column_b = b[:, label] if label < b.shape[1] else np.zeros(b.shape[0])
        p_values.append(
            float(stats.ks_2samp(column_a, column_b, method="asymp").pvalue)
            if column_a.any() or column_b.any()
            else 1.0
        )
    return min(1.0, min(p_values) * len(p_values)) if p_values else 1.0


# --- runs as the unit ------------------------------------------------------------------------------------------


def compare_runs(a: Sequence[Mapping[str, float]], b: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Per feature, the two-sided Mann–Whitney p-value that runs of condition ``a`` and ``b`` share one law.

    Each run contributes one value per feature, so correlation between messages of a run never inflates
    the evidence. Compare each p-value against ``alpha / len(result)`` (Bonferroni over features).
    """
    features = sorted(set(a[0]) & set(b[0]))
    result = {}
    for feature in features:
        xs = np.asarray([run[feature] for run in a])
        ys = np.asarray([run[feature] for run in b])
        if np.ptp(np.concatenate([xs, ys])) == 0.0:
            result[feature] = 1.0
            continue
        result[feature] = float(stats.mannwhitneyu(xs, ys, alternative="two-sided", method="auto").pvalue)
    return result


def distinguishable(p_values: Mapping[str, float], alpha: float = ALPHA) -> list[str]:
    """The features whose p-value is below ``alpha`` after Bonferroni over all of them."""
    return sorted(name for name, p in p_values.items() if p < alpha / max(len(p_values), 1))


# --- two conditions, reply by reply ---------------------------------------------------------------------------

WELCH_T_THRESHOLD = 4.5
"""dudect's threshold on |t|: beyond it a timing difference is taken as real (its false-alarm rate is ~1e-5)."""


def ks_2samp(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """``(D, p)`` of the two-sample Kolmogorov–Smirnov test (asymptotic p beyond a few thousand samples)."""
    if a.size == 0 or b.size == 0:
        return 0.0, 1.0
    result = stats.ks_2samp(a, b, method="auto" if a.size * b.size < 1e7 else "asymp")
    return float(result.statistic), float(result.pvalue)


def anderson_darling_2samp(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """``(statistic, p)`` of the k-sample Anderson–Darling test; scipy floors p at 0.001 and caps it at 0.25."""
    if a.size < 2 or b.size < 2:
        return 0.0, 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "p-value floored/capped": said in the docstring
        result = stats.anderson_ksamp([a, b], variant="midrank")
    return float(result.statistic), float(result.pvalue)


RUN_PERMUTATIONS = 9999
"""Label permutations for the run-level tests: p-values down to 1e-4, an order below ``ALPHA``."""
RUN_TEST_BINS = 512
"""Quantile bins of the pooled sample on which the run-level KS and Anderson–Darling statistics are taken."""


def run_permutation_ks_ad(
    a: Sequence[np.ndarray], b: Sequence[np.ndarray], *, permutations: int = RUN_PERMUTATIONS, seed: int = 0
) -> tuple[tuple[float, float], tuple[float, float]]:
    """``((D, p), (AD, p))``: two-sample KS and Anderson–Darling on pooled samples, with runs as the unit.

    Where a run's samples share its host state (one load, one stall), pooling them as independent overstates the
    evidence: one disturbed run moves thousands of samples. Here the statistics are those of the pooled samples
    (on a grid of quantile bins, so each permutation costs one matrix product), and the p-value is the share of
    random reassignments of whole runs to the two sides whose statistic is at least the observed one.
    """
    runs = [np.asarray(run, dtype=np.float64) for run in (*a, *b)]
    if len(a) == 0 or len(b) == 0 or sum(run.size for run in runs) < 2:
        return (0.0, 1.0), (0.0, 1.0)
    pooled = np.concatenate(runs)
    edges = np.unique(np.quantile(pooled, np.linspace(0.0, 1.0, RUN_TEST_BINS + 1)[1:-1]))
    counts = np.stack(
        [np.bincount(np.searchsorted(edges, run, side="right"), minlength=edges.size + 1) for run in runs]
    )
    counts = counts.astype(np.float64)
    total = counts.sum(axis=0)
    grand = np.cumsum(total)[:-1] / total.sum()  # the pooled ECDF at each bin's right edge (the last is 1)
    # An edge with no pooled mass below it (an atom at the minimum: every gap the release thread held to its floor)
    # or none above it adds nothing: both sides' ECDFs agree there, and 0/0 would poison every sum.
    inside = (grand > 0.0) & (grand < 1.0)
    weight = np.divide(
        np.diff(np.concatenate(([0.0], grand))), grand * (1.0 - grand), where=inside, out=np.zeros_like(grand)
    )
    rng = np.random.default_rng(seed)
    labels = np.zeros((permutations + 1, len(runs)))
    labels[:, : len(a)] = 1.0
    for row in labels[1:]:
        rng.shuffle(row)
    d_values, ad_values = [], []
    for chunk in np.array_split(labels, max(1, (permutations + 1) // 1000)):
        in_a = chunk @ counts
        in_b = total - in_a
        n_a, n_b = in_a.sum(axis=1, keepdims=True), in_b.sum(axis=1, keepdims=True)
        ok = (n_a > 0) & (n_b > 0)
        f_a = np.cumsum(in_a, axis=1)[:, :-1] / np.where(ok, n_a, 1.0)
        f_b = np.cumsum(in_b, axis=1)[:, :-1] / np.where(ok, n_b, 1.0)
        d_values.append(np.where(ok[:, 0], np.abs(f_a - f_b).max(axis=1, initial=0.0), 0.0))
        scale = (n_a * n_b / (n_a + n_b))[:, 0]
        ad_values.append(np.where(ok[:, 0], scale * ((f_a - f_b) ** 2 * weight).sum(axis=1), 0.0))
    d, ad = np.concatenate(d_values), np.concatenate(ad_values)

    def p_value(values: np.ndarray) -> float:
        return float((1 + np.count_nonzero(values[1:] >= values[0] - 1e-12)) / (permutations + 1))

    return (float(d[0]), p_value(d)), (float(ad[0]), p_value(ad))


def welch_t(a: np.ndarray, b: np.ndarray) -> float:
    """dudect's statistic: Welch's t between two samples of one measurement (compare |t| with 4.5)."""
    if a.size < 2 or b.size < 2:
        return 0.0
    return float(stats.ttest_ind(a, b, equal_var=False).statistic)


def _leading(first: np.ndarray, second: np.ndarray) -> int:
    """How many values of ``first`` lie below every value of ``second``."""
    return int(np.searchsorted(np.sort(first), second.min(), side="left")) if second.size else 0


_TINY = 1e-300
"""Below this a probability is as good as zero (its logarithm stays finite)."""


def _all_first(x: np.ndarray, y: np.ndarray) -> float:
    """P(the k smallest of x and y pooled all come from x), k = how many of x lie below every y: C(n_x, k) / C(n, k)."""
    n, k = x.size + y.size, _leading(x, y)
    return math.exp(math.lgamma(x.size + 1) - math.lgamma(x.size - k + 1) - math.lgamma(n + 1) + math.lgamma(n - k + 1))


def precedence_p_value(a: np.ndarray, b: np.ndarray) -> float:
    """Whether either sample starts or ends earlier than the other: a test of the bounded law's two edges.

    With both samples from one continuous law, the chance that the k smallest of the pooled values all come
    from ``a`` is exactly C(n_a, k) / C(n_a + n_b, k). Any constant added before hand-off moves *both* edges of
    a bounded law, and with n values per sample each is located to about width / n, so 2 ms shows in ~10^4
    replies where no test of the bulk would see it. Six p-values, Bonferroni-corrected: each edge alone in
    either direction, and a shift of both edges in either direction (the two edges' p-values combined by
    Fisher's method; the edges are 1.5 s apart, so their extremes are independent).
    """
    if a.size == 0 or b.size == 0:
        return 1.0
    lower_a, lower_b = _all_first(a, b), _all_first(b, a)  # a starts first; b starts first
    upper_b, upper_a = _all_first(-b, -a), _all_first(-a, -b)  # b ends last; a ends last
    shifts = [
        float(stats.chi2.sf(-2.0 * (math.log(max(p, _TINY)) + math.log(max(q, _TINY))), 4))
        for p, q in ((lower_a, upper_b), (lower_b, upper_a))
    ]
    return min(1.0, 6.0 * min(lower_a, lower_b, upper_a, upper_b, *shifts))


EDGE_BAND = 0.0025
"""Width of the lower band in ``edge_balance_p_value``: the 2 ms to be seen plus a typical hand-off lateness."""


def edge_balance_p_value(a: np.ndarray, b: np.ndarray, law: DelayLaw, band: float = EDGE_BAND) -> float:
    """Whether ``b`` sits later (or earlier) than ``a`` at the documented law's two edges, counting, not extremes.

    A constant added before hand-off empties the band [base, base + ``band``) and fills (high, ∞) for the leaky
    sample. Counts of both samples in both places are exact binomials given the totals: each delay in the lower
    band comes from ``a`` with probability n_a / (n_a + n_b), each above ``high`` from ``b`` with n_b / (n_a + n_b).
    S = lower-band delays of ``a`` + upper delays of ``b`` is their sum; its exact distribution (a convolution of
    two binomials) gives a two-sided p-value. Unlike ``precedence_p_value`` it does not hang on the single
    largest delay, so a few late hand-offs (a lateness tail common to both samples) do not blind it.
    """
    if a.size == 0 or b.size == 0:
        return 1.0
    q = b.size / (a.size + b.size)
    low_a, low_b = int((a < law.base + band).sum()), int((b < law.base + band).sum())
    high_a, high_b = int((a > law.high).sum()), int((b > law.high).sum())
    lower = stats.binom.pmf(np.arange(low_a + low_b + 1), low_a + low_b, 1.0 - q)
    upper = stats.binom.pmf(np.arange(high_a + high_b + 1), high_a + high_b, q)
    pmf = np.convolve(lower, upper)
    observed = low_a + high_b
    return float(min(1.0, 2.0 * min(pmf[: observed + 1].sum(), pmf[observed:].sum())))


def edge_shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """``(lower, upper)``: how far ``b``'s smallest and largest values lie from ``a``'s (seconds)."""
    if a.size == 0 or b.size == 0:
        return 0.0, 0.0
    return float(b.min() - a.min()), float(b.max() - a.max())


# --- order within a burst --------------------------------------------------------------------------------------


def burst_tau(requests: Sequence[int], replies: Sequence[int]) -> tuple[float, int]:
    """``(tau, n)``: Kendall tau between the order requests arrived and the order their replies left.

    Requests whose reply never left (dropped at the deadline) are left out.
    """
    answered = set(replies)
    kept = [request for request in requests if request in answered]
    if len(kept) < 3:
        return 0.0, len(kept)
    return order_tau(kept, [reply for reply in replies if reply in set(kept)]), len(kept)


# --- two nodes on one host -------------------------------------------------------------------------------------


def phase_alignment_z(a: np.ndarray, b: np.ndarray, period: float) -> float:
    """How much two nodes' hand-off phases modulo ``period`` line up, in standard units (about N(0, 1) if unrelated).

    ``Re(S_a conj(S_b)) * sqrt(2 / (n_a n_b))`` with ``S`` the sum of unit phasors: zero mean when either node's
    phases are uniform, large and positive when both cluster at the same phase (a grid on a shared clock).
    """
    if a.size == 0 or b.size == 0:
        return 0.0
    sa = np.exp(2j * math.pi * np.mod(a, period) / period).sum()
    sb = np.exp(2j * math.pi * np.mod(b, period) / period).sum()
    return float((sa * np.conj(sb)).real * math.sqrt(2.0 / (a.size * b.size)))


def alignment_p_value(z_per_run: Sequence[float]) -> float:
    """One-sided p-value that the runs' alignment z-scores have a positive mean (runs as the unit)."""
    if not z_per_run:
        return 1.0
    return float(stats.norm.sf(float(np.sum(z_per_run)) / math.sqrt(len(z_per_run))))


# --- upkeep ----------------------------------------------------------------------------------------------------


def upkeep_gap_sample(upkeep: DelayLaw, delay: DelayLaw, count: int, seed: int = 0) -> np.ndarray:
    """Gaps between consecutive upkeep sends as the documented laws make them: an interval plus two delay draws."""
    rng = np.random.default_rng(seed)
    intervals = rng.uniform(upkeep.base, upkeep.high, count)
    return intervals + rng.uniform(0.0, delay.jitter, count) - rng.uniform(0.0, delay.jitter, count)


# --- proportions -----------------------------------------------------------------------------------------------


def wilson_interval(successes: float, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (``successes`` may be fractional: a mean over repeats)."""
    if trials <= 0:
        return 0.0, 1.0
    z = float(stats.norm.isf((1.0 - confidence) / 2))
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)
