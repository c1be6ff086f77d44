"""The node core, sans-IO (the shape of h11's and aioquic's connection objects).

``receive(source, payload, now)`` and ``tick(now)`` return the datagrams to submit to the
shaper; ``next_tick`` says when the core wants to be called again. Inside: validation of
the sender, de-obfuscation, the flood gate *before* any costly parsing, decoding, request
tracking, the handshakes, the responder and upkeep, all over one routing table. No I/O,
no asyncio and no clock of its own: the simulator and production drive the same object.

Nothing that arrives can stop it: every input ends in a reply, a silent drop or a counted
fault, never in an exception that reaches the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from mule._core import JitterSampler
from mule._core.keystream import substream_seed
from mule._core.shuffle import Shuffler
from mule.contract import Kind, Profile
from mule.kad import kad1, messages
from mule.kad.codec import MESSAGE_TYPES, UNHANDLED_OPCODES, decode
from mule.kad.contact import Contact
from mule.kad.destination import hash_code, is_imule_destination
from mule.kad.envelope import peek_opcode
from mule.kad.errors import CodecError
from mule.kad.message import Message
from mule.kad.obfuscation import deobfuscate
from mule.kad.tags import TagSerials
from mule.node.handshake import Handshake
from mule.node.inbound import Inbound, flood_opcode
from mule.node.learning import Learning
from mule.node.maintenance import Maintenance
from mule.node.outbound import Outbound, OwnContact, seal
from mule.node.peer_keys import VerifyKeys
from mule.node.responder import Responder
from mule.node.tracking import TARGETED_REQUESTS, TRACKED_REQUESTS, Pending, RequestTracker
from mule.routing import RoutingTable

log = logging.getLogger(__name__)

KNOWN_OPCODES = frozenset(cls.OPCODE for cls in MESSAGE_TYPES) - UNHANDLED_OPCODES


class Admit(Protocol):
    """The shaper's inbound gate (``Shaper.admit``): charge the flood limits; on False the input is already voided."""

    def __call__(self, source: bytes, opcode: int | None, *, malformed: bool = False) -> bool: ...


@dataclass(frozen=True, slots=True)
class Send:
    """One datagram for ``Shaper.submit``: already encoded, packed and obfuscated."""

    destination: bytes
    payload: bytes
    kind: Kind


@dataclass(slots=True)
class CoreCounters:
    received: int = 0
    handled: int = 0
    upkeep: int = 0
    """Upkeep requests submitted (one per draw of the upkeep law, whatever the table holds)."""
    unsolicited: int = 0
    """Responses nobody asked for (dropped silently, as iMule does)."""
    faults: int = 0
    """Internal errors caught at the core's boundary: each is a bug, and none stops the node."""


Request = Callable[[Inbound], list[Outbound]]
Response = Callable[[Inbound, Pending | None], list[Outbound]]


class NodeCore:
    def __init__(
        self,
        me: OwnContact,
        udp_secret: int,
        table: RoutingTable,
        seeds: list[Contact],
        profile: Profile,
        now: float,
        *,
        admit: Admit,
        randbytes: Callable[[int], bytes],
        seed: bytes | None = None,
    ) -> None:
        """``udp_secret``: iMule's persistent CryptoKadUDPKey. ``seed`` replays every random stream (tests only)."""
        self.me = me
        self.table = table
        self.counters = CoreCounters()
        self._admit = admit
        self._randbytes = randbytes
        self._keys = VerifyKeys(udp_secret)
        self._tracker = RequestTracker()
        self._serials = TagSerials()
        shuffler = Shuffler(substream_seed(seed, b"node"))
        self._handshake = Handshake(me, table, self._tracker, randbytes)
        self._responder = Responder(me, table, shuffler)
        self._learning = Learning(me, table, self._handshake)
        self._maintenance = Maintenance(me, table, seeds, self._handshake, shuffler, randbytes, profile.upkeep_mix)
        self._upkeep = JitterSampler(profile.upkeep.base, profile.upkeep.jitter, substream_seed(seed, b"upkeep"))
        self._next_upkeep = now + self._upkeep.draw()
        h, r, learn = self._handshake, self._responder, self._learning
        self._requests: dict[type[Message], Request] = {
            messages.Ping: r.ping,
            messages.HelloReq: h.hello_req,
            messages.BootstrapReq: r.bootstrap_req,
            messages.KademliaReq: r.kademlia_req,
            messages.SearchKeyReq: r.search_req,
            messages.SearchSourceReq: r.search_req,
            messages.SearchNotesReq: r.search_req,
            kad1.Kad1HelloReq: h.kad1_hello_req,
            kad1.Kad1BootstrapReq: r.kad1_bootstrap_req,
            kad1.Kad1Req: r.kad1_req,
        }
        self._responses: dict[type[Message], Response] = {
            messages.HelloRes: h.hello_res,
            messages.HelloResAck: h.hello_res_ack,
            messages.BootstrapRes: learn.bootstrap_res,
            messages.KademliaRes: learn.kademlia_res,
            messages.Pong: learn.pong,
            kad1.Kad1HelloRes: h.kad1_hello_res,
            kad1.Kad1BootstrapRes: learn.kad1_bootstrap_res,
            kad1.Kad1Res: learn.kademlia_res,
        }

    @property
    def seeds(self) -> int:
        return self._maintenance.seeds

    @property
    def next_tick(self) -> float:
        """When the core wants ``tick`` called next (the next upkeep request)."""
        return self._next_upkeep

    # --- inbound ---------------------------------------------------------------------------------------------------

    def receive(self, source: bytes, payload: bytes, now: float) -> list[Send]:
        """One datagram from the transport: what to submit in answer (often nothing)."""
        self.counters.received += 1
        try:
            inbound = self._admitted(source, payload, now)
            return [] if inbound is None else self._sealed(self._dispatch(inbound), now)
        except Exception:
            self.counters.faults += 1
            log.debug("fault while handling a datagram", exc_info=True)
            return []

    def _admitted(self, source: bytes, payload: bytes, now: float) -> Inbound | None:
        """Validate, de-obfuscate, charge the flood gate, then decode: the costly step only for what the gate let in."""
        # A source iMule could not address (not a null-certificate DSA destination, or hashCode 0) is malformed.
        if not is_imule_destination(source) or not hash_code(source):
            self._admit(source, None, malformed=True)
            return None
        # iMule's ProcessPacket: any datagram counts as contact with the network, before the flood check.
        self.table.record_packet(now)
        own_key = self._keys.for_peer(source)
        received = deobfuscate(payload, own_id=self.me.kad_id, own_verify_key_for_sender=own_key)
        opcode = peek_opcode(received.datagram)
        if opcode is None:
            self._admit(source, None, malformed=True)
            return None
        if opcode not in KNOWN_OPCODES:
            self._admit(source, None)
            return None
        if not self._admit(source, flood_opcode(opcode)):
            return None
        try:
            message = decode(received.datagram)
        except CodecError:
            self._admit(source, None, malformed=True)
            return None
        valid_key = received.mode is not None and received.receiver_verify_key == own_key
        return Inbound(source, message, now, received.sender_verify_key, valid_key)

    def _dispatch(self, inbound: Inbound) -> list[Outbound]:
        message = inbound.message
        request = self._requests.get(type(message))
        if request is not None:
            self.counters.handled += 1
            return request(inbound)
        response = self._responses.get(type(message))
        if response is None:
            return []  # decoded but not something iMule acts on here (searches and publishes come with lookups)
        asked, pending = self._tracker.consume(
            inbound.source, message.OPCODE, inbound.now, target=getattr(message, "target", None)
        )
        if not asked:
            self.counters.unsolicited += 1
            return []
        self.counters.handled += 1
        return response(inbound, pending)

    # --- upkeep ----------------------------------------------------------------------------------------------------

    def tick(self, now: float) -> list[Send]:
        """The upkeep request that has fallen due by ``now``, if any; the next one is a fresh draw from now on.

        Drawing from the moment of firing (a renewal process) means a stalled host never catches up with a
        burst of requests, which would tell an observer that it stalled.
        """
        if now < self._next_upkeep:
            return []
        self._next_upkeep = now + self._upkeep.draw()
        try:
            sends = self._sealed(self._maintenance.tick(now), now)
            self.counters.upkeep += len(sends)
            return sends
        except Exception:
            self.counters.faults += 1
            log.debug("fault during upkeep", exc_info=True)
            return []

    # --- outbound --------------------------------------------------------------------------------------------------

    def _sealed(self, outbound: list[Outbound], now: float) -> list[Send]:
        sends = []
        for item in outbound:
            opcode = item.message.OPCODE
            try:
                payload = seal(item, self._serials, self._keys.for_peer(item.destination), self._randbytes)
            except Exception:  # a message iMule could not read: never sent, counted as the bug it is
                self.counters.faults += 1
                log.debug("fault while encoding %s", type(item.message).__name__, exc_info=True)
                continue
            if opcode in TRACKED_REQUESTS:
                target = item.message.target if opcode in TARGETED_REQUESTS else None  # type: ignore[attr-defined]
                self._tracker.expect(item.destination, opcode, now, target=target, pending=item.pending)
            sends.append(Send(item.destination, payload, item.kind))
        return sends

    # --- state -----------------------------------------------------------------------------------------------------

    @property
    def tracked_requests(self) -> int:
        return len(self._tracker)
