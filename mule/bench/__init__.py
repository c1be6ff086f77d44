"""Benchmark suites behind ``python -m mule bench``: micro (hot-path cost) and constancy (wire behaviour)."""
