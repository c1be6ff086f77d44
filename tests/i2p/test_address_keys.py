"""b32 addresses, the destination inside private keys, and the key file (0600, generated once, reused)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import stat
from pathlib import Path

import pytest
from fake_bridge import fake_private_keys

from mule.i2p.address import b32_address, destination_length, public_destination
from mule.i2p.keys import (
    KEY_FILE_NAME,
    DestinationKeys,
    KeyFileError,
    load_keys,
    load_or_generate_keys,
    session_name,
    store_keys,
)
from mule.kad.destination import is_imule_destination


def test_b32_address_is_the_lowercase_unpadded_sha256_of_the_destination() -> None:
    destination = public_destination(fake_private_keys(1))
    address = b32_address(destination)
    assert address.endswith(".b32.i2p")
    label = address.removesuffix(".b32.i2p")
    assert len(label) == 52 and label == label.lower() and "=" not in label
    assert base64.b32decode(label.upper() + "====") == hashlib.sha256(destination).digest()
    assert b32_address(b"") == "4oymiquy7qobjgx36tejs35zeqt24qpemsnzgtfeswmrw6csxbkq.b32.i2p"  # SHA-256 of nothing


def test_public_destination_follows_the_certificate_length() -> None:
    dsa = fake_private_keys(2)
    assert len(dsa) == 663 and public_destination(dsa) == dsa[:387] and is_imule_destination(dsa[:387])
    key_cert = dsa[:384] + b"\x05\x00\x04" + b"\x00\x07\x00\x04" + bytes(100)  # Ed25519 key certificate
    assert destination_length(key_cert) == 391
    assert public_destination(key_cert) == key_cert[:391]
    for broken in (dsa[:386], dsa[:387], dsa[:384] + b"\x05\x00\x04\x00"):
        with pytest.raises(ValueError):
            public_destination(broken)


def test_keys_are_stored_owner_only_and_reused(tmp_path: Path) -> None:
    generated: list[DestinationKeys] = []

    async def generate() -> DestinationKeys:
        generated.append(DestinationKeys(fake_private_keys(len(generated) + 3)))
        return generated[-1]

    first = asyncio.run(load_or_generate_keys(tmp_path, generate))
    second = asyncio.run(load_or_generate_keys(tmp_path, generate))
    assert first == second and len(generated) == 1
    mode = stat.S_IMODE((tmp_path / KEY_FILE_NAME).stat().st_mode)
    assert mode == 0o600
    assert session_name(first) == session_name(second) and session_name(first).startswith("mule-")
    assert session_name(DestinationKeys(fake_private_keys(99))) != session_name(first)


def test_store_tightens_a_leftover_temporary_file(tmp_path: Path) -> None:
    leftover = tmp_path / (KEY_FILE_NAME + ".tmp")
    leftover.write_text("junk")
    leftover.chmod(0o644)
    store_keys(tmp_path / KEY_FILE_NAME, DestinationKeys(fake_private_keys(5)))
    assert stat.S_IMODE((tmp_path / KEY_FILE_NAME).stat().st_mode) == 0o600
    assert not leftover.exists()


def test_a_damaged_key_file_is_reported_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE_NAME
    assert load_keys(path) is None
    for junk in ("not base64!", "AAAA"):
        path.write_text(junk)
        with pytest.raises(KeyFileError, match=KEY_FILE_NAME):
            load_keys(path)
