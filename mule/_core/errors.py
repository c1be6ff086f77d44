"""The one error type the framing primitives raise, shared by both twins."""

from __future__ import annotations


class FramingError(ValueError):
    """Short, oversized or otherwise invalid bytes (or values that do not fit a field)."""
