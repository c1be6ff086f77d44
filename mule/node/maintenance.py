"""Routing-table upkeep, sans-IO: one request per tick, every tick, whatever the node's state.

The tick length is fixed, so a node sends the same amount of upkeep traffic whether it
is busy or idle, new or old (contract invariant 3). Ticks take turns: a BOOTSTRAP_REQ
to the next seed contact (every tick while the table is empty, every third while it is
thin), otherwise a HELLO_REQ probe of the contact heard from least recently, and every
third tick a KADEMLIA2_REQ for a random target to the contact nearest it (one-hop
discovery). Only a node that knows no one and has no seeds stays silent.
The shaper adds the delay law to each, so ticks are not visible on the wire as a clock.
"""

from __future__ import annotations

from collections.abc import Callable

from mule._core.shuffle import Shuffler
from mule.contract import Kind
from mule.kad import kad1, messages
from mule.kad.contact import Contact
from mule.kad.opcodes import RequestType
from mule.node.outbound import Outbound, OwnContact
from mule.routing.table import RoutingTable

THIN_TABLE = 20
"""Below this many contacts the node keeps bootstrapping from its seed list."""


class Maintenance:
    __slots__ = ("_me", "_next_seed", "_randbytes", "_seeds", "_shuffler", "_table", "_turn")

    def __init__(
        self,
        me: OwnContact,
        table: RoutingTable,
        seeds: list[Contact],
        shuffler: Shuffler,
        randbytes: Callable[[int], bytes],
    ) -> None:
        self._me = me
        self._table = table
        # Seeds are visited in a random order, so two nodes with one seed file do not walk it in step.
        self._seeds = shuffler.shuffled(c for c in seeds if c.udp_dest != me.udp_dest and c.kad_id != me.kad_id)
        self._next_seed = 0
        self._shuffler = shuffler
        self._randbytes = randbytes
        self._turn = 0

    @property
    def seeds(self) -> int:
        return len(self._seeds)

    def tick(self, now: float) -> list[Outbound]:
        turn, self._turn = self._turn, (self._turn + 1) % 3
        known = len(self._table)
        if self._seeds and (not known or (turn == 0 and known < THIN_TABLE)):
            return [self._bootstrap()]
        if not known:
            return []
        return [self._discover() if turn == 2 else self._probe()]

    def _bootstrap(self) -> Outbound:
        seed = self._seeds[self._next_seed]
        self._next_seed = (self._next_seed + 1) % len(self._seeds)
        # Version 1 and older peers only speak Kad1 (kad-wire.md §10).
        message = messages.BootstrapReq() if seed.version > 1 else kad1.Kad1BootstrapReq(self._me.kad1())
        return Outbound(seed.udp_dest, message, Kind.MAINTENANCE)

    def _probe(self) -> Outbound:
        stalest = min(self._table.contacts(), key=lambda c: c.last_seen)
        message = messages.HelloReq(self._me.kad2()) if stalest.version > 1 else kad1.Kad1HelloReq(self._me.kad1())
        return Outbound(stalest.destination, message, Kind.MAINTENANCE)

    def _discover(self) -> Outbound:
        target = int.from_bytes(self._randbytes(16), "big")
        nearest = self._table.closest(target, 1, verified_only=False)[0]
        if nearest.version > 1:
            message = messages.KademliaReq(RequestType.FIND_NODE, target, nearest.kad_id, self._me.kad_id)
        else:
            message = kad1.Kad1Req(RequestType.FIND_NODE, target, nearest.kad_id, self._me.kad_id)
        return Outbound(nearest.destination, message, Kind.MAINTENANCE)
