"""One lookup as iMule 2.3.3.3's ``CSearch`` runs it, sans-IO: the serial "charge the closest" walk.

No parallelism (iMule defines ``ALPHA_QUERY`` and never uses it): at each step, if the lookup has
been idle for at least 1 s, the single closest candidate, among those to ask for contacts and those
to ask for data, is sent *one* request and becomes *charged*. iMule steps every search on one global
2 s beat; mule steps each lookup after its own draw of the profile's retry law (2-3 s), so no beat shows.

Seeds: up to 50 dest-verified contacts of type <= 3, topped up with type 4. Data searches and stores
first ask our own node (as iMule does: "useful for very small networks"). A contact that answered a
KADEMLIA2_RES becomes a candidate for data (a node lookup counts it as completed instead). Only charged
contacts are heard; one that lists more contacts than asked goes to the trash. A lookup ends when it
has its answers (or completed peers) and nothing charged or queued is closer than its worst completed
peer, or when nothing is left to ask and nothing charged answered for ``lifetime`` seconds.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from operator import attrgetter

from mule.contract import Kind
from mule.kad import messages
from mule.kad.contact import Contact
from mule.kad.destination import hash_code
from mule.kad.message import Entry
from mule.kad.opcodes import KAD_VERSION
from mule.lookup.kinds import (
    IDLE_BEFORE_STEP,
    LOOKUP_SEEDS,
    RULES,
    SEED_FALLBACK_TYPE,
    SEED_MAX_TYPE,
    LookupKind,
)
from mule.lookup.requests import Spec, data_requests, find_peers
from mule.lookup.results import (
    KeywordResult,
    NodeResult,
    NoteResult,
    PublishAck,
    Result,
    SourceResult,
    keyword_result,
    note_result,
    source_result,
)
from mule.node.outbound import Outbound, OwnContact, Peer
from mule.node.tracking import TRACK_SECONDS
from mule.routing import RoutingTable

_FAR = 1 << 128  # further than any XOR distance
_distance = attrgetter("distance")


@dataclass(slots=True)
class Candidate:
    """A contact the lookup knows (iMule's ``CSearchContact``): how to reach it and what it gave us."""

    peer: Peer
    distance: int
    results: int = 0
    asked_at: float = 0.0
    data: bool = False
    """It was charged with a data request (search or store), not a contact request."""


class Lookup:
    __slots__ = (
        "_answer_keys",
        "_ask_contacts",
        "_ask_data",
        "_best",
        "_charged",
        "_known",
        "_me",
        "_rules",
        "_trash",
        "answers",
        "completed",
        "ended",
        "kind",
        "last_activity",
        "load_responses",
        "next_step",
        "spec",
        "total_load",
    )

    def __init__(self, spec: Spec, me: OwnContact) -> None:
        self.spec = spec
        self.kind = spec.kind
        self._me = me
        self._rules = RULES[spec.kind]
        self._known: set[bytes] = {me.udp_dest}  # destinations, so nobody is asked twice and we never ask ourselves
        self._ask_contacts: dict[bytes, Candidate] = {}
        self._ask_data: dict[bytes, Candidate] = {}
        self._charged: dict[bytes, Candidate] = {}
        self._best: dict[bytes, Candidate] = {}
        self._trash: set[bytes] = set()
        self._answer_keys: set[Hashable] = set()
        self.answers = 0
        self.completed = 0
        self.total_load = 0
        self.load_responses = 0
        self.last_activity = 0.0
        self.next_step = 0.0
        self.ended = False

    @property
    def target(self) -> int:
        return self.spec.target

    @property
    def node_load(self) -> int:
        """iMule ``GetNodeLoad``: the average load the storing nodes reported."""
        return self.total_load // self.load_responses if self.load_responses else 0

    def _kind(self) -> Kind:
        return Kind.COVER if self.spec.cover else Kind.REQUEST

    # --- start and steps --------------------------------------------------------------------------------------

    def start(self, table: RoutingTable, now: float, first_step: float) -> list[Outbound]:
        """iMule ``Go``: a data lookup asks our own node first; then the seeds are known, to be asked step by step."""
        self.last_activity = now
        self.next_step = now + first_step
        sent: list[Outbound] = []
        if self.kind.wants_data:
            me = self._me
            own = Candidate(Peer(me.udp_dest, me.kad_id, KAD_VERSION), me.kad_id ^ self.target)
            self._ask_data[me.udp_dest] = own
            sent = self._charge(self._ask_data, now)
        seeds = table.closest(self.target, LOOKUP_SEEDS, max_type=SEED_MAX_TYPE)
        if len(seeds) < LOOKUP_SEEDS:
            seeds = table.closest(self.target, LOOKUP_SEEDS, max_type=SEED_FALLBACK_TYPE)
        for contact in seeds:
            if contact.destination not in self._known:
                self._known.add(contact.destination)
                self._ask_contacts[contact.destination] = Candidate(Peer.of(contact), contact.kad_id ^ self.target)
        return sent

    def step(self, now: float, next_step: float) -> list[Outbound]:
        """iMule ``JumpStart``: end the lookup, or send one request if it has been idle for 1 s."""
        self.next_step = now + next_step
        if self.ended or now < self.last_activity + IDLE_BEFORE_STEP:
            return []
        if self._finished(now):
            self.ended = True
            return []
        closest_contacts = _closest_distance(self._ask_contacts)
        closest_data = _closest_distance(self._ask_data)
        if not self._ask_contacts and not self._ask_data:
            return []
        data = bool(self._ask_data) and closest_contacts > closest_data
        if self.completed >= self._rules.max_completed:
            worst = _furthest_distance(self._best)
            queue = self._ask_data if data else self._ask_contacts
            if (closest_data if data else closest_contacts) >= worst:
                self._trash_furthest(queue)
                return []
        return self._charge(self._ask_data if data else self._ask_contacts, now)

    def _finished(self, now: float) -> bool:
        rules = self._rules
        finished = False
        if self.answers >= rules.max_answers or self.completed >= rules.max_completed:
            worst = _furthest_distance(self._best)
            # iMule's NODE searches stop at once; the others go on while someone closer may still answer.
            queues = (self._charged, self._ask_contacts, self._ask_data)
            finished = not any(_closest_distance(q) < worst for q in queues)
        if not self._ask_contacts and not self._ask_data:
            finished = finished or not self._charged or now > self.last_activity + rules.lifetime
        return finished

    def _charge(self, queue: dict[bytes, Candidate], now: float) -> list[Outbound]:
        """iMule ``chargeclosest``: take the closest candidate, ask it, and count that as activity."""
        destination = min(queue.items(), key=_item_distance)[0]
        candidate = queue.pop(destination)
        data = queue is self._ask_data
        candidate.asked_at, candidate.data = now, data
        self._charged[destination] = candidate
        self.last_activity = now
        if data:
            sent = data_requests(self.spec, candidate.peer, self._me, self._kind())
            if self.spec.cover and self.kind is LookupKind.STORE_SOURCE:
                self._cover_acknowledged(candidate)
            return sent
        return [find_peers(self.spec, candidate.peer, self._me.kad_id, self._kind())]

    def _cover_acknowledged(self, candidate: Candidate) -> None:
        """No node keeps a cover source, and iMule answers only a kept source: the walk goes on as if this one had
        been acknowledged, so it asks as many nodes as a real source publish does (docs/lookups.md)."""
        self.answers += 1
        self.completed += 1
        self._complete(candidate.peer.destination, candidate)

    # --- answers ----------------------------------------------------------------------------------------------

    def charged(self, source: bytes, now: float) -> bool:
        """Whether ``source`` was asked by this lookup (within iMule's 180 s request tracking)."""
        candidate = self._charged.get(source)
        return candidate is not None and now - candidate.asked_at < TRACK_SECONDS

    def on_contacts(self, source: bytes, contacts: Iterable[Contact], now: float) -> list[Result]:
        """iMule ``ProcessResponse``: a KADEMLIA2_RES from a charged contact."""
        candidate = self._charged.get(source)
        if candidate is None or candidate.data or self.ended:
            return []
        self.last_activity = now
        contacts = tuple(contacts)
        if len(contacts) > self._rules.request_type:
            self._uncharge(source, self._trash)  # more than asked: a protocol violation, most likely malicious
            return []
        seen = {hash_code(source)}  # an answer must not list its sender, nor one destination twice
        for contact in contacts:
            code = hash_code(contact.udp_dest)
            if contact.udp_dest in self._known or code in seen or not code:
                continue
            seen.add(code)
            self._known.add(contact.udp_dest)
            self._ask_contacts[contact.udp_dest] = Candidate(Peer.of(contact), contact.kad_id ^ self.target)
        if self.kind is LookupKind.NODE:
            self.answers += 1
            self.completed += 1
            self._complete(source, candidate)
            peer = candidate.peer
            return self._fresh([NodeResult(Contact(peer.version, peer.kad_id, peer.destination), candidate.distance)])
        del self._charged[source]
        self._ask_data[source] = candidate
        return []

    def on_results(self, source: bytes, entries: Iterable[Entry], now: float) -> list[Result]:
        """iMule ``ProcessSearchResultList``: one SEARCH_RES datagram (of several, perhaps) from a charged contact."""
        candidate = self._charged.get(source)
        if candidate is None or not candidate.data or not self.kind.wants_data or self.kind.is_publish:
            return []
        self.last_activity = now
        entries = tuple(entries)
        candidate.results += len(entries)
        found: list[Result] = []
        for entry in entries:
            result = self._read(entry)
            if result is not None:
                found.append(result)
        fresh = self._fresh(found)
        self.answers += len(fresh)
        self.completed += 1
        self._complete(source, candidate)
        return fresh

    def on_published(self, source: bytes, answer: messages.PublishRes, now: float) -> list[Result]:
        """iMule ``ProcessPublishResult``: a PUBLISH_RES from a charged contact (a source store wants the counts)."""
        candidate = self._charged.get(source)
        if candidate is None or not candidate.data or not self.kind.is_publish:
            return []
        self.last_activity = now
        if self.kind is LookupKind.STORE_SOURCE and answer.source_counts is None:
            return []  # iMule throws on a source answer without its two counts
        self.total_load += answer.load
        self.load_responses += 1
        self.answers += 1
        self.completed += 1
        self._complete(source, candidate)
        return self._fresh([PublishAck(source, answer.load, answer.source_counts)])

    def _read(self, entry: Entry) -> KeywordResult | SourceResult | NoteResult | None:
        if self.kind is LookupKind.KEYWORD:
            return keyword_result(entry, self.spec.words)
        if self.kind is LookupKind.SOURCES:
            return source_result(entry)
        return note_result(entry)

    def _fresh(self, results: list[Result]) -> list[Result]:
        fresh = []
        for result in results:
            if result.key not in self._answer_keys:
                self._answer_keys.add(result.key)
                fresh.append(result)
        return fresh

    # --- bookkeeping ------------------------------------------------------------------------------------------

    def _complete(self, destination: bytes, candidate: Candidate) -> None:
        """iMule ``addToCompletedPeers``: a data source that may send more stays charged until it has sent the cap."""
        self._best[destination] = candidate
        searching = self.kind.wants_data and not self.kind.is_publish
        if not searching or candidate.results >= self._rules.max_answers:
            self._charged.pop(destination, None)
        if len(self._best) > self._rules.max_completed:
            self._trash_furthest(self._best)

    def _uncharge(self, destination: bytes, to: set[bytes]) -> None:
        self._charged.pop(destination, None)
        to.add(destination)

    def _trash_furthest(self, queue: dict[bytes, Candidate]) -> None:
        destination = max(queue.items(), key=_item_distance)[0]
        del queue[destination]
        self._trash.add(destination)

    @property
    def completed_peers(self) -> list[Candidate]:
        """The completed peers the lookup keeps (at most its completed cap), nearest first."""
        return sorted(self._best.values(), key=lambda c: c.distance)


def _closest_distance(queue: dict[bytes, Candidate]) -> int:
    return min(map(_distance, queue.values()), default=_FAR)


def _furthest_distance(queue: dict[bytes, Candidate]) -> int:
    return max(map(_distance, queue.values()), default=0)


def _item_distance(item: tuple[bytes, Candidate]) -> int:
    return item[1].distance
