"""Benchmark helpers: both core twins as a parameter, and a ratio table measured in the same run.

Absolute times depend on the machine; ratios between implementations measured in
one run are what we compare and record.
"""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

import pytest

import mule._core as core


@pytest.fixture(scope="session", params=["cython", "python"])
def core_twin(request: pytest.FixtureRequest) -> SimpleNamespace:
    try:
        modules = core.load_twins(request.param)
    except ImportError as exc:
        pytest.skip(f"compiled core not built: {exc}")
    merged = {"implementation": request.param}
    for module in modules.values():
        merged.update({name: getattr(module, name) for name in dir(module) if not name.startswith("_")})
    return SimpleNamespace(**merged)


def pytest_terminal_summary(terminalreporter, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    groups: dict[str, dict[str, float]] = defaultdict(dict)
    for bench in session.benchmarks:
        if bench.stats is not None and bench.param:
            groups[bench.group or bench.name][str(bench.param)] = bench.stats.median
    lines = []
    for group, medians in sorted(groups.items()):
        if {"cython", "python"} <= medians.keys():
            ratio = medians["python"] / medians["cython"]
            lines.append(
                f"{group:<40} cython {medians['cython'] * 1e6:>11.2f} us   "
                f"python {medians['python'] * 1e6:>11.2f} us   python/cython {ratio:>7.1f}x"
            )
    if lines:
        terminalreporter.section("compiled vs pure-Python twin (medians, same run)")
        for line in lines:
            terminalreporter.write_line(line)
