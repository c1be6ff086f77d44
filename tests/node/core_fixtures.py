"""A ``NodeCore`` on its own, with a permissive or a real flood gate, for sans-IO tests of the node."""

from __future__ import annotations

import random
from collections.abc import Callable

from mule._core.shuffle import Shuffler
from mule.clock import VirtualClock
from mule.contract import PROFILE_V2, Profile
from mule.kad.contact import Contact
from mule.node.core import Admit, NodeCore
from mule.node.outbound import OwnContact
from mule.routing import RoutingTable
from mule.shaper import Shaper
from mule.transport.memory import MemoryHub, random_destination
from tests.node.fake_peer import FakePeer

OWN_ID = 0x0123456789ABCDEF_FEDCBA9876543210


def allow_all(source: bytes, opcode: int | None, *, malformed: bool = False) -> bool:
    return opcode is not None and not malformed


def seeded(seed: int) -> Callable[[int], bytes]:
    return random.Random(seed).randbytes


def make_core(
    *, seeds: list[Contact] | None = None, admit: Admit = allow_all, profile: Profile = PROFILE_V2, seed: int = 1
) -> NodeCore:
    me = OwnContact(OWN_ID, random_destination(), random_destination())
    table = RoutingTable(OWN_ID, 0.0, Shuffler(bytes([seed]) * 32))
    return NodeCore(
        me, 0x5EC2E7, table, seeds or [], profile, 0.0, admit=admit, randbytes=seeded(seed), seed=bytes([seed]) * 32
    )


def real_gate(profile: Profile = PROFILE_V2) -> tuple[Shaper, VirtualClock]:
    """The shaper's own gate on a virtual clock (its sends go nowhere: these tests read the core's return value)."""
    clock = VirtualClock()
    return Shaper(MemoryHub().endpoint(), clock, profile, seed=bytes(32)), clock


def peer_destination(n: int, rng: random.Random) -> bytes:
    """A destination iMule accepts whose hashCode is ``n`` (so test peers never collide on it)."""
    return n.to_bytes(4, "little") + rng.randbytes(380) + bytes(3)


def peers(count: int, *, start: int = 1, version: int = 8) -> list[FakePeer]:
    rng = random.Random(start)
    return [
        FakePeer(
            rng.getrandbits(128) or 1, peer_destination(n, rng), rng.getrandbits(32) or 1, version, random.Random(n)
        )
        for n in range(start, start + count)
    ]
