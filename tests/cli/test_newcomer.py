"""A newcomer's first hour, scripted: a clean copy of the checkout, a fresh venv, the README's two commands,
then the mistakes issue 12 lists. Slow (it builds the compiled core): marked ``slow`` and ``once`` (run in the
compiled pass of scripts/run-tests only), never against a real router."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import REPO, closed_port

from mule.cli.exits import Exit

pytestmark = [pytest.mark.slow, pytest.mark.once]
BUILD_TIMEOUT_S = 1200


def readme_commands() -> list[str]:
    """The README's opening block: exactly two commands."""
    block = re.search(r"```sh\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert block
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(commands) == 2, commands
    return commands


def clean_copy(target: Path) -> None:
    """What a fresh clone holds: the tracked files (as they are in the work tree), no build products."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=False)
    if listed.returncode != 0:
        shutil.copytree(REPO, target, ignore=shutil.ignore_patterns("*.so", "*.c", "build", "__pycache__", ".git"))
        return
    for name in listed.stdout.decode().split("\0"):
        source = REPO / name
        if name and source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def test_a_newcomer_follows_the_readme_and_makes_the_usual_mistakes(tmp_path: Path, silent_bridge: int):
    install, test_command = readme_commands()
    first_install, first_run = install.split(" && ")
    assert first_run == "python -m mule run"
    checkout, venv, home = tmp_path / "mule", tmp_path / "venv", tmp_path / "home"
    checkout.mkdir()
    home.mkdir()
    clean_copy(checkout)
    assert not list(checkout.rglob("*.so"))
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=BUILD_TIMEOUT_S)
    # A safety net, not a crutch: should a router listen on the default port here, the node must not reach it.
    config = tmp_path / "no-router.toml"
    config.write_text(f'[sam]\naddress = "127.0.0.1:{closed_port()}"\n')
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MULE_", "XDG_", "PYTHON", "VIRTUAL_ENV", "NOTIFY_SOCKET"))
    }
    env |= {"PATH": f"{venv / 'bin'}:{env.get('PATH', '')}", "HOME": str(home), "VIRTUAL_ENV": str(venv)}

    def sh(command: str, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", command], cwd=checkout, env=env | extra, capture_output=True, text=True, timeout=timeout
        )

    # The README's first command: build, then run (no router here: one line, exit 4, nothing written).
    built = sh(first_install, timeout=BUILD_TIMEOUT_S)
    assert built.returncode == 0, built.stderr[-3000:]
    ran = sh(first_run, MULE_CONFIG=str(config))
    assert ran.returncode == Exit.NO_ROUTER, ran.stderr
    assert "Traceback" not in ran.stderr and "no SAM bridge answers" in ran.stderr
    assert not (home / ".local" / "share" / "mule" / "preferencesKad.dat").exists()
    version = sh("python -m mule version")
    assert "core: cython" in version.stdout.splitlines(), version.stdout  # the checkout's own build, in place
    assert f"from: {checkout / 'mule'}" in version.stdout
    assert "core: cython" in sh("MULE_REQUIRE_EXTENSIONS=1 python -m mule version").stdout

    # The README's second command, on a small selection so the suite does not run itself.
    tested = sh(f"{test_command} tests/core/test_kadid.py tests/cli/test_config_cli.py", timeout=BUILD_TIMEOUT_S)
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-3000:]

    # The mistakes, each a one-line error with the documented code.
    mistakes = {
        "python -m mule run --testbed --peers 0": Exit.USAGE,
        "python -m mule run --sam http://127.0.0.1:7656": Exit.CONFIG,
        "python -m mule run --data-dir ''": Exit.CONFIG,
        "python -m mule nodes inspect /dev/zero": Exit.FAILED,
        f"python -m mule selftest --sam 127.0.0.1:{closed_port()} --timeout 2": Exit.NO_ROUTER,
        "python -m mule run -v --config /nonexistent.toml": Exit.CONFIG,
    }
    for command, code in mistakes.items():
        result = sh(command)
        assert result.returncode == code, (command, result.stderr)
        assert "Traceback" not in result.stderr, command

    # Two nodes on one data dir: the second is refused at once, naming the first.
    data = tmp_path / "data"
    first = subprocess.Popen(
        ["python", "-m", "mule", "run", "--sam", f"127.0.0.1:{silent_bridge}", "--data-dir", str(data)],
        cwd=checkout,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert first.stderr is not None
    while "contacting the SAM bridge" not in (line := first.stderr.readline()):
        assert line, "the first node never got to the router"
    second = sh(f"python -m mule run --data-dir {data}")
    assert second.returncode == Exit.LOCKED and f"PID {first.pid}" in second.stderr
    first.send_signal(signal.SIGINT)
    assert first.wait(60) == Exit.OK
    assert "Traceback" not in first.stderr.read()
