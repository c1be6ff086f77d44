"""``python -m mule simulate`` in a subprocess: figures as JSON on stdout, nothing else there, usage errors exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mule.cli.exits import Exit

REPO = Path(__file__).resolve().parents[2]
DEADLINE_S = 120.0
"""A hang bound only, never a timing assertion."""


def simulate(*args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "mule", "simulate", *args],
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
        env=env,
        cwd=REPO,
        check=False,
    )


def test_json_figures_for_a_small_network():
    result = simulate("--nodes", "20", "--hours", "0.1", "--json")
    assert result.returncode == Exit.OK, result.stderr
    assert result.stderr == ""  # progress only on a terminal
    figures = json.loads(result.stdout)
    assert figures["config"]["nodes"] == 20 and figures["nodes_live"] == 20
    assert figures["simulated_seconds"] == 360.0
    assert figures["contacts"]["count"] == 20 and figures["contacts"]["median"] >= 15
    assert figures["by_opcode_per_node_minute"]["HELLO_REQ"] > 0
    assert figures["cpu_seconds"] > 0 and figures["core"]["faults"] == 0


def test_text_figures_and_usage_errors():
    text = simulate("--nodes", "12", "--hours", "0.05", "--seed", "2", "--churn", "0.2")
    assert text.returncode == Exit.OK, text.stderr
    assert "contacts per routing table" in text.stdout and "HELLO_REQ" in text.stdout
    bad = simulate("--nodes", "1", "--hours", "0.1")
    assert bad.returncode == Exit.USAGE and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
