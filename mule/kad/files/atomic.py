"""File I/O for state files: crash-safe replacement (temporary file, fsync, rename, fsync the directory) and
bounded reads (a device or a huge file named by mistake fails fast instead of filling memory)."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from mule.kad.errors import CorruptFile

TEMPORARY_SUFFIX = ".tmp"
"""What ``write_atomic`` leaves behind if the process dies mid-write; the node deletes these on start."""


def read_bounded(path: str | os.PathLike[str], limit: int) -> bytes:
    """The whole of a regular file of at most ``limit`` bytes; ``CorruptFile`` for anything else."""
    with open(path, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise CorruptFile("not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise CorruptFile(f"larger than {limit} bytes: not a file mule or iMule writes")
    return data


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves either the old file or the new one, never half."""
    target = Path(path)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
