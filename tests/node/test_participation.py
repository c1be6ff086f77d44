"""Participation symmetry (contract row 3): an idle node and a node whose user searches a keyword every 10 s start
the same lookups per window of each kind and send indistinguishable datagram counts per window and per opcode.

Each node is a ``NodeCore`` on PROFILE_V3 in a scripted network (tests/lookup/world.py) on a virtual timeline.
The unit is a window of one run; runs use fixed, distinct seeds. The statistic is the largest Welch |t| over
every feature (datagrams per opcode, lookups started per kind); its threshold is the 99th percentile of its own
null distribution, from random relabellings of the pooled windows (fixed seed). A node without cover lookups
(the negative control) must be caught by the same test.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable

import pytest

from mule.contract import PROFILE_V3
from mule.lookup import LookupKind
from mule.lookup.manager import LookupManager
from tests.lookup.world import World, make_world

RUNS = 8
DURATION = 1200.0
WINDOW = 200.0
SEARCH_EVERY = 10.0
PERMUTATIONS = 1000
QUANTILE = 0.99
WORDS = ("linux", "ubuntu", "music", "concert", "holiday", "jazz", "piano", "summer", "guide", "movie")

Features = list[Counter[str]]


def without_covers(manager: LookupManager) -> None:
    """The negative control: a slot with no user lookup of its kind starts nothing."""
    original = manager._slot

    def slot(kind: LookupKind, now: float, allow: Callable[[], bool]) -> list:
        pending = manager._take(kind, now)
        if pending is None:
            return []
        manager._pending[kind].appendleft(pending)
        return original(kind, now, allow)

    manager._slot = slot  # type: ignore[method-assign]


def run(seed: int, *, busy: bool, covers: bool = True) -> Features:
    world: World = make_world(profile=PROFILE_V3, network=120, known=30, version=5, seed=seed)
    manager = world.core.lookup_manager
    starts: list[tuple[float, LookupKind]] = []
    slot = manager._slot

    def recorded(kind: LookupKind, now: float, allow: Callable[[], bool]) -> list:
        before = sum(manager.started.values())
        sent = slot(kind, now, allow)
        if sum(manager.started.values()) > before:
            starts.append((now, kind))
        return sent

    manager._slot = recorded  # type: ignore[method-assign]
    if not covers:
        without_covers(manager)
    rng = random.Random(seed)
    t = 0.0
    while t < DURATION:
        t += SEARCH_EVERY
        world.run(t)
        if busy:
            world.core.search_keywords(" ".join(rng.sample(WORDS, 2)))
    windows: Features = [Counter() for _ in range(int(DURATION // WINDOW))]
    for at, _, message in world.sent:
        windows[min(int(at // WINDOW), len(windows) - 1)][f"op{message.OPCODE:#04x}"] += 1
    for at, kind in starts:
        windows[min(int(at // WINDOW), len(windows) - 1)][f"start-{kind.name}"] += 1
    return windows


def welch_max(a: Features, b: Features, keys: list[str]) -> float:
    worst = 0.0
    for key in keys:
        xa, xb = [w[key] for w in a], [w[key] for w in b]
        ma, mb = sum(xa) / len(xa), sum(xb) / len(xb)
        va = sum((x - ma) ** 2 for x in xa) / (len(xa) - 1)
        vb = sum((x - mb) ** 2 for x in xb) / (len(xb) - 1)
        spread = math.sqrt(va / len(xa) + vb / len(xb))
        if spread:
            worst = max(worst, abs(ma - mb) / spread)
        elif ma != mb:
            return math.inf
    return worst


def verdict(a: Features, b: Features) -> tuple[float, float]:
    """The observed statistic and the threshold from its permutation null distribution."""
    keys = sorted({k for w in a + b for k in w})
    observed = welch_max(a, b, keys)
    pooled, rng = a + b, random.Random(20240611)
    null = []
    for _ in range(PERMUTATIONS):
        rng.shuffle(pooled)
        null.append(welch_max(pooled[: len(a)], pooled[len(a) :], keys))
    null.sort()
    return observed, null[int(QUANTILE * PERMUTATIONS)]


def windows(*, busy: bool, covers: bool = True, first_seed: int) -> Features:
    return [w for n in range(RUNS) for w in run(first_seed + n, busy=busy, covers=covers)]


@pytest.fixture(scope="module")
def idle() -> Features:
    return windows(busy=False, first_seed=100)


@pytest.mark.slow
def test_an_idle_node_and_a_searching_node_are_indistinguishable(idle: Features) -> None:
    busy = windows(busy=True, first_seed=200)
    observed, threshold = verdict(idle, busy)
    assert observed < threshold, (observed, threshold)
    # The same number of lookups of each kind start in every window: the slots do not know the user.
    for kind in LookupKind:
        key = f"start-{kind.name}"
        assert sum(w[key] for w in idle) == pytest.approx(sum(w[key] for w in busy), rel=0.25, abs=8)


@pytest.mark.slow
def test_negative_control_a_node_without_cover_lookups_is_caught(idle: Features) -> None:
    busy = windows(busy=True, covers=False, first_seed=200)
    observed, threshold = verdict(idle, busy)
    assert observed > threshold, (observed, threshold)
    quiet = windows(busy=False, covers=False, first_seed=300)[: len(idle)]
    observed, threshold = verdict(idle, quiet)
    assert observed > threshold, (observed, threshold)
