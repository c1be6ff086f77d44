"""The contract's fixed numbers (the versioned protocol profile) and the kinds of outbound traffic.

Plain data only, so the sans-IO node core and the shaper can both use it without either importing the other.
"""

from __future__ import annotations

from mule.contract.kind import Kind
from mule.contract.profile import PRODUCTION, PROFILE_V2, PROFILE_V3, PROFILE_V4, DelayLaw, Profile, SlotPlan, WindowCap

__all__ = [
    "PRODUCTION",
    "PROFILE_V2",
    "PROFILE_V3",
    "PROFILE_V4",
    "DelayLaw",
    "Kind",
    "Profile",
    "SlotPlan",
    "WindowCap",
]
