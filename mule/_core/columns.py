"""Kad IDs as two uint64 columns, the layout ``closest_k`` works on."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

_U64 = (1 << 64) - 1


def id_columns(ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """High and low 64-bit halves of each ID, as two uint64 arrays."""
    values = list(ids)
    hi = np.fromiter(((v >> 64) & _U64 for v in values), dtype=np.uint64, count=len(values))
    lo = np.fromiter((v & _U64 for v in values), dtype=np.uint64, count=len(values))
    return hi, lo
