"""The inbound gate (sans-IO): iMule's per-peer, per-opcode flood limits, and one verdict per input.

The gate only classifies. Whatever it refuses, the shaper turns into a void in the
delay queue, so unknown, malformed and over-cap inputs all end the same way: a
draw from the delay law, then silence. Peers are keyed as iMule keys them, by the
destination's ``hashCode`` per Kad2 opcode, in one fixed-size rate sketch shared by all
opcodes: a flood of new peers costs no memory and cannot crowd a newcomer out.
"""

from __future__ import annotations

from enum import Enum

from mule.contract.profile import Profile
from mule.kad.destination import hash_code
from mule.shaper.sketch import RateSketch


class Verdict(Enum):
    ADMIT = "admit"
    UNKNOWN = "unknown"
    MALFORMED = "malformed"
    OVER_CAP = "over_cap"


class InboundGate:
    __slots__ = ("_limits", "_sketch")

    def __init__(self, profile: Profile, secret: bytes) -> None:
        self._limits = profile.inbound
        self._sketch = RateSketch(profile.sketch_width, profile.sketch_depth, secret)

    @property
    def memory_bytes(self) -> int:
        return self._sketch.memory_bytes

    def check(self, now: float, source: bytes, opcode: int | None, malformed: bool) -> Verdict:
        """``opcode`` is the Kad2 opcode (Kad1 requests pass their Kad2 equivalent), ``None`` if unknown."""
        if malformed:
            return Verdict.MALFORMED
        if opcode is None:
            return Verdict.UNKNOWN
        cap = self._limits.get(opcode)
        if cap is None:  # responses are never limited (as in iMule)
            return Verdict.ADMIT
        key = bytes((opcode,)) + hash_code(source).to_bytes(4, "little")
        return Verdict.ADMIT if self._sketch.allow(key, now, cap) else Verdict.OVER_CAP
