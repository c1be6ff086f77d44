"""The systemd unit in docs/deploy.md is one systemd accepts (``systemd-analyze verify``, where installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_helpers import REPO

from mule.node.priority import DEPLOYED_NICE, RELEASE_PRIORITY

UNIT_BLOCK = re.compile(r"```ini\n# /etc/systemd/system/mule.service\n(.*?)```", re.S)


def unit_text() -> str:
    match = UNIT_BLOCK.search((REPO / "docs" / "deploy.md").read_text())
    assert match, "docs/deploy.md has no mule.service block"
    return match.group(1)


def test_the_unit_has_the_promised_hardening():
    unit = unit_text()
    for line in (
        "Type=notify",
        "DynamicUser=yes",
        "StateDirectory=mule",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "RestartPreventExitStatus=2 3",
        f"Nice={DEPLOYED_NICE}",  # the priority mule run takes and the constancy bench measures
        f"LimitRTPRIO={RELEASE_PRIORITY}",  # lets the release thread take SCHED_FIFO at that priority, no higher
    ):
        assert re.search(rf"^{re.escape(line)}$", unit, re.M), line
    assert not re.search(r"^RestrictRealtime=yes$", unit, re.M)  # it would forbid the release thread's SCHED_FIFO


def verify(tmp_path: Path, unit: str) -> list[str]:
    """What ``systemd-analyze verify`` says about our unit (with ExecStart pointing at a real Python)."""
    python = tmp_path / "opt" / "mule" / "bin" / "python"
    python.parent.mkdir(parents=True, exist_ok=True)
    if not python.exists():
        python.symlink_to(shutil.which("python3") or "/usr/bin/python3")
    path = tmp_path / "mule.service"
    path.write_text(unit.replace("/opt/mule/bin/python", str(python)))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(path)], capture_output=True, text=True, timeout=60
    )
    # Outside a booted systemd (containers, CI) verify may also complain about the host's own units and about
    # i2pd.service not being installed; only lines about our unit count.
    return [line for line in result.stderr.splitlines() if "mule.service" in line and "i2pd.service" not in line]


needs_systemd_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")


@needs_systemd_analyze
def test_systemd_analyze_verifies_the_unit(tmp_path: Path):
    assert verify(tmp_path, unit_text()) == []


@needs_systemd_analyze
def test_systemd_analyze_catches_a_bad_directive(tmp_path: Path):
    # The negative control: the check above would pass vacuously if verify ignored our file.
    broken = unit_text().replace("ProtectSystem=strict", "ProtectSystem=sometimes")
    (problem,) = verify(tmp_path, broken)
    assert "sometimes" in problem
