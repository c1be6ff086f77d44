"""``python -m mule run`` as a user meets it: clear one-line errors and exit codes, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from mule.cli.run import EXIT_CONFIG, EXIT_NO_ROUTER


def mule(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mule", *args], capture_output=True, text=True, timeout=60)


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_no_router_says_so_in_one_line_and_points_at_the_deploy_guide(tmp_path: Path):
    result = mule("run", "--sam", f"127.0.0.1:{closed_port()}", "--data-dir", str(tmp_path / "data"))
    assert result.returncode == EXIT_NO_ROUTER
    errors = [line for line in result.stderr.splitlines() if line.startswith("mule:")]
    assert len(errors) == 1 and "no SAM bridge answers" in errors[0] and "docs/deploy.md" in errors[0]
    assert "Traceback" not in result.stderr


def test_a_bad_sam_address_is_a_config_error(tmp_path: Path):
    result = mule("run", "--sam", "127.0.0.1:notaport", "--data-dir", str(tmp_path))
    assert result.returncode == EXIT_CONFIG
    assert "no valid port" in result.stderr and "Traceback" not in result.stderr


def test_an_unusable_data_dir_is_a_config_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = mule("run", "--data-dir", str(blocker))
    assert result.returncode == EXIT_CONFIG
    assert "not a directory" in result.stderr and "Traceback" not in result.stderr
