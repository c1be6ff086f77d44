"""``python -m mule selftest`` against the scripted bridge: timings when all is well, one clear line when not."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from fake_bridge import FakeBridge, threaded_bridge

from mule.cli import main
from mule.cli.exits import Exit


def _run_selftest(argv: list[str]) -> int:
    return main(["selftest", *argv])


@pytest.fixture
def bridge() -> Iterator[FakeBridge]:
    """A fake bridge on its own loop in a thread: the selftest runs its own ``asyncio.run``."""
    with threaded_bridge() as served:
        yield served.bridge


def test_selftest_delivers_on_both_paths(bridge: FakeBridge, capsys: pytest.CaptureFixture[str]) -> None:
    code = _run_selftest(
        ["--sam", f"127.0.0.1:{bridge.port}", "--udp-port", str(bridge.udp_port), "--count", "5", "--timeout", "5"]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "HELLO: SAM 3.1" in out.out
    assert "udp: A->B 5/5, B->A 5/5" in out.out and "tcp: A->B 5/5, B->A 5/5" in out.out
    assert "all datagrams delivered" in out.out
    assert sum(line.startswith("SESSION CREATE") for line in bridge.commands) == 4


def test_selftest_reports_undelivered_paths(bridge: FakeBridge, capsys: pytest.CaptureFixture[str]) -> None:
    wrong_udp_port = bridge.port  # a TCP-only port: forwarded datagrams go nowhere
    code = _run_selftest(
        ["--sam", f"127.0.0.1:{bridge.port}", "--udp-port", str(wrong_udp_port), "--count", "2", "--timeout", "0.5"]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == Exit.FAILED
    assert err == ["selftest: datagrams not delivered within 0.5 s on: udp"]


def test_selftest_without_a_router_is_one_line_and_exit_4(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    code = _run_selftest(["--sam", f"127.0.0.1:{free_port}", "--timeout", "2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == Exit.NO_ROUTER
    assert len(err) == 1 and "no SAM bridge answers" in err[0] and "docs/deploy.md" in err[0]


@pytest.mark.parametrize("argv", [["--sam", "127.0.0.1:notaport"], ["--option", "novalue"], ["--count", "0"]])
def test_selftest_bad_arguments_are_config_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_selftest(argv) == Exit.CONFIG
    err = capsys.readouterr().err
    assert err.startswith("mule: ") and err.count("\n") == 1


def test_selftest_when_the_router_refuses_sessions(bridge: FakeBridge, capsys: pytest.CaptureFixture[str]) -> None:
    bridge.play("SESSION", "CREATE", b"SESSION STATUS RESULT=I2P_ERROR MESSAGE=no tunnels\n", hang_up=True)
    code = _run_selftest(["--sam", f"127.0.0.1:{bridge.port}", "--udp-port", str(bridge.udp_port), "--timeout", "2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == Exit.NO_ROUTER
    assert err == ["mule: SESSION CREATE failed: SESSION STATUS RESULT=I2P_ERROR: no tunnels"]
