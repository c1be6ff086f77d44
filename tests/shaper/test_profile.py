"""The protocol profile: frozen, versioned, and inside iMule's timing envelope (kad-wire.md §7.4, §7.5)."""

from __future__ import annotations

import dataclasses

import pytest

from mule.contract.profile import profile_for_tests
from mule.shaper import PROFILE_V2, DelayLaw, WindowCap

# iMule's timing envelope (iMule 2.3.3.3: kademlia/kademlia/Defines.h, kademlia/net/PacketTracking.cpp).
IMULE_REQUEST_TRACKING = 180.0  # §7.5: an answer is accepted for 180 s after the request
IMULE_SHORTEST_SEARCH_LIFETIME = 60.0  # §7.4: NODECOMPLETE, counted from the search's last activity
IMULE_JUMPSTART = 2.0  # §7.4: a search asks its next peer at most every 2 s
IMULE_FLOOD_LIMITS_PER_MINUTE = {  # §7.5, by iMule's Kad2 opcode
    0x0D: 2,
    0x0F: 3,
    0x11: 30,
    0x14: 30,
    0x15: 30,
    0x16: 30,
    0x18: 30,
    0x19: 30,
    0x1A: 30,
    0x1E: 2,
}


def test_profile_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PROFILE_V2.delay = DelayLaw(0.0, 0.001)  # type: ignore[misc]
    with pytest.raises(TypeError):
        PROFILE_V2.inbound[0x1E] = WindowCap(1000, 1.0)  # type: ignore[index]


def test_test_profiles_cannot_pass_for_v2() -> None:
    profile = profile_for_tests(deadline_slack=1.0)
    assert profile.version != PROFILE_V2.version and profile.version.startswith(PROFILE_V2.version)
    assert profile.deadline_slack == 1.0 and profile.delay == PROFILE_V2.delay


def test_production_uses_v2() -> None:
    assert PROFILE_V2.version == "mule-shaper/2"


def test_upkeep_is_a_renewal_law_at_v1s_rate() -> None:
    """One upkeep request per 10 s on average (V1's fixed tick), gaps drawn afresh on [5 s, 15 s]."""
    assert (PROFILE_V2.upkeep.base, PROFILE_V2.upkeep.high, PROFILE_V2.upkeep.mean) == (5.0, 15.0, 10.0)
    assert sum(cards for _, cards in PROFILE_V2.upkeep_mix) == 8


def test_the_deadline_is_a_small_part_of_the_bound() -> None:
    """The slack only absorbs ordinary scheduling lateness; the law's jitter is thirty times wider."""
    assert 0 < PROFILE_V2.deadline_slack <= PROFILE_V2.delay.jitter / 30


def test_inbound_caps_are_imules_flood_limits() -> None:
    assert {op: (cap.limit, cap.window) for op, cap in PROFILE_V2.inbound.items()} == {
        op: (limit, 60.0) for op, limit in IMULE_FLOOD_LIMITS_PER_MINUTE.items()
    }


def test_delayed_answers_stay_well_inside_imules_patience() -> None:
    """The longest wait is about one jump-start period, a few percent of the shortest iMule deadline."""
    assert PROFILE_V2.delay.base > 0  # no immediate send, ever
    assert PROFILE_V2.max_delay <= IMULE_JUMPSTART
    assert PROFILE_V2.max_delay <= 0.05 * min(IMULE_SHORTEST_SEARCH_LIFETIME, IMULE_REQUEST_TRACKING)


def test_retries_are_never_faster_than_imules() -> None:
    assert PROFILE_V2.retry.base >= IMULE_JUMPSTART


def test_queue_holds_what_the_global_cap_can_send_during_one_full_delay() -> None:
    """Overflow must not be the binding limit in normal operation: the caps are."""
    per_second = PROFILE_V2.global_send.limit / PROFILE_V2.global_send.window
    assert PROFILE_V2.queue_messages >= per_second * PROFILE_V2.max_delay


@pytest.mark.parametrize(
    "changes",
    [
        {"deadline_slack": -0.01},
        {"deadline_slack": float("nan")},
        {"queue_messages": 0},
        {"queue_bytes": 0},
        {"sketch_width": 0},
        {"sketch_width": 1000},
        {"sketch_depth": 0},
        {"lateness_samples": 0},
    ],
)
def test_profile_rejects_nonsense(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        profile_for_tests(**changes)


@pytest.mark.parametrize("base, jitter", [(-0.1, 1.0), (0.0, 0.0), (float("nan"), 1.0), (0.0, float("inf"))])
def test_delay_law_rejects_nonsense(base: float, jitter: float) -> None:
    with pytest.raises(ValueError):
        DelayLaw(base, jitter)
