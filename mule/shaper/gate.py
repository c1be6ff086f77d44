"""The inbound gate (sans-IO): iMule's per-peer, per-opcode flood limits, and one verdict per input.

The gate only classifies. Whatever it refuses, the shaper turns into a void in the
delay queue, so unknown, malformed and over-cap inputs all end the same way: a
draw from the delay law, then silence.
"""

from __future__ import annotations

from enum import Enum

from mule.contract.profile import Profile
from mule.shaper.caps import KeyedWindows


class Verdict(Enum):
    ADMIT = "admit"
    UNKNOWN = "unknown"
    MALFORMED = "malformed"
    OVER_CAP = "over_cap"


class InboundGate:
    __slots__ = ("_limits",)

    def __init__(self, profile: Profile) -> None:
        self._limits = {opcode: KeyedWindows(cap, profile.peer_table) for opcode, cap in profile.inbound.items()}

    def check(self, now: float, source: bytes, opcode: int | None, malformed: bool) -> Verdict:
        """``opcode`` is the Kad2 opcode (Kad1 requests pass their Kad2 equivalent), ``None`` if unknown."""
        if malformed:
            return Verdict.MALFORMED
        if opcode is None:
            return Verdict.UNKNOWN
        limit = self._limits.get(opcode)
        if limit is None or limit.allow(source, now):  # responses are never limited (as in iMule)
            return Verdict.ADMIT
        return Verdict.OVER_CAP

    def tracked(self) -> int:
        """(peer, opcode) pairs currently holding state: bounded by the profile's peer table per opcode."""
        return sum(len(limit) for limit in self._limits.values())
