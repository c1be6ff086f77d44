"""The codec's error types: what a decoder may raise, and what an encoder or file reader refuses."""

from __future__ import annotations


class CodecError(ValueError):
    """The one base of everything the decoder raises; the node catches this and nothing else."""


class MalformedPacket(CodecError):
    """A datagram iMule would drop while parsing it: the node delays and fails it generically."""


class UnknownOpcode(CodecError):
    """A well-framed datagram whose opcode iMule has no handler for: the node delays and drops it silently."""

    def __init__(self, opcode: int) -> None:
        super().__init__(f"unknown opcode 0x{opcode:02x}")
        self.opcode = opcode


class PacketTooLarge(ValueError):
    """An encoded packet that would not fit one SAM datagram (an encoder error, never raised by decode)."""


class CorruptFile(ValueError):
    """A persistence file that is truncated or not in any layout iMule writes; the message is one line."""
