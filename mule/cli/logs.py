"""Logging for every command: level, text or JSON, stderr or a file that logrotate may move.

Whatever the handler, a record at INFO or above never carries a full destination or key: long
base64 runs are cut to their first characters (the full value is there at DEBUG only).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
import sys
import time
from pathlib import Path

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
_LONG_BASE64 = re.compile(r"[A-Za-z0-9~=-]{64,}")  # I2P base64; no "/", so paths survive
_SHOWN = 8


def redact(text: str) -> str:
    """Cut every base64-looking run of 64+ characters (destinations, keys) to its first few characters."""
    return _LONG_BASE64.sub(lambda match: f"{match.group()[:_SHOWN]}…", text)


class _Redacting(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno < logging.INFO else redact(text)


class _Json(logging.Formatter):
    """One JSON object per line: what journald's and ELK's JSON readers take."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        document = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message if record.levelno < logging.INFO else redact(message),
        }
        if record.exc_info:
            document["traceback"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False)


def configure_logging(level: str, log_format: str, log_file: Path | None) -> None:
    """Replace the root handlers: ``level`` for mule's loggers, WARNING for everyone else's."""
    if log_file is not None:
        handler: logging.Handler = logging.handlers.WatchedFileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(_Json())
    elif log_file is None and sys.stderr.isatty():
        handler.setFormatter(_Redacting("%(asctime)s %(message)s", datefmt="%H:%M:%S"))  # a person is watching
    else:
        handler.setFormatter(_Redacting("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("mule").setLevel(LEVELS[level])
    if LEVELS[level] > logging.DEBUG:
        # The run command prints its own status line (hex IDs, our node marked); the service's is for debugging.
        logging.getLogger("mule.node.service").setLevel(max(LEVELS[level], logging.WARNING))
