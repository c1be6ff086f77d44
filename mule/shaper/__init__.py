"""The shaper: the one outbound gate that enforces the contract's timing, ordering, rate and failure rules.

See docs/shaper.md. The Kad service builds one ``Shaper`` per transport and then
only calls ``submit`` (outbound), ``admit`` (inbound), ``start_lookup`` /
``start_publish`` (activity caps), ``retry_delay`` and a ``Shuffler`` for peer lists.
"""

from __future__ import annotations

from mule.shaper.profile import PROFILE_V1, DelayLaw, Profile, WindowCap
from mule.shaper.queue import Kind
from mule.shaper.shaper import Counters, Outcome, Release, Shaper
from mule.shaper.shuffle import Shuffler

__all__ = [
    "PROFILE_V1",
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
