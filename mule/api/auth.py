"""The API's bearer token: one random secret in a file of the data dir, readable by its owner only.

Created on first use with mode 0600 (never widened later), replaced atomically by ``rotate_token`` so a
reader sees the old token or the new one, never half of either. Anyone who can read this file controls the node.
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from pathlib import Path

TOKEN_FILE = "api.token"
TOKEN_BYTES = 32


class TokenFileError(Exception):
    """The token file is unreadable, empty or open to other users."""


def token_path(data_dir: Path) -> Path:
    return data_dir / TOKEN_FILE


def read_token(data_dir: Path) -> str:
    path = token_path(data_dir)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenFileError(f"cannot read the API token {path}: {exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise TokenFileError(f"{path} is readable by other users (mode {stat.S_IMODE(mode):04o}); chmod 600 it")
    if not text:
        raise TokenFileError(f"{path} is empty; `python -m mule api rotate-token` writes a new one")
    return text


def load_or_create_token(data_dir: Path) -> str:
    """The token, written first (0600) if there is none yet."""
    if not token_path(data_dir).exists():
        _write(data_dir, exclusive=True)
    return read_token(data_dir)


def rotate_token(data_dir: Path) -> str:
    """A new token replaces the old one at once: a running server reads the file on every request."""
    return _write(data_dir, exclusive=False)


def same_token(offered: str, expected: str) -> bool:
    """Constant-time comparison: how long a refusal takes says nothing about how much of a guess was right."""
    return hmac.compare_digest(offered.encode(), expected.encode())


def _write(data_dir: Path, *, exclusive: bool) -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    path = token_path(data_dir)
    target = path if exclusive else path.with_name(f".{TOKEN_FILE}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    try:
        descriptor = os.open(target, flags, 0o600)
    except FileExistsError:  # another process created it between our check and open: theirs stands
        return read_token(data_dir)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(token + "\n")
        file.flush()
        os.fsync(file.fileno())
    if not exclusive:
        os.replace(target, path)
    return token


class TokenSource:
    """The current token for a server: re-read only when the file changed, so a rotation takes effect at once."""

    __slots__ = ("_data_dir", "_seen", "_token")

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._token = load_or_create_token(data_dir)
        self._seen = self._identity()

    def current(self) -> str:
        identity = self._identity()
        if identity != self._seen:
            self._token = read_token(self._data_dir)
            self._seen = identity
        return self._token

    def _identity(self) -> tuple[int, int]:
        info = token_path(self._data_dir).stat()
        return info.st_ino, info.st_mtime_ns
