"""Shared test fixtures: both core twins, hypothesis profiles."""

from __future__ import annotations

import logging
import logging.handlers
import os
import resource
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, settings

import mule._core as core

settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")

CAP_SYS_NICE = 23  # linux/capability.h


def _twin(implementation: str) -> SimpleNamespace:
    """One twin of every core module, flattened into one namespace."""
    try:
        modules = core.load_twins(implementation)
    except ImportError as exc:
        if implementation == "cython" and os.environ.get("MULE_REQUIRE_EXTENSIONS"):
            pytest.fail(f"compiled core required but not importable: {exc}")
        pytest.skip(f"compiled core not built: {exc}")
    merged: dict[str, object] = {"implementation": implementation}
    for module in modules.values():
        merged.update({name: getattr(module, name) for name in dir(module) if not name.startswith("_")})
    return SimpleNamespace(**merged)


_CLI_HANDLERS = (logging.StreamHandler, logging.handlers.WatchedFileHandler)
"""What ``mule.cli.logs.configure_logging`` installs (pytest's own handlers are subclasses, never these exactly)."""


@pytest.fixture(autouse=True)
def cli_logging_undone() -> Iterator[None]:
    """A command run in-process replaces the root logger's handlers with a stream on the ``sys.stderr`` of its
    moment (under pytest, a capture that closes with the test): undo it, so later tests never log to a closed file."""
    root = logging.getLogger()
    before, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("mule", "mule.node.service")}
    yield
    for handler in root.handlers[:]:
        if type(handler) in _CLI_HANDLERS and handler not in before:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    for name, was in levels.items():
        logging.getLogger(name).setLevel(was)


@pytest.fixture(scope="session", params=["cython", "python"])
def twin(request: pytest.FixtureRequest) -> SimpleNamespace:
    """Each core twin in turn: every test that takes it runs once per implementation."""
    return _twin(request.param)


@pytest.fixture(scope="session")
def both_twins() -> tuple[SimpleNamespace, SimpleNamespace]:
    """The compiled and the pure-Python twin together, for differential tests."""
    return _twin("cython"), _twin("python")


def _effective_capabilities() -> int:
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(line.split()[1] for line in status if line.startswith("CapEff:")), 16)


@pytest.fixture(scope="session")
def release_priority_allowed() -> bool:
    """Whether the rules let a thread of this process take SCHED_FIFO at the release thread's priority."""
    from mule.node.priority import RELEASE_PRIORITY

    rtprio = resource.getrlimit(resource.RLIMIT_RTPRIO)[0]
    return (
        bool(_effective_capabilities() >> CAP_SYS_NICE & 1)
        or rtprio == resource.RLIM_INFINITY
        or rtprio >= RELEASE_PRIORITY
    )


@pytest.fixture(scope="session")
def taken_niceness() -> int:
    """The niceness a node started from this process runs at: the deployed one when root or RLIMIT_NICE allow it
    (worked out from the rules, not by taking it, which cannot be undone), else this process's own."""
    from mule.node.priority import DEPLOYED_NICE

    current = os.getpriority(os.PRIO_PROCESS, 0)
    may_lower = (
        bool(_effective_capabilities() >> CAP_SYS_NICE & 1)
        or 20 - resource.getrlimit(resource.RLIMIT_NICE)[0] <= DEPLOYED_NICE
    )
    return DEPLOYED_NICE if may_lower and current > DEPLOYED_NICE else current
