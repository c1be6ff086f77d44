"""Operator settings for a node: where its files live and where the router's SAM bridge is.

These are the only knobs an operator has. Timing, ordering and caps are not among
them: they belong to the protocol profile (``mule.contract.profile``), identical on
every node. The TOML file that carries them is read by ``mule.config``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SAM_HOST = "127.0.0.1"
DEFAULT_SAM_PORT = 7656
DATA_DIR_MODE = 0o700
"""The data dir holds private keys: this user only, whatever the umask."""

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?$")
_EXAMPLE = "expected HOST:PORT, e.g. 127.0.0.1:7656 or [::1]:7656"

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A setting the operator gave is unusable; the message says which and why."""


@dataclass(frozen=True, slots=True)
class SamAddress:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_sam_address(text: str) -> SamAddress:
    """``HOST:PORT``, ``[IPv6]:PORT``, or a host alone (an IPv4/IPv6 address or a name) for the default port."""
    return parse_host_port(text, "SAM address", DEFAULT_SAM_PORT)


def parse_host_port(text: str, what: str, default_port: int) -> SamAddress:
    """``HOST:PORT`` in the forms ``parse_sam_address`` takes; ``what`` names the setting in errors."""
    text = text.strip()
    if "://" in text or "/" in text:
        raise ConfigError(f"{what} {text!r} is a URL or a path, not HOST:PORT ({_EXAMPLE})")
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ConfigError(f"{what} {text!r} has an unclosed '[' ({_EXAMPLE})")
        port_text = rest[1:] if rest else str(default_port)
        _require_ipv6(host, text, what)
    elif text.count(":") > 1:
        host, port_text = text, str(default_port)  # a bare IPv6 address: it cannot carry a port
        _require_ipv6(host, text, what)
    else:
        host, sep, port_text = text.partition(":")
        if not sep:
            port_text = str(default_port)
        if not host:
            raise ConfigError(f"{what} {text!r} has no host ({_EXAMPLE})")
        if not _HOSTNAME.match(host) and not _is_ip(host):
            raise ConfigError(f"{what} {text!r}: {host!r} is neither an IP address nor a host name ({_EXAMPLE})")
    if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"{what} {text!r} has no valid port ({_EXAMPLE})")
    return SamAddress(host, int(port_text))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _require_ipv6(host: str, text: str, what: str) -> None:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        raise ConfigError(f"{what} {text!r}: {host!r} is not an IPv6 address ({_EXAMPLE})") from None


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mule"


def parse_data_dir(text: str) -> Path:
    """A data dir setting: never empty (an empty string would silently mean the current directory)."""
    if not text.strip():
        raise ConfigError("the data dir is an empty string; give a directory (default: ~/.local/share/mule)")
    return Path(text).expanduser()


def check_data_dir(path: Path) -> None:
    """Would ``prepare_data_dir`` succeed? Creates nothing (for ``config check`` and before taking the lock)."""
    if path.exists():
        if not path.is_dir():
            raise ConfigError(f"data dir {path} exists and is not a directory")
        if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
            raise ConfigError(f"data dir {path} is not readable and writable by this user")
        return
    parent = next((p for p in path.absolute().parents if p.exists()), None)
    if parent is None or not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot create data dir {path}: {parent} is not a writable directory")


def prepare_data_dir(path: Path) -> Path:
    """Create the data dir and its missing parents ``0700`` whatever the umask; tighten an existing one.

    An existing data dir readable by group or others is set to ``0700`` with a warning: its keys may
    already have been read, but from now on they are not, and mule never runs with open keys.
    """
    check_data_dir(path)
    path = path.absolute()
    missing = [p for p in (path, *path.parents) if not p.exists()]
    try:
        for directory in reversed(missing):
            directory.mkdir(mode=DATA_DIR_MODE)
            os.chmod(directory, DATA_DIR_MODE)  # mkdir's mode is masked by the umask; parents would be 0777 - umask
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode != DATA_DIR_MODE:
            os.chmod(path, DATA_DIR_MODE)
            log.warning("data dir %s was mode %04o (open to other users); set it to %04o", path, mode, DATA_DIR_MODE)
    except OSError as exc:
        raise ConfigError(f"cannot create or secure data dir {path}: {exc.strerror or exc}") from exc
    return path


def remove_stale_temporaries(data_dir: Path) -> list[str]:
    """Delete what interrupted atomic writes left behind (``*.tmp``); call only while holding the data dir lock."""
    removed = []
    for entry in data_dir.iterdir():
        if entry.name.endswith(".tmp") and entry.is_file() and not entry.is_symlink():
            entry.unlink(missing_ok=True)
            removed.append(entry.name)
    if removed:
        log.info("removed %d stale temporary file(s) from %s: %s", len(removed), data_dir, ", ".join(sorted(removed)))
    return removed
