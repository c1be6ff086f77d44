"""One lookup state machine (iMule's ``CSearch``) driven step by step on a virtual timeline: its constants, its
seeds, the jump-start, lifetimes, caps and stop conditions, and whom it listens to."""

from __future__ import annotations

import pytest

from mule.contract import Kind
from mule.kad import messages
from mule.kad.contact import Contact
from mule.kad.message import Entry
from mule.kad.opcodes import KAD_VERSION, RequestType
from mule.lookup import LookupKind, NodeResult
from mule.lookup.kinds import (
    IDLE_BEFORE_STEP,
    LOAD_BACKOFF_ABOVE,
    LOOKUP_SEEDS,
    REPUBLISH,
    RULES,
    SEARCH_JUMPSTART,
    SELF_LOOKUP_EVERY,
    SELF_LOOKUP_FIRST,
)
from mule.lookup.requests import SharedFile, Spec, keyword_expression
from mule.lookup.search import Lookup
from mule.routing.constants import TYPE_DEAD
from tests.lookup.world import keyword_entry
from tests.node.parts import ME, fill, table
from tests.node.peers import dest, kad_id

TARGET = kad_id(7777)
STEP = 2.5  # a fixed draw of the retry law's range [2, 3], so tests can name instants


def test_imule_constants() -> None:
    """iMule 2.3.3.3 ``Defines.h`` and ``Search.cpp``: lifetimes, answer caps, completed caps, request types."""
    assert (SEARCH_JUMPSTART, IDLE_BEFORE_STEP, LOOKUP_SEEDS) == (2.0, 1.0, 50)
    assert (SELF_LOOKUP_FIRST, SELF_LOOKUP_EVERY) == (60.0, 4 * 3600.0)
    assert REPUBLISH == {
        LookupKind.STORE_KEYWORD: 86400.0,
        LookupKind.STORE_SOURCE: 5 * 3600.0,
        LookupKind.STORE_NOTES: 86400.0,
    }
    assert LOAD_BACKOFF_ABOVE == 20
    expected = {  # kind: (KADEMLIA2_REQ type, lifetime, max answers, completed peers)
        LookupKind.NODE: (0x0B, 60, 10, 10),
        LookupKind.SOURCES: (0x02, 120, 300, 10),
        LookupKind.KEYWORD: (0x02, 120, 300, 10),
        LookupKind.NOTES: (0x02, 120, 50, 10),
        LookupKind.STORE_SOURCE: (0x04, 120, 10, 10),
        LookupKind.STORE_KEYWORD: (0x04, 120, 10, 10),
        LookupKind.STORE_NOTES: (0x04, 120, 10, 10),
    }
    assert {k: (r.request_type, r.lifetime, r.max_answers, r.max_completed) for k, r in RULES.items()} == expected


def spec(kind: LookupKind) -> Spec:
    file = SharedFile(TARGET, "blue moon.mp3", 5_000_000)
    if kind is LookupKind.KEYWORD:
        return Spec(kind, TARGET, words=("blue", "moon"), expression=keyword_expression(["blue", "moon"]))
    if kind in (LookupKind.SOURCES, LookupKind.NOTES):
        return Spec(kind, TARGET, file_size=file.size)
    return Spec(kind, TARGET, files=(file,), user_hash=kad_id(5))


def started(kind: LookupKind, contacts: range = range(1, 61), **fill_args: object) -> tuple[Lookup, list]:
    routing = table()
    fill(routing, contacts, **fill_args)  # type: ignore[arg-type]
    lookup = Lookup(spec(kind), ME)
    return lookup, lookup.start(routing, 0.0, STEP)


@pytest.mark.parametrize("kind", list(LookupKind))
def test_each_kind_asks_for_contacts_with_imules_request_type(kind: LookupKind) -> None:
    lookup, first = started(kind)
    sent = lookup.step(STEP, STEP)
    [request] = sent
    assert isinstance(request.message, messages.KademliaReq)
    assert request.message.type == {LookupKind.NODE: RequestType.FIND_NODE}.get(
        kind, RequestType.STORE if kind.is_publish else RequestType.FIND_VALUE
    )
    assert request.message.target == TARGET and request.message.sender_id == ME.kad_id
    assert request.crypt_id == request.message.receiver_id  # keyed by the peer's Kad ID (version >= 6)
    # Data searches and stores first ask our own node, at once; node lookups do not.
    if kind is LookupKind.NODE:
        assert first == []
    else:
        [own] = first
        assert own.destination == ME.udp_dest and not isinstance(own.message, messages.KademliaReq)


def test_the_closest_seed_is_asked_first_and_one_request_per_step() -> None:
    lookup, _ = started(LookupKind.NODE)
    asked = []
    for n in range(5):
        sent = lookup.step(STEP * (n + 1), STEP)
        assert len(sent) == 1
        asked.append(sent[0].message.receiver_id)
    assert asked == sorted(asked, key=lambda k: k ^ TARGET)
    nearest = min((kad_id(n) for n in range(1, 61)), key=lambda k: k ^ TARGET)
    assert asked[0] == nearest


def test_seeds_are_the_50_nearest_verified_contacts() -> None:
    lookup, _ = started(LookupKind.NODE, range(1, 81))
    unverified, _ = started(LookupKind.NODE, range(1, 81), verified=False)
    assert len(lookup._ask_contacts) == LOOKUP_SEEDS
    assert len(unverified._ask_contacts) == 0  # iMule seeds only with dest-verified contacts


def test_type_4_contacts_top_up_fewer_than_50() -> None:
    routing = table()
    fill(routing, range(1, 11))
    dead = fill(routing, range(11, 21))
    for k in dead:
        routing.get(k).type = TYPE_DEAD  # type: ignore[union-attr]
    lookup = Lookup(spec(LookupKind.NODE), ME)
    lookup.start(routing, 0.0, STEP)
    assert len(lookup._ask_contacts) == 20


def test_no_request_within_a_second_of_the_last_activity() -> None:
    lookup, _ = started(LookupKind.NODE)
    [first] = lookup.step(STEP, STEP)
    peer = first.destination
    lookup.on_contacts(peer, [], STEP + 1.8)  # an answer at 4.3
    assert lookup.step(2 * STEP, STEP) == []  # 5.0 < 4.3 + 1: idle for less than a second, nothing sent
    assert len(lookup.step(3 * STEP, STEP)) == 1  # 7.5: idle long enough


@pytest.mark.parametrize("kind", [LookupKind.NODE, LookupKind.KEYWORD])
def test_lifetime_counts_from_the_last_activity(kind: LookupKind) -> None:
    lookup, _ = started(kind, range(1, 4))  # three seeds that never answer
    now = 0.0
    sent_at = []
    while not lookup.ended:
        now += STEP
        if lookup.step(now, STEP):
            sent_at.append(now)
    last = sent_at[-1]
    lifetime = RULES[kind].lifetime
    assert last + lifetime < now <= last + lifetime + STEP
    assert len(sent_at) == 3


def test_a_node_lookup_ends_once_its_10_closest_answered() -> None:
    lookup, _ = started(LookupKind.NODE, range(1, 31))
    now, answered = 0.0, []
    while not lookup.ended:
        now += STEP
        for request in lookup.step(now, STEP):
            answered += lookup.on_contacts(request.destination, [], now + 0.5)
    assert lookup.completed == 10 and len(answered) == 10
    assert all(isinstance(r, NodeResult) for r in answered)
    nearest = sorted(kad_id(n) ^ TARGET for n in range(1, 31))[:10]
    assert sorted(r.distance for r in answered) == nearest
    assert now < 12 * STEP  # it stopped instead of asking the other 20


def test_contacts_listed_in_answers_are_asked_and_duplicates_dropped() -> None:
    lookup, _ = started(LookupKind.NODE, range(1, 3))
    [request] = lookup.step(STEP, STEP)
    listed = [Contact(KAD_VERSION, kad_id(n), dest(n)) for n in (100, 101)]
    lookup.on_contacts(request.destination, [*listed, listed[0], Contact(8, kad_id(102), request.destination)], 3.0)
    assert {dest(100), dest(101)} <= set(lookup._ask_contacts)
    assert request.destination not in lookup._ask_contacts  # an answer may not list its sender


def test_more_contacts_than_asked_sends_the_peer_to_the_trash() -> None:
    lookup, _ = started(LookupKind.KEYWORD, range(1, 5))
    [request] = lookup.step(STEP, STEP)
    three = [Contact(KAD_VERSION, kad_id(n), dest(n)) for n in (100, 101, 102)]  # FIND_VALUE asks for 2
    assert lookup.on_contacts(request.destination, three, 3.0) == []
    assert request.destination in lookup._trash and dest(100) not in lookup._ask_contacts


def test_a_responder_becomes_a_candidate_for_data() -> None:
    lookup, _ = started(LookupKind.KEYWORD, range(1, 2))
    [request] = lookup.step(STEP, STEP)
    lookup.on_contacts(request.destination, [], 3.0)
    sent = lookup.step(2 * STEP, STEP)
    # Our own node was asked at start; the responder now gets the keyword search itself.
    [search] = sent
    assert search.destination == request.destination and isinstance(search.message, messages.SearchKeyReq)
    assert search.message.expression == keyword_expression(["blue", "moon"]) and search.kind is Kind.REQUEST


def test_search_results_come_only_from_asked_peers_and_in_several_datagrams() -> None:
    lookup, _ = started(LookupKind.KEYWORD, range(1, 2))
    [request] = lookup.step(STEP, STEP)
    lookup.on_contacts(request.destination, [], 3.0)
    [search] = lookup.step(2 * STEP, STEP)
    peer = search.destination
    assert lookup.on_results(dest(999), [keyword_entry(1, "blue moon", 10)], 6.0) == []  # never asked
    first = lookup.on_results(peer, [keyword_entry(1, "blue moon", 10), keyword_entry(2, "moon", 10)], 6.0)
    second = lookup.on_results(peer, [keyword_entry(3, "Blue.Moon.avi", 20), keyword_entry(1, "blue moon", 10)], 6.5)
    assert [r.file_id for r in first] == [1]  # "moon" alone lacks a searched word
    assert [r.file_id for r in second] == [3]  # deduplicated; names split and lowercased as iMule does
    assert lookup.answers == 2 and lookup.charged(peer, 7.0)  # it may send more: still heard


def test_a_keyword_search_ends_at_300_answers_when_nothing_closer_is_left() -> None:
    own_distance = ME.kad_id ^ TARGET
    closer = [n for n in range(1, 200) if kad_id(n) ^ TARGET < own_distance][:3]
    further = [n for n in range(1, 200) if kad_id(n) ^ TARGET > own_distance][:3]
    entries = [keyword_entry(n, f"blue moon {n}", 10) for n in range(1, 301)]
    for seeds, goes_on in ((further, False), (closer, True)):
        routing = table()
        fill(routing, seeds)  # type: ignore[arg-type]
        lookup = Lookup(spec(LookupKind.KEYWORD), ME)
        [own] = lookup.start(routing, 0.0, STEP)
        lookup.on_results(own.destination, entries, 1.0)
        assert lookup.answers == 300
        # Our own node is the only completed peer: the search goes on only while someone nearer may answer.
        assert len(lookup.step(STEP, STEP)) == goes_on and lookup.ended is not goes_on


def publish_res(load: int, counts: tuple[int, int] | None = None) -> messages.PublishRes:
    return messages.PublishRes(TARGET, load, counts)


def charged_store(kind: LookupKind) -> tuple[Lookup, bytes]:
    lookup, _ = started(kind, range(1, 2))
    [request] = lookup.step(STEP, STEP)
    lookup.on_contacts(request.destination, [], 3.0)
    lookup.step(2 * STEP, STEP)
    return lookup, request.destination


def test_a_source_store_wants_the_source_counts() -> None:
    lookup, peer = charged_store(LookupKind.STORE_SOURCE)
    assert lookup.on_published(peer, publish_res(5), 6.0) == []  # key form: iMule throws
    [ack] = lookup.on_published(peer, publish_res(5, (3, 2)), 6.0)
    assert (ack.load, ack.source_counts) == (5, (3, 2))
    assert not lookup.charged(peer, 6.1)  # an acknowledgement completes the peer


def test_a_keyword_store_takes_the_key_form_and_averages_the_load() -> None:
    lookup, peer = charged_store(LookupKind.STORE_KEYWORD)
    lookup.on_published(ME.udp_dest, publish_res(10), 5.0)
    lookup.on_published(peer, publish_res(50), 6.0)
    assert lookup.node_load == 30 and lookup.answers == 2


def test_a_publish_answer_from_a_peer_not_asked_is_ignored() -> None:
    lookup, _ = charged_store(LookupKind.STORE_KEYWORD)
    assert lookup.on_published(dest(999), publish_res(1), 6.0) == []
    assert lookup.answers == 0


def test_a_store_ends_after_10_acknowledgements() -> None:
    lookup, _ = started(LookupKind.STORE_KEYWORD, range(1, 40))
    now = 0.0
    while not lookup.ended:
        now += STEP
        for request in lookup.step(now, STEP):
            if isinstance(request.message, messages.KademliaReq):
                lookup.on_contacts(request.destination, [], now + 0.5)
            else:
                lookup.on_published(request.destination, publish_res(1), now + 0.5)
    assert lookup.answers >= 10 and lookup.completed >= 10
    assert now < 40 * 2 * STEP


def test_results_of_source_and_notes_searches() -> None:
    from mule.kad.opcodes import TagName
    from mule.kad.tags import AddressTag, IntTag, StringTag

    sources, _ = started(LookupKind.SOURCES, range(1, 2))
    source = Entry(kad_id(3), (IntTag(TagName.SOURCETYPE, 1), AddressTag(TagName.SOURCEDEST, dest(3))))
    firewalled = Entry(kad_id(4), (IntTag(TagName.SOURCETYPE, 2),))
    [found] = sources.on_results(ME.udp_dest, [source, firewalled], 1.0)
    assert (found.source_id, found.tcp_dest) == (kad_id(3), dest(3))
    notes, _ = started(LookupKind.NOTES, range(1, 2))
    note = Entry(kad_id(5), (StringTag(TagName.FILENAME, "x.avi"), IntTag(TagName.FILERATING, 4)))
    [read] = notes.on_results(ME.udp_dest, [note], 1.0)
    assert (read.name, read.rating) == ("x.avi", 4)
