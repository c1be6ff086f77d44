"""Fixtures for tests against real i2pd routers in the offline test bed (docs/testing.md, mule.i2p.testbed).

Tests marked ``integration`` need i2pd and a loopback-only network namespace. Without either they are
skipped with the reason on every test and a warning line in the summary: never silently passed.
Run them with ``unshare -n sh -c 'ip link set lo up && exec python -m pytest tests/integration -m integration'``
(root) or under ``scripts/i2p-testbed -- ...`` (the fixtures' bed then runs beside the script's, on slot 1).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mule.i2p import testbed

RUN_HINT = "run: unshare -n sh -c 'ip link set lo up && exec python -m pytest tests/integration -m integration'"
FIXTURE_SLOT = 1  # ports 8656.. and 198.18.1.x: apart from a bed scripts/i2p-testbed runs on slot 0
NOT_RUN = "REAL-ROUTER TEST NOT RUN"


def bed_unavailable_reason() -> str | None:
    """Why real-router tests cannot run here, or None when they can."""
    if testbed.i2pd_binary() is None:
        return "i2pd is not installed (Debian: apt-get install i2pd after a policy-rc.d no-op; see docs/testing.md)"
    if not testbed.is_loopback_only():
        interfaces = ", ".join(testbed.network_interfaces())
        return f"not inside a loopback-only network namespace (interfaces: {interfaces}); {RUN_HINT}"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = bed_unavailable_reason()
    if reason is None:
        return
    marker = pytest.mark.skip(reason=f"{NOT_RUN}: {reason}")
    for item in items:
        if item.get_closest_marker("integration") is not None:
            item.add_marker(marker)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One loud line for the real-router tests that were skipped (deselected ones were not asked for)."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if NOT_RUN in str(r.longrepr)]
    if skipped:
        reason = bed_unavailable_reason()
        terminalreporter.write_line(
            f"WARNING: {len(skipped)} integration test(s) SKIPPED, not run: {reason}", yellow=True, bold=True
        )


@pytest.fixture(scope="session")
def i2p_testbed() -> Iterator[testbed.Testbed]:
    """The recipe's bed (one i2pd router, 0-hop tunnels), shared by the whole session."""
    reason = bed_unavailable_reason()
    if reason is not None:
        pytest.skip(f"{NOT_RUN}: {reason}")
    bed = testbed.Testbed(testbed.BedOptions(slot=FIXTURE_SLOT))
    try:
        bed.start()
    except testbed.TestbedError as exc:
        bed.cleanup()
        pytest.fail(f"the offline test bed did not start: {exc}")
    yield bed
    bed.cleanup()


@pytest.fixture(scope="session")
def i2p_routers(i2p_testbed: testbed.Testbed) -> list[testbed.Router]:
    return i2p_testbed.routers


@pytest.fixture(scope="session")
def i2p_router(i2p_testbed: testbed.Testbed) -> testbed.Router:
    """``.sam_host``, ``.sam_port``, ``.sam_address``; ``.restart()`` restarts it on the same data dir.

    Shared: a test that restarts it ends every session other tests hold, so tests open their own sessions.
    SAM DATAGRAM sessions on it need ``i2p_testbed.session_options``.
    """
    return i2p_testbed.routers[0]


@pytest.fixture(scope="session")
def delivery_available(i2p_testbed: testbed.Testbed) -> testbed.DeliveryCheck:
    """Truthy when two SAM sessions placed as ``i2p_testbed.pair()`` says exchange datagrams; one probe per
    test session (about 20 s: i2pd 2.45.1 answers SESSION CREATE after its 20 s readiness check)."""
    return testbed.check_delivery(i2p_testbed)


@pytest.fixture
def require_delivery(delivery_available: testbed.DeliveryCheck) -> testbed.DeliveryCheck:
    """Skip (loudly, with the probe's evidence) a test that needs datagram delivery when the bed has none;
    tests/integration/test_testbed.py::test_datagrams_delivered_both_ways fails in that case."""
    if not delivery_available:
        pytest.skip(f"DELIVERY TEST NOT RUN: the test bed delivers no datagrams here: {delivery_available.reason}")
    return delivery_available
