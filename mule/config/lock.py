"""One mule process per data dir: an exclusive ``flock`` on ``DIR/mule.lock``, which also names the holder's PID.

Two nodes on one data dir would share a Kad ID and a destination and overwrite each other's
``nodes.dat``. The lock is taken before mule writes anything else there and is released by the
kernel when the process ends, however it ends, so a crash never leaves a stale lock behind.
The lock file itself stays (removing it would race with a process that just opened it).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from mule.node.config import ConfigError

LOCK_FILE = "mule.lock"


class DataDirLocked(Exception):
    """Another process holds the data dir; ``holder`` is its PID when the lock file names one."""

    def __init__(self, data_dir: Path, holder: int | None) -> None:
        who = f"PID {holder}" if holder else "a process that did not write its PID yet"
        super().__init__(f"data dir {data_dir} is in use by another mule ({who}); stop it or pick another --data-dir")
        self.holder = holder


class DataDirLock:
    """``with DataDirLock(data_dir):`` holds the lock; ``acquire()``/``release()`` for longer lifetimes."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise ConfigError(f"cannot open the lock file {self.path}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise DataDirLocked(self.data_dir, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None
