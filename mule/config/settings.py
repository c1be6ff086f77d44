"""The operator's settings: one TOML file, then environment, then flags, checked all at once.

Every key is declared once in ``KEYS`` (its default, how a value is checked, what it means); the
file, ``config check`` and the flags all go through the same checks, so a mistake reads the same
wherever it was made: ``key: why``. Contract constants (timing, caps, ordering) are not here: they
are the protocol profile's, identical on every node.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mule.node.config import (
    DEFAULT_SAM_HOST,
    DEFAULT_SAM_PORT,
    ConfigError,
    SamAddress,
    check_data_dir,
    default_data_dir,
    parse_data_dir,
    parse_host_port,
    parse_sam_address,
)

CONFIG_ENV = "MULE_CONFIG"
CONFIG_FILE_NAME = "config.toml"
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")
DATAGRAM_PATHS = ("udp", "tcp")
DEFAULT_API_PORT = 7670
DEFAULT_SAM = SamAddress(DEFAULT_SAM_HOST, DEFAULT_SAM_PORT)
DEFAULT_API = SamAddress("127.0.0.1", DEFAULT_API_PORT)
_OPTION_TOKEN = re.compile(r"^[A-Za-z0-9._:/+@-]+$")
"""What a SAM session option key or value may hold: one token, so no value can end the SAM command line."""


@dataclass(frozen=True, slots=True)
class Settings:
    sam: SamAddress = DEFAULT_SAM
    sam_udp_port: int | None = None
    sam_datagram_path: str = "udp"
    sam_options: dict[str, str] = field(default_factory=dict)
    data_dir: Path = field(default_factory=default_data_dir)
    log_level: str = "info"
    log_format: str = "text"
    log_file: Path | None = None
    status_interval: float = 60.0
    api_enabled: bool = False
    api_listen: SamAddress = DEFAULT_API
    api_allow_remote: bool = False
    source: Path | None = None
    """The config file these settings came from (``None``: defaults and flags only)."""


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}"


class ConfigProblems(ConfigError):
    """Every mistake found in one go; ``str()`` is one line per mistake."""

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        self.issues = issues
        super().__init__("\n".join(f"{source}: {issue}" for issue in issues))


# --- value checks: each takes the raw TOML (or flag) value and returns the setting or raises ConfigError ------


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"must be a string, not {_toml_type(value)}")
    return value


def _choice(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = _string(value).lower()
        if text not in choices:
            raise ConfigError(f"{value!r} is not one of {', '.join(choices)}")
        return text

    return check


def _integer(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"must be an integer, not {_toml_type(value)}")
        if not low <= value <= high:
            raise ConfigError(f"{value} is out of range ({low} to {high})")
        return value

    return check


def _seconds(low: float, high: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"must be a number of seconds, not {_toml_type(value)}")
        if not low <= value <= high:
            raise ConfigError(f"{value} is out of range ({low:g} to {high:g} seconds)")
        return float(value)

    return check


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"must be true or false, not {_toml_type(value)}")
    return value


def _optional_port(value: Any) -> int | None:
    return None if value == 0 else _integer(1, 65535)(value)


def _sam_options(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"must be a table of option = value, not {_toml_type(value)}")
    options = {}
    for key, raw in value.items():
        if isinstance(raw, bool):
            text = "true" if raw else "false"
        elif isinstance(raw, int | str):
            text = str(raw)
        else:
            raise ConfigError(f"option {key!r} must be a string, integer or boolean, not {_toml_type(raw)}")
        if not _OPTION_TOKEN.match(key) or not _OPTION_TOKEN.match(text):
            raise ConfigError(f"option {key!r} = {text!r}: keys and values are single tokens (no spaces, quotes, '=')")
        options[key] = text
    return options


def _data_dir(value: Any) -> Path:
    path = parse_data_dir(_string(value))
    check_data_dir(path)
    return path


def _log_file(value: Any) -> Path | None:
    text = _string(value).strip()
    if not text:
        return None
    path = Path(text).expanduser()
    if path.is_dir():
        raise ConfigError(f"{path} is a directory, not a file")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{path} is not writable by this user")
    if not path.exists() and not os.access(path.parent if str(path.parent) else Path("."), os.W_OK | os.X_OK):
        raise ConfigError(f"cannot create {path}: {path.parent} is not a writable directory")
    return path


def _address(what: str, default_port: int) -> Callable[[Any], SamAddress]:
    return lambda value: parse_host_port(_string(value), what, default_port)


@dataclass(frozen=True, slots=True)
class Key:
    name: str
    """Dotted: ``table.key`` in the TOML file."""
    attribute: str
    """The ``Settings`` field it sets."""
    check: Callable[[Any], Any]


KEYS: tuple[Key, ...] = (
    Key("sam.address", "sam", lambda value: parse_sam_address(_string(value))),
    Key("sam.udp_port", "sam_udp_port", _optional_port),
    Key("sam.datagram_path", "sam_datagram_path", _choice(DATAGRAM_PATHS)),
    Key("sam.options", "sam_options", _sam_options),
    Key("node.data_dir", "data_dir", _data_dir),
    Key("log.level", "log_level", _choice(LOG_LEVELS)),
    Key("log.format", "log_format", _choice(LOG_FORMATS)),
    Key("log.file", "log_file", _log_file),
    Key("log.status_interval", "status_interval", _seconds(5.0, 86400.0)),
    Key("api.enabled", "api_enabled", _boolean),
    Key("api.listen", "api_listen", _address("API address", DEFAULT_API_PORT)),
    Key("api.allow_remote", "api_allow_remote", _boolean),
)
KEYS_BY_NAME = {key.name: key for key in KEYS}
_TABLE_KEYS = {"sam.options"}  # keys whose value is itself a table


def _toml_type(value: Any) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }
    return next((name for kind, name in names.items() if isinstance(value, kind)), type(value).__name__)


def _flatten(document: Mapping[str, Any]) -> tuple[dict[str, Any], list[ConfigIssue]]:
    """``{"sam": {"address": ...}}`` -> ``{"sam.address": ...}``; unknown tables and keys are issues."""
    tables = {name.split(".")[0] for name in KEYS_BY_NAME}
    values: dict[str, Any] = {}
    issues = []
    for table, content in document.items():
        if table not in tables:
            issues.append(ConfigIssue(table, f"unknown table or key (known tables: {', '.join(sorted(tables))})"))
            continue
        if not isinstance(content, Mapping):
            issues.append(ConfigIssue(table, f"must be a table ([{table}]), not {_toml_type(content)}"))
            continue
        for name, value in content.items():
            dotted = f"{table}.{name}"
            if dotted not in KEYS_BY_NAME:
                known = ", ".join(key.split(".")[1] for key in KEYS_BY_NAME if key.startswith(f"{table}."))
                issues.append(ConfigIssue(dotted, f"unknown key (known in [{table}]: {known})"))
            elif isinstance(value, Mapping) and dotted not in _TABLE_KEYS:
                issues.append(ConfigIssue(dotted, "must be a value, not a table"))
            else:
                values[dotted] = value
    return values, issues


def settings_from(values: Mapping[str, Any], source: str, base: Settings | None = None) -> Settings:
    """``base`` (defaults if ``None``) with ``values`` (dotted keys) applied; every bad value in one ConfigProblems."""
    changes: dict[str, Any] = {}
    issues = []
    for name, value in values.items():
        key = KEYS_BY_NAME.get(name)
        if key is None:
            issues.append(ConfigIssue(name, "unknown key"))
            continue
        try:
            changes[key.attribute] = key.check(value)
        except ConfigError as exc:
            issues.append(ConfigIssue(name, str(exc)))
    if issues:
        raise ConfigProblems(source, issues)
    return replace(base or Settings(), **changes)


MAX_CONFIG_BYTES = 1 << 20


def read_config_file(path: Path) -> Settings:
    """Parse and check one config file; every mistake (with its key) in one ``ConfigProblems``."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigProblems(str(path), [ConfigIssue("file", f"cannot read it: {exc.strerror or exc}")]) from exc
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigProblems(str(path), [ConfigIssue("file", f"larger than {MAX_CONFIG_BYTES} bytes: not a config")])
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigProblems(str(path), [ConfigIssue("file", f"not UTF-8 text ({exc.reason})")]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigProblems(str(path), [ConfigIssue("syntax", str(exc))]) from exc
    values, issues = _flatten(document)
    try:
        settings = settings_from(values, str(path))
    except ConfigProblems as problems:
        issues += problems.issues
    if issues:
        raise ConfigProblems(str(path), sorted(issues, key=lambda issue: issue.key))
    return replace(settings, source=path)


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "mule" / CONFIG_FILE_NAME


def find_config(explicit: str | None) -> Path | None:
    """``--config``, else ``$MULE_CONFIG``, else the XDG config file if it exists; a named file must exist."""
    for named, origin in ((explicit, "--config"), (os.environ.get(CONFIG_ENV), f"${CONFIG_ENV}")):
        if named is None:
            continue
        if not named.strip():
            raise ConfigError(f"{origin} is an empty string; name a config file")
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file {path} (from {origin}) does not exist or is not a file")
        return path
    path = default_config_path()
    return path if path.is_file() else None


def load_settings(explicit: str | None, overrides: Mapping[str, Any]) -> Settings:
    """The config file (found as ``find_config`` says) with ``overrides`` (dotted keys, from flags) on top."""
    path = find_config(explicit)
    base = read_config_file(path) if path is not None else Settings()
    return settings_from(overrides, "command line", base)
