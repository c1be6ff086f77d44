"""The node's I2P identity: private keys generated once by the router, kept 0600 in the data dir, reused.

Reusing the keys keeps the destination (and so the Kad contact) the same across restarts,
which the Behaviour Contract asks for (long-lived identity). The SAM session name is
derived from the destination, so it is stable per data dir too. Like iMule (its
``/i2p/udpPrivKey`` and ``/i2p/tcpPrivKey`` settings), a node keeps two destinations:
the datagram one it runs its session on, and a stream (TCP) one that it only names.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from mule.i2p.address import public_destination
from mule.kad.destination import from_base64, to_base64

KEY_FILE_NAME = "i2p-destination.keys"
"""The datagram destination's private keys (iMule's ``/i2p/udpPrivKey``): the Kad session runs on it."""
STREAM_KEY_FILE_NAME = "i2p-stream-destination.keys"
"""The stream (TCP) destination's private keys (iMule's ``/i2p/tcpPrivKey``); mule never opens a session on it."""
SESSION_NAME_PREFIX = "mule-"


class KeyFileError(ValueError):
    """The key file exists but does not hold usable private keys; the message names the file."""


@dataclass(frozen=True, slots=True)
class DestinationKeys:
    private: bytes
    """The SAM private-keys blob: destination, encryption private key, signing private key."""

    def __post_init__(self) -> None:
        public_destination(self.private)  # validates the layout once

    @property
    def public(self) -> bytes:
        return public_destination(self.private)

    @property
    def private_b64(self) -> str:
        return to_base64(self.private)

    @classmethod
    def from_b64(cls, text: str) -> DestinationKeys:
        return cls(from_base64(text))


def session_name(keys: DestinationKeys) -> str:
    """A session ID that is the same every time for the same destination (router-local, never on the wire)."""
    return SESSION_NAME_PREFIX + hashlib.sha256(keys.public).hexdigest()[:16]


def load_keys(path: Path) -> DestinationKeys | None:
    """The stored keys, or ``None`` when there is no key file yet."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read I2P key file {path}: {exc}") from exc
    try:
        return DestinationKeys.from_b64(text)
    except ValueError as exc:
        raise KeyFileError(f"I2P key file {path} does not hold SAM private keys: {exc}") from exc


def store_keys(path: Path, keys: DestinationKeys) -> None:
    """Write the keys readable by this user only, atomically (a crash leaves the old file or none)."""
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # O_CREAT's mode does not apply to a file left over from a crash
        os.write(descriptor, (keys.private_b64 + "\n").encode("ascii"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)


async def load_or_generate_keys(
    data_dir: Path, generate: Callable[[], Awaitable[DestinationKeys]], file_name: str = KEY_FILE_NAME
) -> DestinationKeys:
    """The keys in ``data_dir / file_name``; on first use ``generate()`` makes them (DEST GENERATE) and they are
    stored."""
    path = data_dir / file_name
    keys = load_keys(path)
    if keys is None:
        keys = await generate()
        store_keys(path, keys)
    return keys
