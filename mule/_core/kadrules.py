"""iMule's acceptance rules for Kad fields, shared by both framing twins and the codec (plain Python, no twin:
the compiled twin applies them in C on its hot path and calls these only to word a refusal)."""

from __future__ import annotations

DEST_LEN = 387  # 256-byte ElGamal key, 128-byte DSA key, 3-byte null certificate
_NULL_CERT = b"\x00\x00\x00"
_BOM = b"\xef\xbb\xbf"


def decode_text(data: bytes) -> str:
    """iMule's strings: UTF-8 (a BOM tolerated), else Latin-1."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def is_imule_destination(dest: object) -> bool:
    """The 387-byte DSA-SHA1 form with a null certificate (iMule ``CI2PAddress::check``)."""
    return len(dest) == DEST_LEN and dest[-3:] == _NULL_CERT  # type: ignore[arg-type,index]


def contact_problem(version: int, kad_id: int, dest: bytes, max_version: int) -> str | None:
    """Why iMule's contact parser would throw on these fields, or ``None`` if it accepts them."""
    if version > max_version:
        return f"contact version {version} above {max_version}"
    if not kad_id:
        return "contact with an all-zero Kad ID"
    if not is_imule_destination(dest):
        return "destination without a null certificate"
    return None
