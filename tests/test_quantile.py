"""The one nearest-rank quantile (``mule.quantile``) that the simulator, the release thread and the benches read."""

from __future__ import annotations

import math
import random

from mule.quantile import quantile, quantiles


def test_nearest_rank_picks_a_value_that_occurred():
    values = list(range(1, 101))
    random.Random(1).shuffle(values)
    assert quantiles(values, (0.0, 0.01, 0.05, 0.5, 0.95, 0.99, 1.0)) == (1, 1, 5, 50, 95, 99, 100)
    assert quantile([0.4, 0.1, 0.3, 0.2], 0.5) == 0.2  # a sample, never the 0.25 interpolation would give


def test_it_agrees_with_the_definition_on_random_samples():
    rng = random.Random(7)
    for _ in range(200):
        values = [rng.random() for _ in range(rng.randrange(1, 60))]
        q = rng.random()
        ordered = sorted(values)
        # the smallest value with at least q of the samples at or below it
        expected = next(v for i, v in enumerate(ordered, 1) if i >= q * len(ordered) - 1e-12)
        assert quantile(values, q) == expected
        assert math.isclose(quantile(values, 1.0), max(values))


def test_no_samples_read_zero():
    assert quantile([], 0.99) == 0.0
    assert quantiles((), (0.5, 0.99)) == (0.0, 0.0)
