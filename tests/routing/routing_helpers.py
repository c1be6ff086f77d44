"""Shared builders for the routing tests: destinations with chosen hash codes, IDs at chosen distances."""

from __future__ import annotations

from mule._core.shuffle import Shuffler
from mule.routing import RoutingTable

OWN_ID = 0x0123456789ABCDEF_FEDCBA9876543210
HOUR = 3600.0


def dest(n: int) -> bytes:
    """A destination whose hash_code is ``n``."""
    return n.to_bytes(4, "little") + bytes(383)


def at_distance(distance: int, own_id: int = OWN_ID) -> int:
    return own_id ^ distance


def prefixed(prefix: str, low: int) -> int:
    """A distance whose leading bits are ``prefix`` and whose trailing bits are ``low``."""
    return (int(prefix, 2) << (128 - len(prefix))) | low


def new_table(now: float = 0.0, seed: bytes = b"routing-test", own_id: int = OWN_ID) -> RoutingTable:
    return RoutingTable(own_id, now, Shuffler(seed))


def leaf_shape(table: RoutingTable) -> list[tuple[int, int, int]]:
    """(level, index, contacts) of every leaf, sorted."""
    return sorted((z.level, z.index, z.contacts) for z in table.zones())
