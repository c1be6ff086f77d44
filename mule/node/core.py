"""The node core, sans-IO (the shape of h11's and aioquic's connection objects).

``receive(source, payload, now)`` and ``tick(now)`` return the datagrams to submit to the
shaper; ``next_tick`` says when the core wants to be called again. Inside: validation of
the sender, de-obfuscation, the flood gate *before* any costly parsing, decoding, request
tracking, the handshakes, the responder, upkeep and lookups (``mule.lookup``), all over one
routing table. No I/O, no asyncio and no clock of its own: the simulator and production drive
the same object. The user API (find a node, search, publish) queues lookups that start only in
the profile's slots (docs/lookups.md).

Nothing that arrives can stop it: every input ends in a reply, a silent drop or a counted
fault, never in an exception that reaches the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
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
from mule.kad.keywords import keyword_id, split_words
from mule.kad.message import Message
from mule.kad.obfuscation import deobfuscate
from mule.kad.search_expr import Expr
from mule.kad.tags import TagSerials
from mule.lookup import LookupHandle, LookupKind, LookupManager, SharedFile, Spec
from mule.lookup.requests import keyword_expression
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
    lookup_requests: int = 0
    """Lookup and publish requests submitted (own, self and cover lookups alike)."""
    faults: int = 0
    """Internal errors caught at the core's boundary: each is a bug, and none stops the node."""


Request = Callable[[Inbound], list[Outbound]]
Response = Callable[[Inbound, Pending | None], list[Outbound]]
LookupAnswer = Callable[[Inbound], list[Outbound] | None]
"""An answer to a lookup's data request, matched by the lookup itself; ``None``: nobody asked for it."""


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
        start_lookup: Callable[[], bool] | None = None,
        start_publish: Callable[[], bool] | None = None,
    ) -> None:
        """``udp_secret``: iMule's persistent CryptoKadUDPKey. ``seed`` replays every random stream (tests only).
        ``start_lookup`` / ``start_publish``: the shaper's per-window caps (``Shaper.start_lookup``), asked at each
        slot; without them only the slots limit the starts."""
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
        self._lookups = LookupManager(
            me,
            table,
            profile,
            now,
            randbytes=randbytes,
            seed=seed,
            start_lookup=start_lookup,
            start_publish=start_publish,
        )
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
            messages.KademliaRes: self._kademlia_res,
            messages.Pong: learn.pong,
            kad1.Kad1HelloRes: h.kad1_hello_res,
            kad1.Kad1BootstrapRes: learn.kad1_bootstrap_res,
            kad1.Kad1Res: self._kademlia_res,
        }
        lookups = self._lookups
        self._lookup_answers: dict[type[Message], LookupAnswer] = {
            messages.SearchRes: self._search_res,
            kad1.Kad1SearchRes: self._search_res,
            messages.PublishRes: lookups.on_publish_res,
            kad1.Kad1PublishRes: lookups.on_publish_res,
        }

    @property
    def seeds(self) -> int:
        return self._maintenance.seeds

    @property
    def next_tick(self) -> float:
        """When the core wants ``tick`` called next: the next upkeep request, lookup slot or lookup step."""
        return min(self._next_upkeep, self._lookups.next_deadline)

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
            return self._lookup_answer(inbound)
        asked, pending = self._tracker.consume(
            inbound.source, message.OPCODE, inbound.now, target=getattr(message, "target", None)
        )
        if not asked:
            self.counters.unsolicited += 1
            return []
        self.counters.handled += 1
        return response(inbound, pending)

    def _kademlia_res(self, inbound: Inbound, pending: Pending | None) -> list[Outbound]:
        """A tracked KADEMLIA2_RES: the table learns its contacts, and the lookup for its target (if any) hears it."""
        out = self._learning.kademlia_res(inbound, pending)
        if pending is None or not pending.legacy_challenge:
            self._lookups.on_contacts(inbound)
        return out

    def _search_res(self, inbound: Inbound) -> list[Outbound] | None:
        return [] if self._lookups.on_search_res(inbound) else None

    def _lookup_answer(self, inbound: Inbound) -> list[Outbound]:
        """SEARCH_RES and PUBLISH_RES go to the lookup that asked; anything else decoded here iMule ignores."""
        answer = self._lookup_answers.get(type(inbound.message))
        if answer is None:
            return []
        out = answer(inbound)
        if out is None:
            self.counters.unsolicited += 1
            return []
        self.counters.handled += 1
        return out

    # --- upkeep and lookups ----------------------------------------------------------------------------------------

    def tick(self, now: float) -> list[Send]:
        """The upkeep request that has fallen due by ``now``, if any (the next one is a fresh draw from now on), the
        lookup or publish slot that has fallen due, and the steps of running lookups.

        Drawing from the moment of firing (a renewal process) means a stalled host never catches up with a
        burst of requests, which would tell an observer that it stalled.
        """
        sends: list[Send] = []
        if now >= self._next_upkeep:
            self._next_upkeep = now + self._upkeep.draw()
            try:
                upkeep = self._sealed(self._maintenance.tick(now), now)
                self.counters.upkeep += len(upkeep)
                sends += upkeep
            except Exception:
                self.counters.faults += 1
                log.debug("fault during upkeep", exc_info=True)
        try:
            lookups = self._sealed(self._lookups.tick(now), now)
            self.counters.lookup_requests += len(lookups)
            sends += lookups
        except Exception:
            self.counters.faults += 1
            log.debug("fault during lookups", exc_info=True)
        return sends

    # --- the user's lookups (docs/lookups.md) ---------------------------------------------------------------------

    def find_node(self, target: int) -> LookupHandle:
        """Walk towards ``target``; results: each node that answered, with its distance (``NodeResult``)."""
        return self._lookups.submit(Spec(LookupKind.NODE, target))

    def search_keywords(self, text: str, *, expression: Expr | None = None) -> LookupHandle:
        """iMule's keyword search: ``text`` split into words (``split_words``), the target the first word's hash,
        every word required in a result's name; ``expression`` replaces the plain AND tree of the words."""
        words = tuple(split_words(text, allow_duplicates=True))
        if not words:
            raise ValueError("no keyword of at least 3 bytes in the search text")
        tree = expression if expression is not None else keyword_expression(words)
        return self._lookups.submit(Spec(LookupKind.KEYWORD, keyword_id(words[0]), words=words, expression=tree))

    def search_sources(self, file_id: int, file_size: int) -> LookupHandle:
        return self._lookups.submit(Spec(LookupKind.SOURCES, file_id, file_size=file_size))

    def search_notes(self, file_id: int, file_size: int) -> LookupHandle:
        return self._lookups.submit(Spec(LookupKind.NOTES, file_id, file_size=file_size))

    def publish_keyword(self, keyword: str, files: Sequence[SharedFile]) -> LookupHandle:
        """Store ``files`` (at most 150 are sent) under one keyword; republished every 24 h until cancelled."""
        words = split_words(keyword)
        if len(words) != 1 or not files:
            raise ValueError("a keyword publish needs one keyword of at least 3 bytes and at least one file")
        return self._lookups.submit(Spec(LookupKind.STORE_KEYWORD, keyword_id(words[0]), files=tuple(files)))

    def publish_file_keywords(self, file: SharedFile) -> list[LookupHandle]:
        """One keyword publish per word of the file's name, as iMule publishes a shared file's keywords."""
        return [self.publish_keyword(word, [file]) for word in split_words(file.name)]

    def publish_source(self, file: SharedFile, *, user_hash: int) -> LookupHandle:
        """Store us as a source of ``file`` (``user_hash``: iMule's source ID); republished every 5 h till cancelled."""
        return self._lookups.submit(Spec(LookupKind.STORE_SOURCE, file.file_id, files=(file,), user_hash=user_hash))

    def publish_notes(self, file: SharedFile, *, rating: int = 0, comment: str = "") -> LookupHandle:
        """Store a note on ``file``; republished every 24 h until cancelled."""
        spec = Spec(LookupKind.STORE_NOTES, file.file_id, files=(file,), rating=rating, comment=comment)
        return self._lookups.submit(spec)

    def lookups(self) -> list[LookupHandle]:
        """The user's lookups: queued, running and recently finished, oldest first."""
        return self._lookups.handles()

    def drain(self) -> None:
        """Start no lookup or publish from now on (a graceful stop); everything else goes on."""
        self._lookups.drain()

    @property
    def lookup_manager(self) -> LookupManager:
        return self._lookups

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
