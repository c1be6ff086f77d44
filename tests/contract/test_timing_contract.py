"""The contract as an observer measures it, on the virtual clock: phases, the hard bound, order, counts, runs.

Each check is a statistic with a threshold from its null distribution (``mule.contract.stats``) on fixed
seeds, and each has a negative control, a deliberately leaky shaper that the same check must catch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from contract_rig import (
    UNCAPPED,
    GridShaper,
    NoDeadlineShaper,
    PlusTwoMsShaper,
    ShaperFactory,
    poisson_arrivals,
    serve,
)

from mule.clock import VirtualClock
from mule.contract.features import reply_delays, run_features, send_times
from mule.contract.stats import (
    ALPHA,
    compare_runs,
    distinguishable,
    kendall_tau_threshold,
    order_tau,
    phase_p_value,
    window_counts,
    window_counts_p_value,
)
from mule.shaper import Kind, Shaper

PERIODS = (0.001, 0.01, 0.05, 0.1, 1.0, 10.0)

# --- phase ------------------------------------------------------------------------------------------------------


def hand_off_phase_p(factory: ShaperFactory) -> float:
    records = serve(poisson_arrivals(20.0, 4000, seed=1), b"phase".ljust(32, b"."), factory)
    return phase_p_value(send_times(records), PERIODS)


def test_hand_off_instants_have_no_phase() -> None:
    """Leaks 1 and 3: no candidate period (timer grains, V1's grid, the upkeep tick) shows in the hand-offs."""
    assert hand_off_phase_p(Shaper) > ALPHA


def test_negative_control_a_round_grid_is_caught() -> None:
    assert hand_off_phase_p(GridShaper) < ALPHA


# --- the hard bound ---------------------------------------------------------------------------------------------


def stalled_run(factory: ShaperFactory) -> list:
    """A host that stalls at random: before each arrival, with probability 0.05, for 0-200 ms."""
    rng = np.random.default_rng(4)

    def stalls(clock: VirtualClock) -> None:
        if rng.random() < 0.05:
            clock.stall(rng.uniform(0.0, 0.2))

    return serve(poisson_arrivals(20.0, 3000, seed=3), b"stalls".ljust(32, b"."), factory, stalls=stalls)


def test_no_reply_ever_leaves_past_the_bound_even_after_stalls() -> None:
    """Leak 4: a reply that cannot leave by planned release + slack is dropped, so every delay <= max_delay."""
    records = stalled_run(Shaper)
    delays = reply_delays(records)
    assert delays.size > 2000  # most replies still leave
    assert delays.max() <= UNCAPPED.max_delay + 1e-9
    assert delays.size < sum(r.dir == "in" for r in records)  # and the stalls did cost some


def test_negative_control_a_shaper_without_deadline_is_caught() -> None:
    assert reply_delays(stalled_run(NoDeadlineShaper)).max() > UNCAPPED.max_delay


# --- order ------------------------------------------------------------------------------------------------------

BURST = np.linspace(0.0, 0.001, 2000)
"""2,000 requests within one millisecond (a batch the node processes in one go)."""


def test_reply_order_is_unrelated_to_request_order() -> None:
    """Kendall tau of reply order against request order (from the trace's causal links) is within its null."""
    records = serve(BURST, b"order".ljust(32, b"."))
    causes = [r.cause for r in records if r.dir == "out"]
    requests = [r.seq for r in records if r.dir == "in"]
    assert abs(order_tau(requests, causes)) < kendall_tau_threshold(len(requests))


class FifoShaper(Shaper):
    """Leaky: one delay draw per burst, then the burst leaves in processing order (FIFO behind a delay)."""

    def submit(self, destination: bytes, payload: bytes, kind: Kind) -> None:
        self.counters.submitted += 1
        self._queue.push(self._clock.now() - 1e-6 * self.counters.submitted, destination, payload, kind)
        self._arm()

    def _release_due(self) -> None:
        self._timer = self._timer_at = None
        due = self._queue.pop_due(math.inf)  # everything, as one batch
        due.messages.sort(key=lambda message: message.enqueued_at, reverse=True)
        self._release(due)


def test_negative_control_fifo_release_is_caught() -> None:
    records = serve(BURST, b"order".ljust(32, b"."), FifoShaper)
    causes = [r.cause for r in records if r.dir == "out"]
    requests = [r.seq for r in records if r.dir == "in"]
    assert abs(order_tau(requests, causes)) > kendall_tau_threshold(len(requests))


# --- per-window counts per kind ---------------------------------------------------------------------------------

UPKEEP_SPAN = 20_000.0


def upkeep_renewal(seed: int) -> np.ndarray:
    """Upkeep instants as the node draws them: gaps from the profile's upkeep law (uniform on [5 s, 15 s])."""
    law = UNCAPPED.upkeep
    gaps = np.random.default_rng(seed).uniform(law.base, law.high, int(UPKEEP_SPAN / law.base))
    times = np.cumsum(gaps)
    return times[times < UPKEEP_SPAN]


def counts_per_kind(upkeep: np.ndarray, seed: bytes) -> np.ndarray:
    """Datagrams per 10 s window per opcode (0: PONG, 1: HELLO_REQ), requests Poisson at 0.5 per second."""
    records = serve(poisson_arrivals(0.5, int(UPKEEP_SPAN / 2), seed=seed[0]), seed, upkeep=upkeep)
    out = [r for r in records if r.dir == "out"]
    times = np.asarray([r.t for r in out])
    labels = np.asarray([0 if r.op == 0x1F else 1 for r in out])
    return window_counts(times, labels, 10.0, 1000.0 + 20.0, 1000.0 + UPKEEP_SPAN - 20.0)


def test_per_window_counts_per_kind_are_one_law_across_runs() -> None:
    a = counts_per_kind(upkeep_renewal(1), b"A-counts".ljust(32, b"."))
    b = counts_per_kind(upkeep_renewal(2), b"B-counts".ljust(32, b"."))
    assert window_counts_p_value(a, b) > ALPHA


def test_negative_control_a_fixed_period_upkeep_is_caught() -> None:
    """Issue 11 leak 5: upkeep on a fixed 10 s tick sends exactly one per window, a renewal process does not."""
    renewal = counts_per_kind(upkeep_renewal(1), b"A-counts".ljust(32, b"."))
    fixed = counts_per_kind(np.arange(10.0, UPKEEP_SPAN, 10.0), b"B-counts".ljust(32, b"."))
    assert window_counts_p_value(renewal, fixed) < ALPHA


def test_upkeep_sends_have_no_phase() -> None:
    """The renewal law leaves no beat at the mean interval (Rayleigh and KS at 10 s); a fixed tick is caught."""
    renewal = serve(np.zeros(0), b"upkeep".ljust(32, b"."), upkeep=upkeep_renewal(3))
    fixed = serve(np.zeros(0), b"upkeep".ljust(32, b"."), upkeep=np.arange(10.0, UPKEEP_SPAN, 10.0))
    assert phase_p_value(send_times(renewal), (10.0,)) > ALPHA
    assert phase_p_value(send_times(fixed), (10.0,)) < ALPHA


# --- runs as the unit: +2 ms before hand-off -------------------------------------------------------------------

RUNS = 16
PER_RUN = 1500


def runs_of(factory: ShaperFactory, label: bytes) -> list[dict[str, float]]:
    return [
        run_features(serve(poisson_arrivals(30.0, PER_RUN, seed=run), label + bytes([run]) * 8, factory))
        for run in range(RUNS)
    ]


@pytest.fixture(scope="module")
def clean_runs() -> list[dict[str, float]]:
    return runs_of(Shaper, b"clean-a".ljust(24, b"."))


def test_two_clean_conditions_are_indistinguishable_run_by_run(clean_runs: list[dict[str, float]]) -> None:
    other = runs_of(Shaper, b"clean-b".ljust(24, b"."))
    assert distinguishable(compare_runs(clean_runs, other)) == []


def test_negative_control_two_extra_milliseconds_before_hand_off_are_caught(
    clean_runs: list[dict[str, float]],
) -> None:
    """2 ms against 1.5 s of jitter: the mean hides it, the law's hard lower edge (each run's minimum) does not."""
    leaky = runs_of(PlusTwoMsShaper, b"leaky".ljust(24, b"."))
    assert {"delay_q0", "delay_q1"} & set(distinguishable(compare_runs(clean_runs, leaky)))
