"""The shaper: the one outbound gate that enforces the contract's timing, ordering, rate and failure rules.

See docs/shaper.md. The Kad service builds one ``Shaper`` per transport and then
only calls ``submit`` (outbound), ``admit`` (inbound), ``start_lookup`` /
``start_publish`` (activity caps), ``retry_delay`` and a ``Shuffler`` for peer lists.
"""

from __future__ import annotations

from mule._core.shuffle import Shuffler
from mule.contract import PROFILE_V2, DelayLaw, Kind, Profile, WindowCap
from mule.shaper.shaper import Counters, Outcome, Release, Shaper

__all__ = [
    "PROFILE_V2",
    "Counters",
    "DelayLaw",
    "Kind",
    "Outcome",
    "Profile",
    "Release",
    "Shaper",
    "Shuffler",
    "WindowCap",
]
