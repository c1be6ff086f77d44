"""Kad test helpers: run the codec on one chosen core twin."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

_CORE_NAMES = ("Reader", "Writer", "build", "id_to_wire", "id_from_md4", "md4")


@contextmanager
def codec_on(twin: SimpleNamespace) -> Iterator[None]:
    """Make every loaded ``mule.kad`` module use ``twin``'s core primitives for the duration."""
    saved = []
    for name, module in list(sys.modules.items()):
        if name == "mule.kad" or name.startswith("mule.kad."):
            for attr in _CORE_NAMES:
                if hasattr(module, attr):
                    saved.append((module, attr, getattr(module, attr)))
                    setattr(module, attr, getattr(twin, attr))
    try:
        yield
    finally:
        for module, attr, value in saved:
            setattr(module, attr, value)
