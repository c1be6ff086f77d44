"""The node's Kad ID is made once, kept across restarts, and never silently replaced."""

from __future__ import annotations

from pathlib import Path

import pytest

from mule.kad.files.preferences_kad import read_preferences_kad
from mule.node.config import ConfigError
from mule.node.identity import PREFERENCES_KAD, load_or_create_kad_id


def test_first_start_makes_an_id_and_later_starts_keep_it(tmp_path: Path):
    first = load_or_create_kad_id(tmp_path)
    assert first and read_preferences_kad(tmp_path / PREFERENCES_KAD) == first
    assert load_or_create_kad_id(tmp_path) == first


def test_an_all_zero_draw_is_never_used_as_an_id(tmp_path: Path):
    draws = iter([bytes(16), b"\x01" * 16])
    assert load_or_create_kad_id(tmp_path, lambda n: next(draws)) == int.from_bytes(b"\x01" * 16, "big")


def test_a_corrupt_file_stops_the_node_with_its_name_and_is_left_untouched(tmp_path: Path):
    path = tmp_path / PREFERENCES_KAD
    path.write_bytes(b"\x00\x00\x01")
    with pytest.raises(ConfigError, match=PREFERENCES_KAD):
        load_or_create_kad_id(tmp_path)
    assert path.read_bytes() == b"\x00\x00\x01"
