"""``python -m mule run`` as an operator meets it, each check on the real command in a subprocess: one-line
errors with the documented exit codes, one instance per data dir, state files never lost, every phase
reported, and SIGINT/SIGTERM honoured at every phase without a traceback."""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

from cli_helpers import SIGNALS, Cli, closed_port, stop_with, wait_for_line
from fake_bridge import FakeBridge

from mule.cli.exits import Exit
from mule.config.lock import DataDirLock
from mule.kad.files.preferences_kad import build_preferences_kad, read_preferences_kad
from mule.node.identity import PREFERENCES_KAD, UDP_KEY_FILE
from mule.node.priority import DEPLOYED_NICE


def errors(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("mule:")]


def test_no_router_is_one_line_and_writes_no_identity(cli: Cli, tmp_path: Path):
    data = tmp_path / "data"
    result = cli.run("run", "--sam", f"127.0.0.1:{closed_port()}", "--data-dir", str(data))
    assert result.returncode == Exit.NO_ROUTER
    (line,) = errors(result.stderr)
    assert "no SAM bridge answers" in line and "docs/deploy.md" in line
    assert sorted(path.name for path in data.iterdir()) == ["mule.lock"]  # no Kad ID made for a node that never ran


def test_selftest_uses_the_same_code_for_no_router(cli: Cli):
    result = cli.run("selftest", "--sam", f"127.0.0.1:{closed_port()}", "--timeout", "2")
    assert result.returncode == Exit.NO_ROUTER
    assert len(errors(result.stderr)) == 1


def test_an_ipv6_address_alone_is_a_host_not_host_colon_port(cli: Cli, tmp_path: Path):
    result = cli.run("run", "--sam", "::1", "--data-dir", str(tmp_path / "data"))
    assert result.returncode == Exit.NO_ROUTER  # nobody listens on [::1]:7656 here; the point is how it was read
    assert "[::1]:7656" in errors(result.stderr)[0]


def test_bad_settings_are_config_errors_with_the_reason(cli: Cli, tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    cases = [
        (("--sam", "127.0.0.1:notaport"), "no valid port"),
        (("--sam", "http://127.0.0.1:7656"), "is a URL"),
        (("--data-dir", ""), "empty string"),
        (("--data-dir", str(blocker)), "not a directory"),
        (("--sam-option", "novalue"), "KEY=VALUE"),
        (("--sam-option", "inbound.length=1 SESSION"), "single tokens"),
    ]
    for flags, reason in cases:
        result = cli.run("run", *flags)
        assert result.returncode == Exit.CONFIG, (flags, result.stderr)
        assert any(reason in line for line in errors(result.stderr)), (flags, result.stderr)
    assert not (cli.home / ".local").exists()  # nothing was created for a run that could not start


def test_a_locked_data_dir_names_the_holder_and_does_not_wait_for_the_router(
    cli: Cli, tmp_path: Path, silent_bridge: int
):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    with DataDirLock(data):
        # The bridge never answers: a run that reached it would hang, so the lock is checked first.
        result = cli.run("run", "--sam", f"127.0.0.1:{silent_bridge}", "--data-dir", str(data))
    assert result.returncode == Exit.LOCKED
    (line,) = errors(result.stderr)
    assert f"PID {os.getpid()}" in line and str(data) in line


def test_state_files_are_checked_before_the_router_and_never_replaced(cli: Cli, tmp_path: Path, silent_bridge: int):
    cases = {
        PREFERENCES_KAD: (b"\x00\x00\x01", "needs at least 18"),
        UDP_KEY_FILE: (b"[Obfuscation]\nCryptoKadUDPKey=banana\n", "CryptoKadUDPKey"),
        "i2p-destination.keys": (b"not base64 at all\n", "does not hold SAM private keys"),
    }
    for name, (content, reason) in cases.items():
        data = tmp_path / name
        data.mkdir(mode=0o700)
        (data / name).write_bytes(content)
        result = cli.run("run", "--sam", f"127.0.0.1:{silent_bridge}", "--data-dir", str(data))
        assert result.returncode == Exit.CONFIG, (name, result.stderr)
        (line,) = errors(result.stderr)
        assert name in line and reason in line
        assert (data / name).read_bytes() == content


def test_an_all_zero_kad_id_is_refused_not_replaced(cli: Cli, tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    zero = build_preferences_kad(0)
    (data / PREFERENCES_KAD).write_bytes(zero)
    result = cli.run("run", "--sam", f"127.0.0.1:{closed_port()}", "--data-dir", str(data))
    assert result.returncode == Exit.CONFIG
    (line,) = errors(result.stderr)
    assert "all-zero Kad ID" in line and PREFERENCES_KAD in line
    assert (data / PREFERENCES_KAD).read_bytes() == zero


def test_stale_temporaries_go_and_an_open_data_dir_is_tightened(cli: Cli, tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    os.chmod(data, 0o755)
    stale = [data / ".nodes.dat.k2j3h4.tmp", data / "i2p-destination.keys.tmp"]
    for path in stale:
        path.write_bytes(b"half a write")
    (data / "nodes.dat").write_bytes(b"kept")
    result = cli.run("run", "--sam", f"127.0.0.1:{closed_port()}", "--data-dir", str(data))
    assert result.returncode == Exit.NO_ROUTER
    assert not any(path.exists() for path in stale) and (data / "nodes.dat").read_bytes() == b"kept"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert "was mode 0755" in result.stderr


def test_data_dir_and_parents_are_private_whatever_the_umask(cli: Cli, tmp_path: Path):
    data = tmp_path / "a" / "b" / "data"
    result = cli.run(
        "run", "--sam", f"127.0.0.1:{closed_port()}", "--data-dir", str(data), preexec_fn=lambda: os.umask(0)
    )
    assert result.returncode == Exit.NO_ROUTER
    for path in (tmp_path / "a", tmp_path / "a" / "b", data):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


def test_verbose_works_after_the_command_too(cli: Cli, tmp_path: Path):
    result = cli.run("run", "-v", "--sam", f"127.0.0.1:{closed_port()}", "--data-dir", str(tmp_path / "d"))
    assert result.returncode == Exit.NO_ROUTER
    assert " DEBUG mule.config: settings " in result.stderr


def test_phases_are_reported_and_a_signal_stops_the_running_node(
    cli: Cli, tmp_path: Path, bridge: FakeBridge, taken_niceness: int
):
    data = tmp_path / "data"
    process = cli.start("run", "--sam", f"127.0.0.1:{bridge.port}", "--data-dir", str(data))
    seen: list[str] = []
    wait_for_line(process, "router reachable: SAM 3.1", seen)
    up = wait_for_line(process, "session created after", seen)
    assert f"node {read_preferences_kad(data / PREFERENCES_KAD):032x} (ours) as " in up and ".b32.i2p" in up
    wait_for_line(process, "bootstrapping from", seen)
    assert stop_with(process, signal.SIGTERM, seen) == Exit.OK
    output = "".join(seen)
    assert "SIGTERM: stopping" in output and "stopped" in output and "Traceback" not in output
    # Below the deployed priority the node takes it when the OS lets it (root here), else the log says so, once.
    niceness = os.getpriority(os.PRIO_PROCESS, 0)
    raised = taken_niceness < niceness
    assert output.count(f"priority raised: niceness {niceness} -> {DEPLOYED_NICE}") == int(raised)
    advised = taken_niceness > DEPLOYED_NICE
    assert output.count(f"run the node at Nice={DEPLOYED_NICE} (docs/deploy.md)") == int(advised)


@SIGNALS
def test_a_signal_while_the_router_does_not_answer_ends_the_start(cli: Cli, tmp_path: Path, silent_bridge, signum):
    process = cli.start("run", "--sam", f"127.0.0.1:{silent_bridge}", "--data-dir", str(tmp_path / "data"))
    seen: list[str] = []
    wait_for_line(process, "contacting the SAM bridge", seen)
    assert stop_with(process, signum, seen) == Exit.OK
    output = "".join(seen)
    assert f"{signal.Signals(signum).name}: stopping" in output and "Traceback" not in output
    assert not (tmp_path / "data" / PREFERENCES_KAD).exists()


@SIGNALS
def test_a_signal_while_the_session_is_being_created_ends_the_start(
    cli: Cli, tmp_path: Path, bridge: FakeBridge, signum
):
    bridge.swallow.add(("SESSION", "CREATE"))  # the router answers HELLO, then takes forever with the session
    process = cli.start("run", "--sam", f"127.0.0.1:{bridge.port}", "--data-dir", str(tmp_path / "data"))
    seen: list[str] = []
    wait_for_line(process, "creating the SAM session", seen)
    assert stop_with(process, signum, seen) == Exit.OK
    assert "Traceback" not in "".join(seen)


def test_json_logs_are_one_object_per_line_and_never_carry_a_destination(cli: Cli, tmp_path: Path, bridge: FakeBridge):
    import json

    process = cli.start(
        "run", "--log-format", "json", "--sam", f"127.0.0.1:{bridge.port}", "--data-dir", str(tmp_path / "d")
    )
    seen: list[str] = []
    wait_for_line(process, "session created", seen)
    stop_with(process, signal.SIGINT, seen)
    records = [json.loads(line) for line in "".join(seen).splitlines() if line.startswith("{")]
    assert records and {"time", "level", "logger", "message"} <= set(records[0])
    destination_b64 = (tmp_path / "d" / "i2p-destination.keys").read_text().strip()[:516]
    assert all(destination_b64[:64] not in record["message"] for record in records)


def test_a_bad_config_file_never_produces_a_traceback(cli: Cli, tmp_path: Path):
    config = tmp_path / "mule.toml"
    config.write_text("[sam\naddress = 1\n")
    result = cli.run("run", "--config", str(config))
    assert result.returncode == Exit.CONFIG
    assert "syntax" in errors(result.stderr)[0]


def test_the_config_file_is_used_and_flags_override_it(cli: Cli, tmp_path: Path):
    port = closed_port()
    config = tmp_path / "mule.toml"
    config.write_text(f'[sam]\naddress = "127.0.0.1:{port}"\n[node]\ndata_dir = "{tmp_path / "from-config"}"\n')
    result = cli.run("run", env=cli.env(MULE_CONFIG=str(config)))
    assert result.returncode == Exit.NO_ROUTER and f"127.0.0.1:{port}" in result.stderr
    assert (tmp_path / "from-config").is_dir()
    result = cli.run("run", "--data-dir", str(tmp_path / "from-flag"), env=cli.env(MULE_CONFIG=str(config)))
    assert (tmp_path / "from-flag").is_dir()
