"""Strings on the wire: iMule writes raw UTF-8 and reads UTF-8 (BOM tolerated) or falls back to Latin-1."""

from __future__ import annotations

from mule._core.kadrules import decode_text  # the core's tag readers apply the same rule

__all__ = ["decode_text", "encode_text"]


def encode_text(text: str) -> bytes:
    return text.encode("utf-8")
