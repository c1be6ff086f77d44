"""PROFILE_V3: V2's numbers plus the lookup and publish slots and the drain, each inside the caps it must respect."""

from __future__ import annotations

import dataclasses
import math

from mule.contract import PROFILE_V2, PROFILE_V3
from mule.lookup import LookupKind


def test_v3_is_v2_plus_slots_and_drain() -> None:
    assert PROFILE_V3.version == "mule-shaper/3"
    added = {"version", "lookup_slots", "publish_slots", "drain"}
    for field in dataclasses.fields(PROFILE_V3):
        if field.name not in added:
            assert getattr(PROFILE_V3, field.name) == getattr(PROFILE_V2, field.name), field.name
    assert PROFILE_V2.lookup_slots is None and PROFILE_V2.publish_slots is None and PROFILE_V2.drain == 0


def test_slot_laws_and_decks() -> None:
    lookups, publishes = PROFILE_V3.lookup_slots, PROFILE_V3.publish_slots
    assert lookups is not None and publishes is not None
    assert (lookups.interval.base, lookups.interval.high, lookups.interval.mean) == (10.0, 30.0, 20.0)
    assert (publishes.interval.base, publishes.interval.high, publishes.interval.mean) == (30.0, 90.0, 60.0)
    assert {LookupKind(k): n for k, n in lookups.deck} == {
        LookupKind.NODE: 3,
        LookupKind.KEYWORD: 2,
        LookupKind.SOURCES: 2,
        LookupKind.NOTES: 1,
    }
    assert {LookupKind(k): n for k, n in publishes.deck} == {
        LookupKind.STORE_SOURCE: 5,
        LookupKind.STORE_KEYWORD: 2,
        LookupKind.STORE_NOTES: 1,
    }
    assert all(not LookupKind(k).is_publish for k, _ in lookups.deck)
    assert all(LookupKind(k).is_publish for k, _ in publishes.deck)


def test_the_shapers_caps_never_bind_on_slots() -> None:
    """The most starts any window can hold (gaps never shorter than the law's base) stay under the caps."""
    for plan, cap in ((PROFILE_V3.lookup_slots, PROFILE_V3.lookups), (PROFILE_V3.publish_slots, PROFILE_V3.publishes)):
        assert plan is not None
        assert math.floor(cap.window / plan.interval.base) + 1 <= cap.limit


def test_the_drain_outlasts_the_hard_bound_on_a_queued_message() -> None:
    assert 2 * PROFILE_V3.max_delay < PROFILE_V3.drain <= 10
