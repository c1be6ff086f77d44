"""The node's long-lived secrets in the data dir: its Kad ID (iMule's ``preferencesKad.dat``) and its Kad UDP key.

Both are made once and kept for the node's lifetime (contract invariant 6): a node that changed
its ID on every start would be easy to tell apart from iMule peers and would throw away its place
in other peers' routing tables; a node whose UDP key changed would invalidate every verify key it
ever handed out. So a file that exists but cannot be read as what it should hold is never
replaced: the node refuses to start with a one-line error naming the file (``StateFileError``).

Unlike iMule, an all-zero Kad ID in ``preferencesKad.dat`` is refused too. iMule
(``src/kademlia/kademlia/Prefs.cpp``, ``CPrefs::ReadFile``) draws a new ID when it reads zero,
to get rid of IDs older versions stored. mule writes its files atomically, so a zero ID was not
written by mule: it is a damaged file (a crash on a filesystem that zero-fills, a bad copy), and
replacing it would lose the identity silently. The operator decides: restore the file or delete it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from mule.kad.errors import CorruptFile
from mule.kad.files.atomic import read_bounded, write_atomic
from mule.kad.files.preferences_kad import read_preferences_kad, write_preferences_kad
from mule.node.config import ConfigError

PREFERENCES_KAD = "preferencesKad.dat"
UDP_KEY_FILE = "obfuscation.ini"
UDP_KEY_SECTION = "[Obfuscation]"
UDP_KEY_NAME = "CryptoKadUDPKey"
"""iMule keeps the key in its main config as ``/Obfuscation/CryptoKadUDPKey`` (``src/Preferences.cpp``, drawn
with ``GetRandomUint32()`` the first time); mule keeps the same group and key in a file of its own."""
_UDP_KEY_MAX_BYTES = 4096


class StateFileError(ConfigError):
    """A state file in the data dir exists but is unusable; the message names it and says what to do."""


def read_kad_id(data_dir: Path) -> int | None:
    """The stored Kad ID, ``None`` if there is no file yet; ``StateFileError`` if it is unusable or all zero."""
    path = data_dir / PREFERENCES_KAD
    try:
        kad_id = read_preferences_kad(path)
    except FileNotFoundError:
        return None
    except CorruptFile as exc:
        raise StateFileError(
            f"{path}: {exc}; restore it from a backup, or move it away to start with a new Kad ID"
        ) from exc
    except OSError as exc:
        raise StateFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if kad_id == 0:
        raise StateFileError(
            f"{path} holds an all-zero Kad ID (a damaged file: mule never writes one); mule will not replace an "
            "identity silently: restore the file from a backup, or delete it to start with a new Kad ID"
        )
    return kad_id


def load_or_create_kad_id(data_dir: Path, randbytes: Callable[[int], bytes] = os.urandom) -> int:
    """Our Kad ID from ``preferencesKad.dat``, or a new random one written there (atomically) on first start."""
    kad_id = read_kad_id(data_dir)
    if kad_id is not None:
        return kad_id
    kad_id = 0
    while not kad_id:  # zero is iMule's "none yet": never draw it as an ID
        kad_id = int.from_bytes(randbytes(16), "big")
    write_preferences_kad(data_dir / PREFERENCES_KAD, kad_id)
    return kad_id


def read_udp_key(data_dir: Path) -> int | None:
    """The stored Kad UDP key (u32), ``None`` if there is no file yet; ``StateFileError`` if it is unusable."""
    path = data_dir / UDP_KEY_FILE
    try:
        text = read_bounded(path, _UDP_KEY_MAX_BYTES).decode("ascii")
    except FileNotFoundError:
        return None
    except (CorruptFile, UnicodeDecodeError) as exc:
        raise StateFileError(f"{path}: {exc}; restore it from a backup, or move it away to make a new key") from exc
    except OSError as exc:
        raise StateFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith(("#", ";"))]
    key, _, value = lines[1].partition("=") if len(lines) == 2 and lines[0] == UDP_KEY_SECTION else ("", "", "")
    number = value.strip()
    if key.strip() != UDP_KEY_NAME or not number.lstrip("-").isdigit() or not -(2**31) <= int(number) < 2**32:
        raise StateFileError(
            f"{path} does not hold '{UDP_KEY_SECTION}' and '{UDP_KEY_NAME}=<32-bit number>'; restore it from a "
            "backup, or move it away to make a new key"
        )
    return int(number) & 0xFFFFFFFF  # iMule's config may hold it as a signed 32-bit number


def load_or_create_udp_key(data_dir: Path, randbytes: Callable[[int], bytes]) -> int:
    """Our persistent Kad UDP key (iMule's CryptoKadUDPKey): drawn once, written atomically, kept forever.

    Every u32 is a valid key (iMule draws it with ``GetRandomUint32()`` and uses it as is).
    """
    key = read_udp_key(data_dir)
    if key is not None:
        return key
    key = int.from_bytes(randbytes(4), "little")
    write_atomic(data_dir / UDP_KEY_FILE, f"{UDP_KEY_SECTION}\n{UDP_KEY_NAME}={key}\n".encode("ascii"))
    return key
