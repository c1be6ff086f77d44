"""Operator settings for a node: where its files live and where the router's SAM bridge is.

These are the only knobs an operator has. Timing, ordering and caps are not among
them: they belong to the protocol profile (``mule.contract.profile``), identical on
every node.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SAM_HOST = "127.0.0.1"
DEFAULT_SAM_PORT = 7656


class ConfigError(ValueError):
    """A setting the operator gave is unusable; the message says which and why."""


@dataclass(frozen=True, slots=True)
class SamAddress:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def parse_sam_address(text: str) -> SamAddress:
    """``HOST:PORT`` (or ``HOST`` alone for the default port)."""
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = text, str(DEFAULT_SAM_PORT)
    host = host.strip("[]")
    if not host:
        raise ConfigError(f"SAM address {text!r} has no host (expected HOST:PORT, e.g. 127.0.0.1:7656)")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"SAM address {text!r} has no valid port (expected HOST:PORT, e.g. 127.0.0.1:7656)")
    return SamAddress(host, int(port_text))


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mule"


def prepare_data_dir(path: Path) -> Path:
    """Create the data dir (0700: it holds private keys) or explain why it cannot be used."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"data dir {path} exists and is not a directory")
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create data dir {path}: {exc.strerror}") from exc
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        raise ConfigError(f"data dir {path} is not readable and writable by this user")
    return path
