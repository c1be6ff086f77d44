"""``python -m mule version`` says which core is loaded, and the two environment flags mean what they say."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_helpers import REPO, Cli

from mule.cli.exits import Exit


def core_line(result) -> str:
    return next(line for line in result.stdout.splitlines() if line.startswith("core: "))


@pytest.mark.compiled_only
def test_flags_select_the_core(cli: Cli, both_twins):
    assert core_line(cli.run("version", env=cli.env(MULE_NO_EXTENSIONS="0"))) == "core: cython"
    assert core_line(cli.run("version", env=cli.env(MULE_NO_EXTENSIONS="1"))) == "core: python"
    assert core_line(cli.run("version", env=cli.env(MULE_NO_EXTENSIONS="", MULE_REQUIRE_EXTENSIONS="1"))) == (
        "core: cython"
    )


def test_requiring_a_compiled_core_that_is_not_built_fails_in_one_line(cli: Cli, tmp_path: Path):
    checkout = tmp_path / "checkout"
    shutil.copytree(REPO / "mule", checkout / "mule", ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    env = cli.env(PYTHONPATH=str(checkout), MULE_REQUIRE_EXTENSIONS="1", MULE_NO_EXTENSIONS="")
    result = cli.run("version", env=env, cwd=checkout)
    assert result.returncode == Exit.CONFIG
    assert result.stderr.count("\n") == 1 and "MULE_REQUIRE_EXTENSIONS" in result.stderr
    assert "Traceback" not in result.stderr
    plain_env = cli.env(PYTHONPATH=str(checkout), MULE_NO_EXTENSIONS="", MULE_REQUIRE_EXTENSIONS="0")
    plain = cli.run("version", env=plain_env, cwd=checkout)
    assert core_line(plain) == "core: python"  # without the requirement it falls back, and says so


def test_an_explicit_choice_of_the_pure_twins_is_not_a_fallback(cli: Cli):
    result = cli.run("version", env=cli.env(MULE_NO_EXTENSIONS="1", MULE_REQUIRE_EXTENSIONS="1"))
    assert result.returncode == Exit.OK and core_line(result) == "core: python"
