"""Index answers, field by field against iMule 2.3.3.3 (``KademliaUDPListener.cpp`` Process*Search*/Publish*,
``Indexed.cpp`` SendValid*Result and SendResults)."""

from __future__ import annotations

from collections import Counter

import pytest

from mule._core import Writer
from mule._core.shuffle import Shuffler
from mule.contract import Kind
from mule.index import LocalIndex
from mule.index.limits import KEYWORD_RESULTS
from mule.kad import kad1, messages
from mule.kad.envelope import MAX_PAYLOAD
from mule.kad.message import Entry
from mule.kad.obfuscation import KeyMode
from mule.kad.opcodes import TagName
from mule.kad.search_expr import Keyword
from mule.kad.tags import AddressTag, BlobTag, IntTag, StringTag, TagSerials
from mule.node.index_answers import KAD2_RESULT_HEADER, IndexAnswers, split_results
from tests.index.index_parts import keyword_tags, source_tags
from tests.node.parts import ME, inbound, on_the_wire
from tests.node.peers import dest, kad_id

PEER = dest(999)
PEER_KEY = 0x1234ABCD
KEY = kad_id(4001)
FILE = kad_id(4002)
TCP = dest(31337)


def make(label: str = "answers") -> tuple[IndexAnswers, LocalIndex]:
    idx = LocalIndex(0.0)
    return IndexAnswers(ME.kad_id, idx, Shuffler(label.encode())), idx


def publish_keys(answers: IndexAnswers, entries, source: bytes = PEER, now: float = 1.0):
    return answers.publish_key_req(
        inbound(source, messages.PublishKeyReq(KEY, tuple(entries)), now, sender_key=PEER_KEY)
    )


def only(replies):
    assert len(replies) == 1, replies
    return replies[0]


# --- PUBLISH_KEY_REQ -----------------------------------------------------------------------------------------------


def test_publish_key_res_is_key_and_load_keyed_by_the_sender_key():
    answers, idx = make()
    reply = only(publish_keys(answers, [Entry(FILE, keyword_tags())]))
    assert reply.message == messages.PublishRes(KEY, 1)  # key form: no counts, no options
    assert (reply.destination, reply.kind, reply.crypt_id, reply.receiver_key) == (PEER, Kind.RESPONSE, 0, PEER_KEY)
    envelope, message = on_the_wire(reply)
    assert envelope.mode is KeyMode.RECEIVER_KEY and message == messages.PublishRes(KEY, 1)
    assert len(idx.keywords) == 1


def test_publish_key_is_answered_even_when_nothing_was_stored():
    answers, idx = make()
    reply = only(publish_keys(answers, [Entry(FILE, (StringTag(TagName.FILENAME, "no size"),))]))
    assert reply.message == messages.PublishRes(KEY, 0) and len(idx.keywords) == 0
    assert only(publish_keys(answers, [])).message == messages.PublishRes(KEY, 0)


def test_publish_key_stores_tags_last_to_first_with_name_and_size_apart():
    answers, idx = make()
    tags = (
        StringTag(TagName.FILENAME, "ignored.avi"),
        IntTag(TagName.FILESIZE, 5),
        IntTag(TagName.SOURCES, 2),
        StringTag(TagName.FILETYPE, "Video"),
        StringTag(TagName.FILENAME, "kept.avi"),  # read first: iMule walks the list from its end
        IntTag(TagName.FILESIZE, 0),  # a zero size does not count: the next one is taken
    )
    publish_keys(answers, [Entry(FILE, tags)])
    ((_, _, (entry,)),) = idx.keywords.stored()
    assert (entry.name, entry.size) == ("kept.avi", 5)
    assert entry.answer == Entry(
        FILE,
        (
            StringTag(TagName.FILETYPE, "Video"),
            IntTag(TagName.SOURCES, 2),
            StringTag(TagName.FILENAME, "kept.avi"),
            IntTag(TagName.FILESIZE, 5),
        ),
    )


def test_a_name_that_is_not_a_string_ends_the_packet_without_an_answer():
    answers, idx = make()
    bad = Entry(kad_id(2), (IntTag(TagName.FILENAME, 3), IntTag(TagName.FILESIZE, 5)))
    assert publish_keys(answers, [Entry(FILE, keyword_tags()), bad, Entry(kad_id(3), keyword_tags())]) == []
    assert len(idx.keywords) == 1  # what came before the bad entry stays stored


# --- PUBLISH_SOURCE_REQ --------------------------------------------------------------------------------------------


def publish_source(answers, tags, source: bytes = PEER, source_id: int = kad_id(5)):
    message = messages.PublishSourceReq(FILE, source_id, tuple(tags))
    return answers.publish_source_req(inbound(source, message, 1.0, sender_key=PEER_KEY))


def test_publish_source_res_has_source_counts_and_load():
    answers, _idx = make()
    first = only(publish_source(answers, source_tags(TCP)))
    assert first.message == messages.PublishRes(FILE, 1, (1, 1))
    assert (first.kind, first.receiver_key) == (Kind.RESPONSE, PEER_KEY)
    second = only(publish_source(answers, source_tags(dest(2), complete=False), source=dest(77)))
    assert second.message == messages.PublishRes(FILE, 0, (2, 1))  # 1 source before it × 100 / 1,000


def test_the_storing_node_adds_the_publishers_datagram_destination():
    answers, idx = make()
    publish_source(answers, source_tags(TCP, size=42))
    ((_, (entry,)),) = idx.sources.stored()
    assert entry.answer == Entry(
        kad_id(5),
        (
            IntTag(TagName.ENCRYPTION, 0),
            IntTag(TagName.FLAGS, 1),
            AddressTag(TagName.SOURCEDEST, TCP),
            IntTag(TagName.SOURCETYPE, 1),
            AddressTag(TagName.SOURCEUDEST, PEER),
            IntTag(TagName.FILESIZE, 42),
        ),
    )


def test_a_publishers_own_datagram_destination_counts_only_if_read_before_the_source_type():
    answers, idx = make()
    own = AddressTag(TagName.SOURCEUDEST, dest(4242))
    publish_source(answers, (*source_tags(TCP), own))  # read first (last on the wire): kept instead of ours
    publish_source(answers, (own, *source_tags(dest(3))), source=dest(5))  # read after SOURCETYPE: dropped
    ((_, slots),) = idx.sources.stored()
    udests = [[t.value for t in e.tags if t.name == TagName.SOURCEUDEST] for e in slots]
    assert udests == [[dest(5)], [dest(4242)]]


@pytest.mark.parametrize(
    "tags",
    [
        source_tags(TCP)[1:],  # no TAG_SOURCETYPE: not a source
        (IntTag(TagName.SOURCETYPE, 1), IntTag(TagName.FLAGS, 1)),  # no TAG_SOURCEDEST
        (*source_tags(TCP), BlobTag(TagName.SOURCEDEST, b"x")),  # a destination tag that is not one: iMule throws
    ],
)
def test_a_source_not_stored_is_not_answered(tags):
    answers, idx = make()
    assert publish_source(answers, tags) == [] and len(idx.sources) == 0


# --- notes ----------------------------------------------------------------------------------------------------------


def test_notes_are_never_stored_nor_answered():
    answers, _ = make()
    tags = (StringTag(TagName.FILENAME, "a.avi"), IntTag(TagName.FILERATING, 4), IntTag(TagName.FILESIZE, 9))
    assert answers.publish_notes_req(inbound(PEER, messages.PublishNotesReq(FILE, kad_id(5), tags))) == []
    assert answers.kad1_publish_notes_req(inbound(PEER, kad1.Kad1PublishNotesReq(FILE, kad_id(5), tags))) == []
    assert answers.kad1_search_notes_req(inbound(PEER, kad1.Kad1SearchNotesReq(FILE, kad_id(5)))) == []
    reply = only(answers.search_notes_req(inbound(PEER, messages.SearchNotesReq(FILE, 9), sender_key=PEER_KEY)))
    assert reply.message == messages.SearchRes(ME.kad_id, FILE, ())
    assert reply.receiver_key == PEER_KEY


# --- SEARCH_KEY_REQ / SEARCH_SOURCE_REQ -----------------------------------------------------------------------------


def test_a_kad2_search_with_no_result_still_gets_one_answer():
    answers, _ = make()
    reply = only(answers.search_key_req(inbound(PEER, messages.SearchKeyReq(KEY, 0, Keyword("x")), sender_key=7)))
    assert reply.message == messages.SearchRes(ME.kad_id, KEY, ())
    assert (reply.destination, reply.kind, reply.receiver_key) == (PEER, Kind.RESPONSE, 7)
    assert only(answers.search_source_req(inbound(PEER, messages.SearchSourceReq(FILE)))).message == (
        messages.SearchRes(ME.kad_id, FILE, ())
    )


def test_search_key_answers_the_matching_entries_with_name_and_size():
    answers, _ = make()
    publish_keys(answers, [Entry(FILE, keyword_tags("Summer Holiday.zip")), Entry(kad_id(9), keyword_tags("x.zip"))])
    reply = only(answers.search_key_req(inbound(PEER, messages.SearchKeyReq(KEY, 0, Keyword("holiday")))))
    _envelope, message = on_the_wire(reply)
    assert message.sender_id == ME.kad_id and message.target == KEY
    assert list(message.results) == [
        Entry(
            FILE,
            (
                IntTag(TagName.SOURCES, 3),
                StringTag(TagName.FILENAME, "Summer Holiday.zip"),
                IntTag(TagName.FILESIZE, 1000),
            ),
        )
    ]


def _fill_keywords(answers: IndexAnswers, count: int, name_len: int = 20) -> None:
    for start in range(0, count, 100):
        entries = [Entry(kad_id(n), keyword_tags("k" * name_len + f"{n}.avi")) for n in range(start, start + 100)]
        publish_keys(answers, entries[: count - start], source=dest(start + 1))


def test_results_are_split_so_every_payload_fits_and_all_arrive():
    answers, _ = make()
    _fill_keywords(answers, 400, name_len=200)
    replies = answers.search_key_req(inbound(PEER, messages.SearchKeyReq(KEY, 0)))
    assert len(replies) > 1
    seen = []
    for reply in replies:
        w = Writer()
        reply.message.write_payload(w, TagSerials())
        assert len(w) <= MAX_PAYLOAD
        seen += [r.kad_id for r in reply.message.results]
    assert len(seen) == len(set(seen)) == KEYWORD_RESULTS


def test_start_position_pages_through_the_same_order():
    answers, _ = make()
    _fill_keywords(answers, 350)
    first = {
        r.kad_id
        for x in answers.search_key_req(inbound(PEER, messages.SearchKeyReq(KEY, 0)))
        for r in x.message.results
    }
    rest = {
        r.kad_id
        for x in answers.search_key_req(inbound(PEER, messages.SearchKeyReq(KEY, 300)))
        for r in x.message.results
    }
    assert len(first) == 300 and len(rest) == 50 and not first & rest


def test_split_results_packs_greedily_and_drops_what_never_fits():
    a, b, c, d = (Entry(n) for n in range(4))
    room = MAX_PAYLOAD - KAD2_RESULT_HEADER
    assert split_results([a, b, c], [room // 2, room // 2, 10], KAD2_RESULT_HEADER) == [(a, b), (c,)]
    assert split_results([a, b, c, d], [10, room + 1, room, 1], KAD2_RESULT_HEADER) == [(a,), (c,), (d,)]
    assert split_results([], [], KAD2_RESULT_HEADER) == [()]
    assert split_results([a], [room + 1], KAD2_RESULT_HEADER) == [()]


def test_results_come_in_a_uniformly_random_order():
    """Position of each of 4 results over 2,400 searches: chi-square against uniform (df 9, p 0.001: 27.88).
    Negative control: index order (no shuffle) is caught."""
    answers, _ = make("order")
    publish_keys(answers, [Entry(kad_id(n), keyword_tags(f"same {n}.avi")) for n in range(4)])
    positions: Counter = Counter()
    for _ in range(2400):
        (reply,) = answers.search_key_req(inbound(PEER, messages.SearchKeyReq(KEY, 0)))
        for position, result in enumerate(reply.message.results):
            positions[(result.kad_id, position)] += 1
    expected = 2400 / 4

    def chi2(counts: Counter) -> float:
        return sum((counts[(kad_id(n), p)] - expected) ** 2 / expected for n in range(4) for p in range(4))

    assert chi2(positions) < 27.88
    fixed = Counter({(kad_id(n), n): 2400 for n in range(4)})
    assert chi2(fixed) > 27.88


def test_search_source_answers_sources_with_file_size_filter():
    answers, _ = make()
    publish_source(answers, source_tags(TCP, size=10))
    publish_source(answers, source_tags(dest(2), size=20), source=dest(77))
    reply = only(answers.search_source_req(inbound(PEER, messages.SearchSourceReq(FILE, 0, 20), sender_key=3)))
    assert [r.kad_id for r in reply.message.results] == [kad_id(5)] and reply.receiver_key == 3
    assert len(reply.message.results[0].tags) == 6
    both = only(answers.search_source_req(inbound(PEER, messages.SearchSourceReq(FILE, 0, 0))))
    assert len(both.message.results) == 2


def test_a_search_runs_the_due_clean():
    answers, idx = make()
    publish_keys(answers, [Entry(FILE, keyword_tags())])
    far = 2 * 86400.0
    assert only(answers.search_key_req(inbound(PEER, messages.SearchKeyReq(KEY, 0), far))).message.results != ()
    assert len(idx.keywords) == 0  # the answer was built before the clean, as in iMule


# --- Kad1 -----------------------------------------------------------------------------------------------------------


def test_kad1_search_is_answered_plain_and_only_with_results():
    answers, _ = make()
    assert answers.kad1_search_req(inbound(PEER, kad1.Kad1SearchReq(KEY, 1, Keyword("x")), sender_key=9)) == []
    publish_keys(answers, [Entry(FILE, keyword_tags())])
    reply = only(answers.kad1_search_req(inbound(PEER, kad1.Kad1SearchReq(KEY, 1, Keyword("photos")), sender_key=9)))
    assert isinstance(reply.message, kad1.Kad1SearchRes) and reply.message.target == KEY
    assert (reply.crypt_id, reply.receiver_key, reply.kind) == (0, 0, Kind.RESPONSE)
    assert [r.kad_id for r in reply.message.results] == [FILE]
    assert only(answers.kad1_search_req(inbound(PEER, kad1.Kad1SearchReq(KEY, 0)))).message.results[0].kad_id == FILE


def test_kad1_restrictive_without_a_tree_is_a_source_search():
    answers, _ = make()
    publish_source(answers, source_tags(TCP))
    reply = only(answers.kad1_search_req(inbound(PEER, kad1.Kad1SearchReq(FILE, 1))))
    assert [r.kad_id for r in reply.message.results] == [kad_id(5)]


def test_kad1_publish_answers_each_entry_plain_keywords_and_sources_alike():
    answers, idx = make()
    entries = (
        Entry(kad_id(11), keyword_tags()),
        Entry(kad_id(12), source_tags(TCP, size=77)),
        Entry(kad_id(13), (StringTag(TagName.FILENAME, "no size"),)),
    )
    replies = answers.kad1_publish_req(inbound(PEER, kad1.Kad1PublishReq(FILE, entries), sender_key=5))
    assert [r.message for r in replies] == [
        kad1.Kad1PublishRes(FILE, 1),
        kad1.Kad1PublishRes(FILE, 1, (1, 1)),
        kad1.Kad1PublishRes(FILE, 1),  # refused, but answered with the load as it stood
    ]
    assert all((r.receiver_key, r.crypt_id) == (0, 0) for r in replies)
    ((_, (source,)),) = idx.sources.stored()
    sizes = [t for t in source.answer.tags if t.name == TagName.FILESIZE]
    assert sizes == [IntTag(TagName.FILESIZE, 77)] * 2  # Kad1 keeps the size tag and iMule appends it again


def test_kad1_publish_shorter_than_37_bytes_is_dropped():
    answers, _idx = make()
    assert answers.kad1_publish_req(inbound(PEER, kad1.Kad1PublishReq(FILE, (Entry(kad_id(1)),)))) == []
    assert answers.kad1_publish_req(inbound(PEER, kad1.Kad1PublishReq(FILE, ()))) == []
