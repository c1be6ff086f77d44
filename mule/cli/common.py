"""What every command shares: the options that work before or after the command name, and settings loading."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping
from typing import Any

from mule.cli.exits import CommandError, Exit
from mule.config.settings import LOG_FORMATS, LOG_LEVELS, Settings, load_settings
from mule.node.config import ConfigError


def common_options() -> argparse.ArgumentParser:
    """Options accepted both as ``python -m mule -v run`` and ``python -m mule run -v`` (defaults suppressed, so
    one position never erases the other)."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("common options")
    group.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="debug output (log.level = debug)"
    )
    group.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="warnings and errors only")
    group.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="the TOML config file (default: $MULE_CONFIG, else ~/.config/mule/config.toml if it exists)",
    )
    group.add_argument("--log-level", choices=LOG_LEVELS, default=argparse.SUPPRESS, help="log.level")
    group.add_argument("--log-format", choices=LOG_FORMATS, default=argparse.SUPPRESS, help="log.format")
    group.add_argument("--log-file", metavar="FILE", default=argparse.SUPPRESS, help="log.file (default: stderr)")
    return parser


def log_overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for flag, key in (("log_level", "log.level"), ("log_format", "log.format"), ("log_file", "log.file")):
        if hasattr(args, flag):
            overrides[key] = getattr(args, flag)
    if getattr(args, "verbose", 0):
        overrides["log.level"] = "debug"
    elif getattr(args, "quiet", False):
        overrides["log.level"] = "warning"
    return overrides


def settings_for(args: argparse.Namespace, overrides: Mapping[str, Any] = {}) -> Settings:
    """The settings for a command (config file, then flags), with logging configured from them."""
    from mule.cli.logs import configure_logging  # logging.handlers and json: only for commands that log

    flags = {key: value for key, value in overrides.items() if value is not None} | log_overrides(args)
    try:
        settings = load_settings(getattr(args, "config", None), flags)
    except ConfigError as exc:
        raise CommandError(str(exc), Exit.CONFIG) from exc
    configure_logging(settings.log_level, settings.log_format, settings.log_file)
    logging.getLogger("mule.config").debug("settings (from %s and flags): %s", settings.source or "defaults", settings)
    return settings


def configure_default_logging(args: argparse.Namespace) -> None:
    """Logging for commands that read no config file: flags only."""
    from mule.cli.logs import configure_logging

    overrides = log_overrides(args)
    configure_logging(overrides.get("log.level", "info"), overrides.get("log.format", "text"), None)
