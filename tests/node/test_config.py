"""Operator settings: clear errors for bad input, sane defaults."""

from __future__ import annotations

import stat

import pytest

from mule.node.config import ConfigError, SamAddress, default_data_dir, parse_sam_address, prepare_data_dir


@pytest.mark.parametrize(
    "text,expected",
    [
        ("127.0.0.1:7656", SamAddress("127.0.0.1", 7656)),
        ("localhost", SamAddress("localhost", 7656)),
        ("[::1]:7000", SamAddress("::1", 7000)),
    ],
)
def test_sam_addresses(text, expected):
    assert parse_sam_address(text) == expected


@pytest.mark.parametrize("text", [":7656", "host:", "host:0", "host:65536", "host:port", ""])
def test_bad_sam_addresses_say_what_is_expected(text):
    with pytest.raises(ConfigError, match="HOST:PORT"):
        parse_sam_address(text)


def test_default_data_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "mule"


def test_data_dir_is_created_private(tmp_path):
    path = prepare_data_dir(tmp_path / "a" / "mule")
    assert stat.S_IMODE(path.stat().st_mode) == 0o700


def test_data_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="not a directory"):
        prepare_data_dir(tmp_path / "file")
