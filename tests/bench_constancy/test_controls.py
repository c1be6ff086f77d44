"""The bench's analysis on virtual-clock runs: a correct shaper against itself is not told apart, and each of the
bench's own leaky controls (the very classes its children load) is caught by the tests meant for it."""

from __future__ import annotations

import numpy as np
import pytest
from virtual_rig import runs

from mule.bench.constancy import analysis
from mule.bench.constancy.controls import FastPathShaper, FifoShaper, PlusTwoMsShaper
from mule.shaper import Shaper

RUNS = 8
REPLY_TESTS = ("KS reply delays", "precedence at the law's edges", "Kendall tau, burst reply vs request order")


@pytest.fixture(scope="module")
def clean() -> list[dict[str, object]]:
    return runs(Shaper, range(RUNS))


def flagged(pair: analysis.Pair) -> set[str]:
    return {test.name for test in pair.tests if test.flagged}


def test_two_sets_of_clean_runs_are_not_told_apart(clean: list[dict[str, object]]) -> None:
    other = runs(Shaper, range(100, 100 + RUNS))
    pair = analysis.compare(clean, other, "a", "b", "null", permutations=19)
    assert flagged(pair) == set(), [(t.name, t.p_value) for t in pair.tests]
    assert {v["model"] for v in pair.classifiers["timing"]} == {"logistic", "boosting", "adversary"}


@pytest.mark.parametrize(
    ("control", "caught_by"),
    [
        (PlusTwoMsShaper, "precedence at the law's edges"),
        (FastPathShaper, "KS reply delays"),
        (FifoShaper, "Kendall tau, burst reply vs request order"),
    ],
    ids=["plus2ms", "fastpath", "fifo"],
)
def test_negative_control_is_caught(clean: list[dict[str, object]], control: type, caught_by: str) -> None:
    leaky = runs(control, range(200, 200 + RUNS))
    pair = analysis.compare(clean, leaky, "clean", control.__name__, "control", permutations=19)
    assert caught_by in flagged(pair), [(t.name, t.p_value) for t in pair.tests]
    assert pair.distinguishable


def test_hand_off_instants_are_read_at_a_microsecond_and_a_microsecond_still_shows() -> None:
    """Below a microsecond the record says where the bench reads the clock (the pure twin's spin ends some 50 ns
    later), not what the wire carries: those digits are dropped; a shift of one microsecond is kept."""
    compiled = {"sent": [7.0000000, 7.00005002, 7.00010004], "delays": [0.25000002]}
    pure = {"sent": [7.0000000, 7.00005008, 7.00010016], "delays": [0.25000008]}
    slower = {"sent": [7.0000000, 7.000051, 7.000102], "delays": [0.250001]}
    gaps = [analysis.run_gaps([run])[0] for run in (compiled, pure, slower)]
    assert np.allclose(gaps[0], [50e-6, 50e-6], rtol=0, atol=1e-12)
    assert np.allclose(gaps[1], [50e-6, 50e-6], rtol=0, atol=1e-12)
    assert np.allclose(gaps[2], [51e-6, 51e-6], rtol=0, atol=1e-12)
    delays = [analysis.arrays(run, "delays")[0] for run in (compiled, pure, slower)]
    assert delays == pytest.approx([0.25, 0.25, 0.250001], rel=0, abs=1e-12)
