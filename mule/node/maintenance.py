"""Routing-table upkeep, sans-IO: one request per draw of the profile's upkeep law, in every state.

The kind of each request is dealt from a shuffled deck whose make-up is fixed by the profile
(HELLO probes, KADEMLIA2_REQ refreshes, BOOTSTRAP_REQs), so the rate *and* the mix are the
same on an idle node and a busy one, a new one and an old one. Only the addressee follows
the table, as iMule's timers would choose it: the contact due for a probe (small timer), the
contact nearest a zone due for a refresh (big timer), the next seed. Each kind falls back to
seeds while the table is empty and to a random contact when nothing is due, so no state
changes what is sent. Only a node that knows no one and has no seeds stays silent.
"""

from __future__ import annotations

from collections.abc import Callable

from mule._core.shuffle import Shuffler
from mule.contract import Kind
from mule.contract.profile import HELLO_REQ, KADEMLIA2_REQ
from mule.kad import kad1, messages
from mule.kad.contact import Contact
from mule.kad.opcodes import RequestType
from mule.node.handshake import Handshake
from mule.node.outbound import CRYPT_VERSION, KAD2_VERSION, Outbound, OwnContact, Peer
from mule.routing import RoutingTable
from mule.routing.constants import TYPE_DEAD, TYPE_NEW

LOOKUP_SEEDS = 50  # iMule CSearch::Go: the 50 nearest dest-verified contacts of type <= 3, else up to type 4


class Maintenance:
    __slots__ = ("_deck", "_handshake", "_me", "_mix", "_next_seed", "_randbytes", "_seeds", "_shuffler", "_table")

    def __init__(
        self,
        me: OwnContact,
        table: RoutingTable,
        seeds: list[Contact],
        handshake: Handshake,
        shuffler: Shuffler,
        randbytes: Callable[[int], bytes],
        mix: tuple[tuple[int, int], ...],
    ) -> None:
        self._me = me
        self._table = table
        # Seeds are visited in a random order, so two nodes with one seed file do not walk it in step.
        self._seeds = shuffler.shuffled(c for c in seeds if c.udp_dest != me.udp_dest and c.kad_id != me.kad_id)
        self._next_seed = 0
        self._handshake = handshake
        self._shuffler = shuffler
        self._randbytes = randbytes
        self._mix = mix
        self._deck: list[int] = []

    @property
    def seeds(self) -> int:
        return len(self._seeds)

    def tick(self, now: float) -> list[Outbound]:
        """Age the table, then deal the next upkeep request (none only when there is nobody to send it to)."""
        self._table.expire(now)
        self._table.consolidate(now)
        kind = self._deal()
        if kind == HELLO_REQ:
            peer = self._due_probe(now)
            return [] if peer is None else [self._handshake.hello(peer)]
        if kind == KADEMLIA2_REQ:
            return self._refresh(now)
        peer = self._next_seed_peer() or self._random_contact()
        return [] if peer is None else [self._bootstrap(peer)]

    def _deal(self) -> int:
        if not self._deck:
            self._deck = self._shuffler.shuffled(opcode for opcode, cards in self._mix for _ in range(cards))
        return self._deck.pop()

    def _due_probe(self, now: float) -> Peer | None:
        due = self._table.next_probe(now)
        if due is not None:
            return Peer.of(due)
        return self._random_contact() or self._next_seed_peer()

    def _refresh(self, now: float) -> list[Outbound]:
        target = self._table.refresh_target(now)
        if target is None:
            target = int.from_bytes(self._randbytes(16), "big")
        peer = self._lookup_peer(target)
        if peer is None:
            return []
        if peer.version >= KAD2_VERSION:
            request = messages.KademliaReq(RequestType.FIND_NODE, target, peer.kad_id, self._me.kad_id)
            return [peer.request(request, Kind.MAINTENANCE)]
        request1 = kad1.Kad1Req(RequestType.FIND_NODE, target, peer.kad_id, self._me.kad_id)
        return [Outbound(peer.destination, request1, Kind.MAINTENANCE)]

    def _lookup_peer(self, target: int) -> Peer | None:
        """Whom iMule's NODE lookup asks first: the nearest of its seed set, which holds only dest-verified contacts
        (type <= 3, topped up with type 4 while fewer than 50). Where iMule would have no one to ask, mule keeps the
        rate with the next seed, else the nearest contact of any kind."""
        table = self._table
        nearest = table.closest(target, LOOKUP_SEEDS, max_type=TYPE_NEW)
        if len(nearest) < LOOKUP_SEEDS:
            nearest = table.closest(target, 1, max_type=TYPE_DEAD)
        if nearest:
            return Peer.of(nearest[0])
        seed = self._next_seed_peer()
        if seed is not None:
            return seed
        anyone = table.closest(target, 1, max_type=TYPE_DEAD, verified_only=False)
        return Peer.of(anyone[0]) if anyone else None

    def _bootstrap(self, peer: Peer) -> Outbound:
        if peer.version >= CRYPT_VERSION:  # iMule's Bootstrap(): keyed by the Kad ID, no receiver key
            return Outbound(peer.destination, messages.BootstrapReq(), Kind.MAINTENANCE, crypt_id=peer.kad_id)
        if peer.version >= KAD2_VERSION:
            return Outbound(peer.destination, messages.BootstrapReq(), Kind.MAINTENANCE)
        return Outbound(peer.destination, kad1.Kad1BootstrapReq(self._me.kad1()), Kind.MAINTENANCE)

    def _next_seed_peer(self) -> Peer | None:
        if not self._seeds:
            return None
        seed = self._seeds[self._next_seed]
        self._next_seed = (self._next_seed + 1) % len(self._seeds)
        return Peer.of(seed)

    def _random_contact(self) -> Peer | None:
        picked = self._table.random_contacts(1)
        return Peer.of(picked[0]) if picked else None
