"""Local index figures (recorded, not asserted): publishing into a keyword store near iMule's cap, keyword searches
with and without an expression over a hot keyword, a source search and a source publish into a full file, and the
costliest keyword publish a datagram can carry (6,040 empty entries, decoded afresh each round)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mule._core.shuffle import Shuffler
from mule.index import LocalIndex
from mule.kad import messages
from mule.kad.codec import decode
from mule.kad.message import Entry
from mule.kad.opcodes import TagName
from mule.kad.search_expr import Boolean, BoolOp, Keyword
from mule.kad.tags import AddressTag, IntTag, StringTag
from mule.node.inbound import Inbound
from mule.node.index_answers import IndexAnswers

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "kad"))  # the hostile datagrams the tests use
from hostile import WORST

HOT = 0x1234
FILE = 0x5678


def _dest(n: int) -> bytes:
    return n.to_bytes(4, "little") + bytes(376) + b"\x01\x02\x03\x04\x00\x00\x00"


def _publish(n: int) -> messages.PublishKeyReq:
    tags = (StringTag(TagName.FILENAME, f"some holiday video {n}.avi"), IntTag(TagName.FILESIZE, n + 1))
    return messages.PublishKeyReq(
        HOT, tuple(Entry(n * 150 + k, (*tags, IntTag(TagName.SOURCES, 1))) for k in range(150))
    )


@pytest.fixture(scope="module")
def loaded() -> IndexAnswers:
    answers = IndexAnswers(1, LocalIndex(0.0), Shuffler(b"bench"))
    for n in range(1, 301):  # 45,000 files under one keyword
        answers.publish_key_req(Inbound(_dest(n), _publish(n), 1.0))
    for n in range(1, 1002):
        tags = (
            IntTag(TagName.SOURCETYPE, 1),
            AddressTag(TagName.SOURCEDEST, _dest(100_000 + n)),
            IntTag(TagName.FLAGS, 1),
        )
        answers.publish_source_req(Inbound(_dest(n), messages.PublishSourceReq(FILE, n, tags), 1.0))
    return answers


@pytest.mark.benchmark(group="index publish")
def test_publish_150_keyword_entries(benchmark, loaded):
    message = _publish(7)  # a refresh of 150 known files under a keyword holding 45,000
    benchmark(loaded.publish_key_req, Inbound(_dest(9999), message, 2.0))


@pytest.mark.benchmark(group="index publish")
def test_publish_a_source_into_a_full_file(benchmark, loaded):
    tags = (IntTag(TagName.SOURCETYPE, 1), AddressTag(TagName.SOURCEDEST, _dest(5)), IntTag(TagName.FLAGS, 1))
    benchmark(loaded.publish_source_req, Inbound(_dest(777_777), messages.PublishSourceReq(FILE, 1, tags), 2.0))


@pytest.mark.benchmark(group="index search")
def test_search_a_hot_keyword_without_expression(benchmark, loaded):
    benchmark(loaded.search_key_req, Inbound(_dest(3), messages.SearchKeyReq(HOT, 0), 2.0))


@pytest.mark.benchmark(group="index search")
def test_search_a_hot_keyword_with_a_rare_word(benchmark, loaded):
    expr = Boolean(BoolOp.AND, Keyword("holiday"), Keyword("video 299"))  # every entry tested, few match
    benchmark(loaded.search_key_req, Inbound(_dest(3), messages.SearchKeyReq(HOT, 0, expr), 2.0))


@pytest.mark.benchmark(group="index search")
def test_search_sources_of_a_full_file(benchmark, loaded):
    benchmark(loaded.search_source_req, Inbound(_dest(3), messages.SearchSourceReq(FILE, 0, 0), 2.0))


@pytest.mark.benchmark(group="index publish")
def test_publish_a_datagram_of_empty_keyword_entries(benchmark, loaded):
    raw = WORST["packed PUBLISH_KEY_REQ entries"]  # 6,040 entries without tags: iMule stores none, answers once
    benchmark(lambda: loaded.publish_key_req(Inbound(_dest(4242), decode(raw), 2.0)))
