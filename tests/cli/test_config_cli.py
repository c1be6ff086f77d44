"""``python -m mule config sample`` / ``config check``: the sample is valid and complete, every mistake is
reported at once with its key, and the file is found where the docs say."""

from __future__ import annotations

import tomllib
from pathlib import Path

from cli_helpers import Cli

from mule.cli.exits import Exit
from mule.config import sample_text
from mule.config.settings import KEYS, ConfigProblems, read_config_file


def test_the_sample_is_valid_and_sets_or_mentions_every_key(cli: Cli, tmp_path: Path):
    result = cli.run("config", "sample")
    assert result.returncode == Exit.OK and result.stdout == sample_text()
    path = tmp_path / "config.toml"
    path.write_text(result.stdout)
    checked = cli.run("config", "check", str(path))
    assert checked.returncode == Exit.OK and "OK" in checked.stdout, checked.stderr
    document = tomllib.loads(result.stdout)
    for key in KEYS:
        table, name = key.name.split(".")
        assert name in document.get(table, {}) or f"# {name} = " in result.stdout, key.name


def test_three_mistakes_are_all_reported_with_their_keys(cli: Cli, tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text(
        sample_text()
        .replace('address = "127.0.0.1:7656"', 'address = "http://127.0.0.1:7656"')  # a URL
        .replace('level = "info"', "level = 3")  # wrong type
        .replace("status_interval = 60", "status_interval = 1")  # out of range
        + "\n[shaper]\ndelay = 0\n"  # not a setting: contract constants are the profile's
    )
    result = cli.run("config", "check", str(path))
    assert result.returncode == Exit.CONFIG and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    for key, why in [
        ("sam.address", "is a URL"),
        ("log.level", "must be a string"),
        ("log.status_interval", "out of range"),
        ("shaper", "unknown table"),
    ]:
        assert any(f"{path}: {key}: " in line and why in line for line in lines), (key, lines)
    assert lines[-1] == f"config check: 4 mistake(s) in {path}"


def test_unknown_keys_wrong_tables_and_unusable_paths(tmp_path: Path):
    path = tmp_path / "config.toml"
    blocker = tmp_path / "file"
    blocker.write_text("")
    path.write_text(
        f'sam = 1\n[node]\ndata_dir = "{blocker}"\ncolour = "blue"\n[log]\nfile = "{tmp_path}"\n'
        '[api]\nenabled = "yes"\n'
    )
    try:
        read_config_file(path)
    except ConfigProblems as problems:
        found = {issue.key: issue.reason for issue in problems.issues}
    assert set(found) == {"sam", "node.data_dir", "node.colour", "log.file", "api.enabled"}
    assert "not a directory" in found["node.data_dir"] and "is a directory" in found["log.file"]


def test_session_options_cannot_smuggle_sam_commands(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('[sam.options]\n"inbound.length" = "1\\nSESSION CREATE"\n"outbound.length" = 1\n')
    try:
        read_config_file(path)
    except ConfigProblems as problems:
        (issue,) = problems.issues
    assert issue.key == "sam.options" and "single tokens" in issue.reason


def test_the_file_is_found_by_flag_then_environment_then_xdg(cli: Cli, tmp_path: Path):
    xdg = tmp_path / "xdg"
    (xdg / "mule").mkdir(parents=True)
    (xdg / "mule" / "config.toml").write_text("[log]\nlevel = 1\n")
    by_env = tmp_path / "env.toml"
    by_env.write_text("[log]\nlevel = 2\n")
    by_flag = tmp_path / "flag.toml"
    by_flag.write_text("[log]\nlevel = 3\n")
    env = cli.env(XDG_CONFIG_HOME=str(xdg), MULE_CONFIG=str(by_env))
    assert str(by_flag) in cli.run("config", "check", "--config", str(by_flag), env=env).stderr
    assert str(by_env) in cli.run("config", "check", env=env).stderr
    assert str(xdg) in cli.run("config", "check", env=cli.env(XDG_CONFIG_HOME=str(xdg))).stderr
    nothing = cli.run("config", "check")
    assert nothing.returncode == Exit.OK and "defaults" in nothing.stdout
    missing = cli.run("config", "check", env=cli.env(MULE_CONFIG=str(tmp_path / "absent.toml")))
    assert missing.returncode == Exit.CONFIG and "$MULE_CONFIG" in missing.stderr


def test_a_config_that_is_not_text_is_one_line(cli: Cli, tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    result = cli.run("config", "check", str(path))
    assert result.returncode == Exit.CONFIG and "not UTF-8" in result.stderr and "Traceback" not in result.stderr
