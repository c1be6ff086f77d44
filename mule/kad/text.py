"""Strings on the wire: iMule writes raw UTF-8 and reads UTF-8 (BOM tolerated) or falls back to Latin-1."""

from __future__ import annotations

_BOM = b"\xef\xbb\xbf"


def decode_text(data: bytes) -> str:
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def encode_text(text: str) -> bytes:
    return text.encode("utf-8")
