"""``python -m mule nodes inspect``: a summary, every contact as JSON, and a one-line reason for a bad file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mule.cli import main

FIXTURE = Path(__file__).resolve().parents[2] / "mule" / "kad" / "data" / "nodes.initseed.dat"


def test_summary(capsys):
    assert main(["nodes", "inspect", str(FIXTURE)]) == 0
    out = capsys.readouterr().out
    assert "nodes.dat version 2\n" in out
    assert "contacts: 154 (133 verified)" in out
    assert "kad versions: v0: 18, v8: 136" in out


def test_json_lists_every_contact(capsys):
    assert main(["nodes", "inspect", "--json", str(FIXTURE)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["version"], document["count"], len(document["contacts"])) == (2, 154, 154)
    first = document["contacts"][0]
    assert set(first) == {"kad_id", "version", "dest_hash", "dest_valid", "udp_key", "udp_key_ip", "verified", "dest"}
    assert len(first["dest"]) == 516 and len(first["kad_id"]) == 32
    assert all(contact["dest_valid"] for contact in document["contacts"])


@pytest.mark.parametrize(
    "content", [b"", b"\x00\x00\x00\x00\x02\x00\x00\x00\x09\x00\x00\x00", FIXTURE.read_bytes()[:5000]]
)
def test_bad_file_exits_nonzero_with_one_line(tmp_path, capsys, content):
    path = tmp_path / "nodes.dat"
    path.write_bytes(content)
    assert main(["nodes", "inspect", str(path)]) != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and str(path) in captured.err


def test_missing_file(tmp_path, capsys):
    assert main(["nodes", "inspect", str(tmp_path / "absent.dat")]) != 0
    assert capsys.readouterr().err.count("\n") == 1


def test_real_process_prints_no_traceback(tmp_path):
    path = tmp_path / "nodes.dat"
    path.write_bytes(FIXTURE.read_bytes()[:777])
    result = subprocess.run(
        [sys.executable, "-m", "mule", "nodes", "inspect", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ},
        check=False,
    )
    assert result.returncode != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom"])
def test_a_device_fails_fast_in_one_line(path):
    # Unbounded, /dev/zero read until memory ran out; now the read is bounded and a device is refused outright.
    result = subprocess.run(
        [sys.executable, "-m", "mule", "nodes", "inspect", path], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1 and result.stderr == f"nodes inspect: {path}: not a regular file\n"


def test_a_huge_file_is_refused_without_being_read_whole(tmp_path, capsys):
    path = tmp_path / "nodes.dat"
    with open(path, "wb") as handle:
        handle.truncate(64 << 20)  # sparse: 64 MiB of zeros
    assert main(["nodes", "inspect", str(path)]) == 1
    assert "larger than" in capsys.readouterr().err
