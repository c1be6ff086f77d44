"""The node's Kad ID and Kad UDP key are made once, kept across restarts, and never silently replaced."""

from __future__ import annotations

from pathlib import Path

import pytest

from mule.kad.files.preferences_kad import build_preferences_kad, read_preferences_kad
from mule.node.config import ConfigError
from mule.node.identity import (
    PREFERENCES_KAD,
    UDP_KEY_FILE,
    StateFileError,
    load_or_create_kad_id,
    load_or_create_udp_key,
)


def test_first_start_makes_an_id_and_later_starts_keep_it(tmp_path: Path):
    first = load_or_create_kad_id(tmp_path)
    assert first and read_preferences_kad(tmp_path / PREFERENCES_KAD) == first
    assert load_or_create_kad_id(tmp_path) == first


def test_an_all_zero_draw_is_never_used_as_an_id(tmp_path: Path):
    draws = iter([bytes(16), b"\x01" * 16])
    assert load_or_create_kad_id(tmp_path, lambda n: next(draws)) == int.from_bytes(b"\x01" * 16, "big")


@pytest.mark.parametrize(
    "content,reason",
    [(b"\x00\x00\x01", "needs at least 18"), (build_preferences_kad(0), "all-zero"), (b"x" * 5000, "larger than")],
)
def test_an_unusable_file_stops_the_node_with_its_name_and_is_left_untouched(tmp_path: Path, content, reason):
    path = tmp_path / PREFERENCES_KAD
    path.write_bytes(content)
    with pytest.raises(StateFileError, match=reason) as caught:
        load_or_create_kad_id(tmp_path)
    assert isinstance(caught.value, ConfigError) and PREFERENCES_KAD in str(caught.value)
    assert "\n" not in str(caught.value)
    assert path.read_bytes() == content


def test_the_udp_key_is_drawn_once_and_kept(tmp_path: Path):
    key = load_or_create_udp_key(tmp_path, lambda n: bytes([1, 2, 3, 4][:n]))
    assert key == 0x04030201
    assert (tmp_path / UDP_KEY_FILE).read_text() == f"[Obfuscation]\nCryptoKadUDPKey={key}\n"
    assert load_or_create_udp_key(tmp_path, lambda n: pytest.fail("a stored key is never drawn again")) == key


def test_a_udp_key_copied_from_imule_may_be_signed(tmp_path: Path):
    (tmp_path / UDP_KEY_FILE).write_text("; from amule.conf\n[Obfuscation]\nCryptoKadUDPKey=-1\n")
    assert load_or_create_udp_key(tmp_path, lambda n: pytest.fail("kept")) == 0xFFFFFFFF


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"CryptoKadUDPKey=5\n",
        b"[Obfuscation]\nCryptoKadUDPKey=\n",
        b"[Obfuscation]\nCryptoKadUDPKey=4294967296\n",
        b"[Obfuscation]\nCryptoKadUDPKey=5\nOther=1\n",
        b"\xff\xfe",
    ],
)
def test_a_corrupt_udp_key_file_is_refused_and_kept(tmp_path: Path, content: bytes):
    path = tmp_path / UDP_KEY_FILE
    path.write_bytes(content)
    with pytest.raises(StateFileError, match=UDP_KEY_FILE):
        load_or_create_udp_key(tmp_path, lambda n: pytest.fail("a corrupt key is never replaced"))
    assert path.read_bytes() == content
