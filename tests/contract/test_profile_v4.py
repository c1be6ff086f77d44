"""PROFILE_V4, the production profile: V3 with the upkeep rate doubled, still a bounded renewal process."""

from __future__ import annotations

import dataclasses

from mule.contract import PRODUCTION, PROFILE_V3, PROFILE_V4


def test_v4_is_v3_with_only_the_upkeep_law_changed() -> None:
    assert PROFILE_V4.version == "mule-shaper/4" and PRODUCTION is PROFILE_V4
    fields = dataclasses.fields(PROFILE_V4)
    changed = {f.name for f in fields if getattr(PROFILE_V4, f.name) != getattr(PROFILE_V3, f.name)}
    assert changed == {"version", "upkeep"}


def test_v4_upkeep_is_twelve_a_minute_never_in_a_burst_never_silent_long() -> None:
    upkeep = PROFILE_V4.upkeep
    assert 60 / upkeep.mean == 12
    assert (upkeep.base, upkeep.high) == (2.5, 7.5)  # no two upkeep sends within 2.5 s, none apart by over 7.5 s
    assert 60 / upkeep.base < PROFILE_V4.global_send.limit  # even a minute of shortest gaps is far under the cap
