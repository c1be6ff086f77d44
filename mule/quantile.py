"""Quantiles by the nearest-rank rule, with no dependency: the simulator's figures, the release thread's status and
the micro-benchmarks' spreads all read them, and the node's path must not import numpy's or scipy's statistics."""

from __future__ import annotations

import math
from collections.abc import Iterable


def quantiles(values: Iterable[float], qs: Iterable[float]) -> tuple[float, ...]:
    """Each ``q`` quantile of ``values`` (sorted once): a value that occurred, never interpolated; 0.0 for none."""
    ordered = sorted(values)
    count = len(ordered)
    if not count:
        return tuple(0.0 for _ in qs)
    return tuple(float(ordered[min(count - 1, max(0, math.ceil(q * count) - 1))]) for q in qs)


def quantile(values: Iterable[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (``quantiles`` for one ``q``)."""
    return quantiles(values, (q,))[0]
