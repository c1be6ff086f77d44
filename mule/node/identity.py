"""The node's long-lived Kad identity: its Kad ID, kept in iMule's ``preferencesKad.dat`` in the data dir.

The ID is made once and kept for the node's lifetime (contract invariant 6): a node
that changed its ID on every start would be easy to tell apart from iMule peers and
would throw away its place in other peers' routing tables.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from mule.kad.errors import CorruptFile
from mule.kad.files.atomic import write_atomic
from mule.kad.files.preferences_kad import read_preferences_kad, write_preferences_kad
from mule.node.config import ConfigError

PREFERENCES_KAD = "preferencesKad.dat"


def load_or_create_kad_id(data_dir: Path, randbytes: Callable[[int], bytes] = os.urandom) -> int:
    """Our Kad ID from ``preferencesKad.dat``, or a new random one written there (atomically) on first start.

    A corrupt file is never overwritten: losing an identity silently is worse than not starting.
    """
    path = data_dir / PREFERENCES_KAD
    try:
        kad_id = read_preferences_kad(path)
    except FileNotFoundError:
        kad_id = 0
    except CorruptFile as exc:
        raise ConfigError(f"{path}: {exc}; move it away to start with a new Kad ID") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    if kad_id:
        return kad_id
    while not kad_id:  # an all-zero ID is iMule's "none yet"
        kad_id = int.from_bytes(randbytes(16), "big")
    write_preferences_kad(path, kad_id)
    return kad_id


UDP_KEY_FILE = "cryptkad-udp.key"


def load_or_create_udp_key(data_dir: Path, randbytes: Callable[[int], bytes] = os.urandom) -> int:
    """iMule's CryptoKadUDPKey: a nonzero u32 secret behind our verify keys, made once and kept."""
    path = data_dir / UDP_KEY_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = b""
    if len(data) == 4 and int.from_bytes(data, "little"):
        return int.from_bytes(data, "little")
    if data:
        raise ConfigError(f"{path}: not a 4-byte key; move it away to start with a new one")
    key = 0
    while not key:
        key = int.from_bytes(randbytes(4), "little")
    write_atomic(path, key.to_bytes(4, "little"))
    return key
