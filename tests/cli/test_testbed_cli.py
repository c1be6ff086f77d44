"""``run --testbed`` refuses what would damage a real node or crash, before it starts any router."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_helpers import Cli

from mule.cli.exits import Exit

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="--testbed needs root; without it the refusal comes first")


def test_zero_peers_is_a_usage_error(cli: Cli):
    # It used to start our node twice as its own seed and end in a DUPLICATED_ID traceback.
    result = cli.run("run", "--testbed", "--peers", "0")
    assert result.returncode == Exit.USAGE
    assert "--peers: must be a whole number from 1 to 16" in result.stderr and "Traceback" not in result.stderr


@root_only
def test_a_real_nodes_data_dir_is_refused_and_left_untouched(cli: Cli, tmp_path: Path):
    data = tmp_path / "node"
    data.mkdir(mode=0o700)
    (data / "nodes.dat").write_bytes(b"154 contacts")
    (data / "preferencesKad.dat").write_bytes(b"an identity")
    result = cli.run("run", "--testbed", "--data-dir", str(data))
    assert result.returncode == Exit.CONFIG
    assert "holds a node's state" in result.stderr and "Traceback" not in result.stderr
    assert (data / "nodes.dat").read_bytes() == b"154 contacts"
    assert sorted(p.name for p in data.iterdir()) == ["nodes.dat", "preferencesKad.dat"]


@root_only
def test_an_empty_data_dir_string_is_refused(cli: Cli):
    result = cli.run("run", "--testbed", "--data-dir", "")
    assert result.returncode == Exit.CONFIG and "empty string" in result.stderr
