"""Contract invariant 1 (timing): every message waits base + bounded jitter, with one law for every kind.

Runs on the virtual clock, so the measured delays are exactly the shaper's decisions.
"""

from __future__ import annotations

import numpy as np
import pytest
from shaper_stats import ShaperFactory, assert_delays_follow_law, assert_same_distribution, make_rig

from mule._core import JitterSampler
from mule.contract.profile import PROFILE_V2, profile_for_tests
from mule.shaper import Kind, Shaper, WindowCap

PER_KIND = 4000
SEED = bytes(range(32))
# V2's delay law, with caps and queue out of the way so that every message is sent.
UNCAPPED = profile_for_tests(
    queue_messages=1 << 20,
    queue_bytes=1 << 30,
    global_send=WindowCap(1 << 30, 1.0),
    responses_per_peer=WindowCap(1 << 30, 1.0),
)


def delays_by_kind(factory: ShaperFactory = Shaper, seed: bytes = SEED) -> dict[str, np.ndarray]:
    """Submit PER_KIND messages of each kind, interleaved at random phases, and measure submit -> wire."""
    rig = make_rig(UNCAPPED, seed, factory)
    rng = np.random.default_rng(7)
    kinds = np.repeat(np.arange(len(Kind)), PER_KIND)
    rng.shuffle(kinds)
    submitted_at: dict[bytes, tuple[Kind, float]] = {}
    all_kinds = list(Kind)
    for index, kind_index in enumerate(kinds):
        rig.clock.advance(rng.uniform(0.0, 0.02))
        payload = index.to_bytes(4, "big")
        kind = all_kinds[kind_index]
        submitted_at[payload] = (kind, rig.clock.now())
        rig.shaper.submit(b"peer-%d" % (index % 97), payload, kind)
    rig.clock.advance(UNCAPPED.max_delay + 1.0)
    delays: dict[str, list[float]] = {kind.value: [] for kind in Kind}
    for at, _destination, payload in rig.wire:
        kind, when = submitted_at.pop(payload)
        delays[kind.value].append(at - when)
    assert not submitted_at, "every message is sent once"
    return {kind: np.asarray(values) for kind, values in delays.items()}


class ResponseFastLane(Shaper):
    """Leaky: answers skip 100 ms of their wait (a "fast path for cheap messages")."""

    def submit(self, destination: bytes, payload: bytes, kind: Kind) -> None:
        if kind is Kind.RESPONSE:
            self._queue.push(self._clock.now() - 0.1, destination, payload, kind)
            self._arm()
            return
        super().submit(destination, payload, kind)


class NarrowLaw(Shaper):
    """Leaky: draws from a law that never uses the first 100 ms of the jitter (bounds still hold)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        law = self.profile.delay
        self._queue._sampler = JitterSampler(law.base + 0.1, law.jitter - 0.1, bytes(32))


@pytest.fixture(scope="module")
def shaper_delays() -> dict[str, np.ndarray]:
    return delays_by_kind()


def test_every_kind_waits_within_the_bounds_and_follows_the_law(shaper_delays: dict[str, np.ndarray]) -> None:
    for delays in shaper_delays.values():
        assert delays.size == PER_KIND
        assert_delays_follow_law(delays, UNCAPPED)


def test_the_law_is_the_same_for_every_kind(shaper_delays: dict[str, np.ndarray]) -> None:
    assert_same_distribution(shaper_delays)


def test_negative_control_a_kind_dependent_delay_is_caught() -> None:
    leaky = delays_by_kind(ResponseFastLane)
    with pytest.raises(AssertionError, match="distinguishable"):
        assert_same_distribution(leaky)


def test_negative_control_a_different_law_within_the_bounds_is_caught() -> None:
    leaky = delays_by_kind(NarrowLaw)
    with pytest.raises(AssertionError, match="do not follow the law"):
        assert_delays_follow_law(leaky[Kind.REQUEST.value], UNCAPPED)


def test_nothing_leaves_before_the_base_delay() -> None:
    rig = make_rig(UNCAPPED, SEED)
    for index in range(200):
        rig.shaper.submit(b"peer", bytes([index]), Kind.RESPONSE)
    rig.clock.advance(UNCAPPED.delay.base - 1e-6)
    assert rig.wire == []
    rig.clock.advance(UNCAPPED.max_delay)
    assert len(rig.wire) == 200


def test_v2_law_is_the_documented_one() -> None:
    """The profile's law is what docs/contract.md reasons about; change both together or neither."""
    assert (PROFILE_V2.delay.base, PROFILE_V2.delay.jitter, PROFILE_V2.deadline_slack) == (0.25, 1.5, 0.05)
    assert PROFILE_V2.max_delay == pytest.approx(1.8)
