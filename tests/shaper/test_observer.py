"""Release observers: the constructor's ``observer`` and ``add_release_observer`` see every release at its hand-off,
unsubscribe stops them, and an observer that raises is contained: the wire stays exactly as without it."""

from __future__ import annotations

import contextlib

import pytest
from shaper_stats import Rig, make_rig

from mule.contract.profile import profile_for_tests
from mule.shaper import Kind, Release, Shaper

PROFILE = profile_for_tests()
SEED = bytes(range(32))
MESSAGES = 120
STALL = 0.04
"""Under the deadline slack: each stall leaves several messages due at one hand-off, all still sent."""


class Boom(Exception):
    pass


def _explode(release: Release) -> None:
    raise Boom


def drive(rig: Rig) -> None:
    """Submit a burst, then let the host stall in short steps so messages leave several at a time."""
    for n in range(MESSAGES):
        rig.shaper.submit(f"peer{n % 7}".encode(), f"payload{n}".encode(), Kind.REQUEST)
    rig.shaper.admit(b"stranger", None)  # one void among the releases
    end = rig.clock.now() + PROFILE.max_delay + 1.0
    while rig.clock.now() < end:
        rig.clock.stall(STALL)
        with contextlib.suppress(Boom):  # a raising observer that escapes the shaper surfaces here
            rig.clock.advance(0.0)


def same_wire(clean: Rig, faulty: Rig) -> None:
    assert faulty.wire == clean.wire, "a raising observer changed what left"
    assert faulty.shaper.counters == clean.shaper.counters


def test_added_observers_see_what_the_constructor_observer_sees_in_order() -> None:
    rig = make_rig(PROFILE, SEED)
    added: list[Release] = []
    rig.shaper.add_release_observer(added.append)
    drive(rig)
    assert len(rig.releases) == MESSAGES + 1
    assert added == rig.releases
    assert [r.message.payload for r in added if r.message] != [f"payload{n}".encode() for n in range(MESSAGES)]


def test_unsubscribe_stops_only_that_observer() -> None:
    rig = make_rig(PROFILE, SEED)
    first: list[Release] = []
    second: list[Release] = []
    unsubscribe = rig.shaper.add_release_observer(first.append)
    rig.shaper.add_release_observer(second.append)
    rig.shaper.submit(b"peer", b"one", Kind.REQUEST)
    rig.clock.advance(PROFILE.max_delay + 1.0)
    unsubscribe()
    unsubscribe()  # twice is harmless
    rig.shaper.submit(b"peer", b"two", Kind.REQUEST)
    rig.clock.advance(PROFILE.max_delay + 1.0)
    assert [r.message.payload for r in first if r.message] == [b"one"]
    assert [r.message.payload for r in second if r.message] == [b"one", b"two"]
    assert [payload for _at, _to, payload in rig.wire] == [b"one", b"two"]


def test_an_observer_that_raises_cannot_stop_or_change_releases() -> None:
    clean = make_rig(PROFILE, SEED)
    drive(clean)
    faulty = make_rig(PROFILE, SEED)
    after: list[Release] = []
    faulty.shaper.add_release_observer(_explode)
    faulty.shaper.add_release_observer(after.append)  # subscribed after the broken one: still sees everything
    drive(faulty)
    same_wire(clean, faulty)
    assert len(clean.wire) > 0
    assert after == faulty.releases == clean.releases
    assert faulty.shaper.observer_faults == MESSAGES + 1
    assert clean.shaper.observer_faults == 0


class UncontainedShaper(Shaper):
    """Leaky: calls an added observer straight from the release path, as a bare callback would be."""

    def add_release_observer(self, callback):  # type: ignore[no-untyped-def]
        previous = self._observer

        def both(release: Release) -> None:
            if previous is not None:
                previous(release)
            callback(release)

        self._observer = both
        return lambda: None


def test_negative_control_an_uncontained_raising_observer_is_caught() -> None:
    clean = make_rig(PROFILE, SEED)
    drive(clean)
    leaky = make_rig(PROFILE, SEED, UncontainedShaper)
    leaky.shaper.add_release_observer(_explode)
    drive(leaky)
    with pytest.raises(AssertionError, match="changed what left"):
        same_wire(clean, leaky)
    assert len(leaky.wire) < len(clean.wire)  # the rest of each batch was lost with the exception
