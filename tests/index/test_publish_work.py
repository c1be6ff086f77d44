"""The work a keyword publish costs is bounded by what the store would look at, and the answer does not change.

iMule's ``Process2PublishKeyRequest`` builds a ``CKeyEntry`` for every entry of the datagram and lets
``CIndexed::AddKeyword`` refuse it; mule reads each entry's tags (a tag iMule would choke on still ends the packet
unanswered) and builds an entry only where the store would look at it: never for an entry without a name or
size, never once the store or that keyword is full. A differential test against building every entry shows the
same PUBLISH_RES and the same store, request by request.
"""

from __future__ import annotations

import random

import pytest

from mule._core.shuffle import Shuffler
from mule.index import IndexLimits, KeywordEntry, LocalIndex
from mule.index.limits import KEYWORD_LIFETIME
from mule.kad import messages
from mule.kad.codec import decode
from mule.kad.destination import hash_code
from mule.kad.message import Entry
from mule.kad.opcodes import TagName
from mule.kad.tags import BlobTag, IntTag, StringTag, Tag
from mule.node import index_answers
from mule.node.inbound import Inbound
from mule.node.index_answers import IndexAnswers, Unreadable, _keyword_tags
from tests.index.index_parts import KEYWORD, keyword_tags
from tests.kad.hostile import WORST
from tests.node.peers import dest, kad_id

PEER = dest(4242)
SMALL = IndexLimits(keyword_entries=60, files_per_keyword=25, refresh_headroom=5)


class Counted(KeywordEntry):
    """A keyword entry that counts how many were built."""

    built = 0

    def __init__(self, *args: object) -> None:
        Counted.built += 1
        super().__init__(*args)  # type: ignore[arg-type]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> type[Counted]:
    monkeypatch.setattr(index_answers, "KeywordEntry", Counted)
    Counted.built = 0
    return Counted


def publish(answers: IndexAnswers, message: messages.PublishKeyReq, now: float = 1.0):
    return answers.publish_key_req(Inbound(PEER, message, now))


def build_every_entry(index: LocalIndex, message: messages.PublishKeyReq, now: float) -> messages.PublishRes | None:
    """The reference: iMule's way, an entry built for every item, then ``AddKeyword``."""
    publisher, load = hash_code(PEER), 0
    try:
        for item in message.entries:
            name, size, kept = _keyword_tags(item.tags)
            entry = index_answers.KeywordEntry(  # looked up now: counted where a test counts
                item.kad_id, size, tuple(kept), now + KEYWORD_LIFETIME, publisher, [(name, 1)] if name else []
            )
            _, changed = index.keywords.add(message.target, entry, now)
            load = load if changed is None else changed
    except Unreadable:
        return None
    return messages.PublishRes(message.target, load)


def files(first: int, count: int, **tags: object) -> tuple[Entry, ...]:
    return tuple(Entry(kad_id(first + n), keyword_tags(**tags)) for n in range(count))  # type: ignore[arg-type]


def test_a_datagram_of_empty_entries_builds_no_entry(counted):
    message = decode(WORST["packed PUBLISH_KEY_REQ entries"])
    assert isinstance(message, messages.PublishKeyReq) and len(message.entries) == 6040
    answers = IndexAnswers(1, LocalIndex(0.0), Shuffler(b"work"))
    (reply,) = publish(answers, message)
    assert reply.message == messages.PublishRes(message.target, 0)  # answered, as iMule answers it
    assert counted.built == 0 and len(answers._index.keywords) == 0


def test_negative_control_a_handler_that_builds_every_entry_is_caught(counted):
    message = decode(WORST["packed PUBLISH_KEY_REQ entries"])
    assert build_every_entry(LocalIndex(0.0), message, 1.0) == messages.PublishRes(message.target, 0)  # type: ignore[arg-type]
    assert counted.built == 6040  # the bound above would fail for it


def test_once_a_keyword_is_full_no_entry_is_built_and_the_answer_is_full_load(counted):
    answers = IndexAnswers(1, LocalIndex(0.0, SMALL), Shuffler(b"work"))
    (reply,) = publish(answers, messages.PublishKeyReq(KEYWORD, files(0, SMALL.files_per_keyword + 1)))
    assert answers._index.keywords.files(KEYWORD) == SMALL.files_per_keyword + 1  # one past the cap, as iMule
    assert counted.built == SMALL.files_per_keyword + 1
    counted.built = 0
    (reply,) = publish(answers, messages.PublishKeyReq(KEYWORD, files(1000, 150)))
    assert reply.message == messages.PublishRes(KEYWORD, 100)
    assert counted.built == 0
    # AddKeyword looks at the entry before the keyword: an empty one leaves the load as it was, full or not.
    (reply,) = publish(answers, messages.PublishKeyReq(KEYWORD, (Entry(kad_id(1), ()),)))
    assert reply.message == messages.PublishRes(KEYWORD, 0)
    other = kad_id(9)  # another keyword still takes files
    (reply,) = publish(answers, messages.PublishKeyReq(other, files(2000, 3)))
    assert reply.message == messages.PublishRes(other, 2 * 100 // SMALL.files_per_keyword) and counted.built == 3


def test_once_the_store_is_full_no_entry_is_built_even_for_empty_ones(counted):
    answers = IndexAnswers(1, LocalIndex(0.0, SMALL), Shuffler(b"work"))
    for n in range(4):
        publish(answers, messages.PublishKeyReq(kad_id(100 + n), files(100 * n, 20)))
    assert len(answers._index.keywords) > SMALL.keyword_entries
    counted.built = 0
    empties = tuple(Entry(kad_id(5000 + n), ()) for n in range(200))
    (reply,) = publish(answers, messages.PublishKeyReq(KEYWORD, (*files(3000, 150), *empties)))
    assert reply.message == messages.PublishRes(KEYWORD, 100) and counted.built == 0


def _random_tags(rng: random.Random) -> tuple[Tag, ...]:
    tags: list[Tag] = []
    for _ in range(rng.choice([0, 1, 2, 3, 3, 4, 300])):
        roll = rng.random()
        if roll < 0.3:
            tags.append(StringTag(TagName.FILENAME, rng.choice(["", "a film.avi", "song.mp3"])))
        elif roll < 0.6:
            tags.append(IntTag(TagName.FILESIZE, rng.choice([0, 1, 700])))
        elif roll < 0.62:
            tags.append(IntTag(TagName.FILENAME, 5))  # unreadable where iMule reads it
        elif roll < 0.64:
            tags.append(BlobTag(TagName.FILESIZE, b"x"))
        else:
            tags.append(IntTag(TagName.SOURCES, rng.randrange(5)))
    return tuple(tags)


def test_same_answers_and_same_store_as_building_every_entry():
    rng = random.Random(14)
    for _world in range(20):
        ours = IndexAnswers(1, LocalIndex(0.0, SMALL), Shuffler(b"work"))
        reference = LocalIndex(0.0, SMALL)
        for request in range(40):
            target = kad_id(rng.randrange(3))
            entries = tuple(Entry(kad_id(rng.randrange(80)), _random_tags(rng)) for _ in range(rng.randrange(30)))
            message = messages.PublishKeyReq(target, entries)
            now = 1.0 + request
            replies = publish(ours, message, now)
            expected = build_every_entry(reference, message, now)
            assert [r.message for r in replies] == ([] if expected is None else [expected])
            assert _contents(ours._index) == _contents(reference)


def _contents(index: LocalIndex) -> list[tuple[int, int, list[tuple[int, int, str, tuple[Tag, ...]]]]]:
    return [
        (keyword, file_id, [(e.file_id, e.size, e.name, e.tags) for e in entries])
        for keyword, file_id, entries in index.keywords.stored()
    ]
