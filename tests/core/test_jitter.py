"""The bounded jitter sampler: hard bounds, the documented uniform law, and a keystream that is never shared."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

TEST_SEED = bytes(range(32))
KS_ALPHA = 0.01


def test_a_million_compiled_draws_stay_inside_the_closed_interval(both_twins):
    compiled, _ = both_twins
    sampler = compiled.JitterSampler(0.25, 1.75, seed=TEST_SEED)
    draws = sampler.draw_many(1_000_000)
    assert draws.min() >= sampler.low == 0.25
    assert draws.max() <= sampler.high == 2.0
    # The interval is really used, not a corner of it: both ends are approached within 1e-4.
    assert draws.min() < 0.25 + 1e-4 and draws.max() > 2.0 - 1e-4


@given(
    base=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    jitter=st.floats(min_value=1e-9, max_value=1e6, allow_nan=False),
    seed=st.binary(min_size=32, max_size=32),
)
def test_draws_never_leave_the_bounds(twin, base, jitter, seed):
    sampler = twin.JitterSampler(base, jitter, seed=seed)
    draws = sampler.draw_many(600)
    assert np.all(draws >= sampler.low) and np.all(draws <= sampler.high)


def test_empirical_distribution_is_the_documented_uniform_law(twin):
    base, jitter = 0.5, 2.0
    draws = twin.JitterSampler(base, jitter, seed=TEST_SEED).draw_many(20_000)
    assert stats.kstest(draws, "uniform", args=(base, jitter)).pvalue > KS_ALPHA


def test_the_same_ks_test_rejects_a_non_uniform_law(twin):
    """Negative control: the KS check above can fail. A triangular law on the same interval is caught."""
    base, jitter = 0.5, 2.0
    sampler = twin.JitterSampler(base, jitter / 2, seed=TEST_SEED)
    draws = sampler.draw_many(20_000) + sampler.draw_many(20_000) - base
    assert draws.min() >= base and draws.max() <= base + jitter
    assert stats.kstest(draws, "uniform", args=(base, jitter)).pvalue < 1e-6


def test_unseeded_samplers_draw_independent_streams(twin):
    first = twin.JitterSampler(0.0, 1.0).draw_many(64)
    second = twin.JitterSampler(0.0, 1.0).draw_many(64)
    assert not np.array_equal(first, second)


def test_seeded_stream_is_reproducible_and_draw_continues_draw_many(twin):
    a = twin.JitterSampler(1.0, 3.0, seed=TEST_SEED)
    b = twin.JitterSampler(1.0, 3.0, seed=TEST_SEED)
    head = [a.draw() for _ in range(700)]
    assert head == b.draw_many(700).tolist()
    assert a.draw() == b.draw()


@pytest.mark.parametrize("base,jitter", [(-1.0, 1.0), (0.0, 0.0), (0.0, -1.0), (math.inf, 1.0), (0.0, math.nan)])
def test_rejects_degenerate_or_unbounded_laws(twin, base, jitter):
    with pytest.raises(ValueError):
        twin.JitterSampler(base, jitter)


def test_rejects_a_seed_of_the_wrong_size(twin):
    with pytest.raises(ValueError):
        twin.JitterSampler(0.0, 1.0, seed=b"short")
