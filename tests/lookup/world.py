"""A scripted Kad network around one ``NodeCore`` on a virtual timeline: iMule-like FakePeers that answer its
lookups (KADEMLIA2_RES from the whole network, SEARCH_RES from a shared store, PUBLISH_RES as iMule's index
would), with a fixed latency each way. Everything the core sends is decoded and recorded with its instant."""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field

from mule._core.shuffle import Shuffler
from mule.contract import PROFILE_V3, DelayLaw, Profile, SlotPlan
from mule.contract.profile import profile_for_tests
from mule.kad import messages
from mule.kad.contact import Contact
from mule.kad.destination import hash_code
from mule.kad.message import Entry, Message
from mule.kad.opcodes import TagName
from mule.kad.tags import AddressTag, IntTag, StringTag
from mule.lookup import LookupKind
from mule.node.core import NodeCore, Send
from mule.node.outbound import OwnContact
from mule.routing import RoutingTable
from mule.transport.memory import random_destination
from tests.node.core_fixtures import allow_all, peers, seeded
from tests.node.fake_peer import FakePeer

OWN_ID = 0x0123456789ABCDEF_FEDCBA9876543210
MAX_RES_CONTACTS = 25


def profile_with(
    lookups: tuple[tuple[int, int], ...] | None = None, publishes: tuple[tuple[int, int], ...] | None = None
) -> Profile:
    """V3 with decks of only the given kinds (same slot laws), so a test's lookups start within a few slots."""
    changes: dict[str, object] = {}
    if lookups is not None:
        changes["lookup_slots"] = SlotPlan(PROFILE_V3.lookup_slots.interval, lookups)  # type: ignore[union-attr]
    if publishes is not None:
        changes["publish_slots"] = SlotPlan(PROFILE_V3.publish_slots.interval, publishes)  # type: ignore[union-attr]
    return profile_for_tests(base=PROFILE_V3, **changes)


ONLY = {kind: ((int(kind), 1),) for kind in LookupKind}
NEVER = SlotPlan(DelayLaw(1e9, 1.0), ((int(LookupKind.NODE), 1),))
"""A slot plan whose first slot never comes (for tests that want one deck only)."""


@dataclass(slots=True)
class Stored:
    keywords: dict[int, list[Entry]] = field(default_factory=dict)
    sources: dict[int, list[Entry]] = field(default_factory=dict)


@dataclass(slots=True)
class World:
    core: NodeCore
    peers: dict[bytes, FakePeer]
    latency: float = 1.0
    silent: set[bytes] = field(default_factory=set)
    """Peers that never answer (dead)."""
    greedy: set[bytes] = field(default_factory=set)
    """Peers that list more contacts than asked (iMule trashes them)."""
    stored: Stored = field(default_factory=Stored)
    search_results: dict[int, list[Entry]] = field(default_factory=dict)
    """What every peer answers to a search for a target (besides what was published to it)."""
    publish_load: int = 1
    sent: list[tuple[float, bytes, Message]] = field(default_factory=list)
    _events: list[tuple[float, int, bytes, bytes]] = field(default_factory=list)
    _order: itertools.count = field(default_factory=itertools.count)
    now: float = 0.0

    @property
    def own(self) -> bytes:
        return self.core.me.udp_dest

    def deliver(self, sends: list[Send], now: float) -> None:
        for send in sends:
            if send.destination == self.own:  # a request to ourselves: it comes back in through the network
                self.sent.append((now, send.destination, _peek(send)))
                self._schedule(now + self.latency, self.own, send.payload)
                continue
            peer = self.peers[send.destination]
            message = peer.read(send)
            self.sent.append((now, send.destination, message))
            if send.destination in self.silent:
                continue
            for answer in self.answer(peer, message):
                self._schedule(now + self.latency, peer.destination, peer.seal(self.core, answer))

    def _schedule(self, at: float, source: bytes, payload: bytes) -> None:
        heapq.heappush(self._events, (at, next(self._order), source, payload))

    def inject(self, at: float, source: bytes, message: Message) -> None:
        peer = self.peers[source]
        self._schedule(at, source, peer.seal(self.core, message))

    def run(self, until: float) -> None:
        core = self.core
        while True:
            event_at = self._events[0][0] if self._events else float("inf")
            at = min(core.next_tick, event_at)
            if at > until:
                break
            self.now = at
            if event_at <= core.next_tick:
                _, _, source, payload = heapq.heappop(self._events)
                self.deliver(core.receive(source, payload, at), at)
            else:
                self.deliver(core.tick(at), at)
        self.now = until

    # --- the network's side -----------------------------------------------------------------------------------

    def closest(self, target: int, count: int, exclude: bytes) -> tuple[Contact, ...]:
        nearest = sorted((p for p in self.peers.values() if p.destination != exclude), key=lambda p: p.kad_id ^ target)
        return tuple(p.contact() for p in nearest[:count])

    def answer(self, peer: FakePeer, message: Message) -> list[Message]:
        match message:
            case messages.KademliaReq(type=req_type, target=target):
                count = min(req_type & 0x1F, MAX_RES_CONTACTS)
                if peer.destination in self.greedy:
                    count += 3
                return [messages.KademliaRes(target, self.closest(target, count, peer.destination))]
            case messages.SearchKeyReq(target=target):
                found = self.stored.keywords.get(target, []) + self.search_results.get(target, [])
                return [messages.SearchRes(peer.kad_id, target, tuple(found))]
            case messages.SearchSourceReq(target=target):
                found = self.stored.sources.get(target, []) + self.search_results.get(target, [])
                return [messages.SearchRes(peer.kad_id, target, tuple(found))]
            case messages.SearchNotesReq(target=target):
                return [messages.SearchRes(peer.kad_id, target, tuple(self.search_results.get(target, [])))]
            case messages.PublishKeyReq(target=target, entries=entries):
                for entry in entries:  # CIndexed::AddKeyword: size, name and one more tag, else nothing kept
                    size = next((t.value for t in entry.tags if t.name == TagName.FILESIZE), 0)
                    name = next((t.value for t in entry.tags if t.name == TagName.FILENAME), "")
                    if size and name and len(entry.tags) > 2:
                        self.stored.keywords.setdefault(target, []).append(entry)
                return [messages.PublishRes(target, self.publish_load)]
            case messages.PublishSourceReq(target=target, source_id=source_id, tags=tags):
                dest = next((t.value for t in tags if isinstance(t, AddressTag) and t.name == TagName.SOURCEDEST), None)
                if dest is None or not hash_code(dest):
                    return []  # CIndexed::AddSources keeps nothing, and iMule then says nothing
                self.stored.sources.setdefault(target, []).append(Entry(source_id, tags))
                return [messages.PublishRes(target, self.publish_load, (1, 1))]
        return []  # notes are never stored by iMule (and never answered); upkeep is not answered here

    # --- reading what was sent --------------------------------------------------------------------------------

    def requests(self, opcode: int | None = None, *, since: float = 0.0) -> list[tuple[float, bytes, Message]]:
        return [s for s in self.sent if s[0] >= since and (opcode is None or opcode == s[2].OPCODE)]

    def opcodes(self) -> Counter[int]:
        return Counter(message.OPCODE for _, _, message in self.sent)


def _peek(send: Send) -> Message:
    """A datagram the core sent to itself, read with its own keys (as its receive path will)."""
    from mule.kad.codec import decode
    from mule.kad.obfuscation import deobfuscate

    return decode(deobfuscate(send.payload, own_id=OWN_ID, own_verify_key_for_sender=0).datagram)


def make_world(
    *,
    profile: Profile,
    network: int = 200,
    known: int = 40,
    version: int = 8,
    latency: float = 1.0,
    seed: int = 1,
    start: float = 0.0,
) -> World:
    """A core that knows ``known`` of a ``network`` of FakePeers (verified, alive), on ``profile``."""
    everyone = peers(network, start=1000 * seed, version=version)
    me = OwnContact(OWN_ID, random_destination(), random_destination())
    table = RoutingTable(OWN_ID, start, Shuffler(bytes([seed % 256]) * 32))
    rng = random.Random(seed)
    for peer in rng.sample(everyone, known):
        table.add(peer.kad_id, peer.destination, peer.version, start, verified=True)
        table.seen_alive(peer.kad_id, start)
    core = NodeCore(
        me,
        0x5EC2E7,
        table,
        [],
        profile,
        start,
        admit=allow_all,
        randbytes=seeded(seed),
        seed=seed.to_bytes(4, "big") * 8,
    )
    return World(core, {p.destination: p for p in everyone}, latency=latency, now=start)


def keyword_entry(file_id: int, name: str, size: int) -> Entry:
    return Entry(file_id, (StringTag(TagName.FILENAME, name), IntTag(TagName.FILESIZE, size)))
