"""I2P names derived from a destination: the b32 address, and the public destination inside private keys."""

from __future__ import annotations

import base64
import hashlib

B32_SUFFIX = ".b32.i2p"
_KEYS_AND_CERT_HEADER = 384  # 256-byte encryption key + 128-byte signing key field, then the certificate
_CERT_HEADER = 3  # certificate type (1 byte) and payload length (2 bytes, big-endian)


def b32_address(destination: bytes) -> str:
    """``<base32 of SHA-256(destination)>.b32.i2p``: lowercase, without padding."""
    digest = hashlib.sha256(destination).digest()
    return base64.b32encode(digest).decode("ascii").lower().rstrip("=") + B32_SUFFIX


def destination_length(blob: bytes) -> int:
    """Length of the destination that starts ``blob``: 387 bytes plus its certificate's payload."""
    if len(blob) < _KEYS_AND_CERT_HEADER + _CERT_HEADER:
        raise ValueError("too short to hold an I2P destination")
    cert_payload = int.from_bytes(blob[_KEYS_AND_CERT_HEADER + 1 : _KEYS_AND_CERT_HEADER + _CERT_HEADER], "big")
    length = _KEYS_AND_CERT_HEADER + _CERT_HEADER + cert_payload
    if len(blob) < length:
        raise ValueError("destination certificate runs past the end of the data")
    return length


def public_destination(private_keys: bytes) -> bytes:
    """The public destination at the front of a SAM private-keys blob (destination, then the private keys)."""
    length = destination_length(private_keys)
    if len(private_keys) == length:
        raise ValueError("private keys hold a destination but no private key")
    return private_keys[:length]
