"""A publish flood from 1,000 peers: iMule's caps are never passed, mule's byte budgets hold, memory stays flat."""

from __future__ import annotations

import gc
import tracemalloc

from mule._core.shuffle import Shuffler
from mule.index import IMULE_LIMITS, LocalIndex
from mule.index.limits import FULL_LOAD, IndexLimits
from mule.kad import messages
from mule.kad.message import Entry
from mule.kad.opcodes import TagName
from mule.kad.tags import BlobTag, IntTag, StringTag
from mule.node.index_answers import IndexAnswers
from tests.index.index_parts import source_tags
from tests.node.parts import inbound
from tests.node.peers import dest, kad_id

PEERS = 1000


def _answers(idx: LocalIndex) -> IndexAnswers:
    return IndexAnswers(kad_id(0), idx, Shuffler(b"flood"))


def _keyword_publish(peer: int, round_: int, entries: int, blob: int = 0) -> messages.PublishKeyReq:
    fat = (BlobTag(TagName.DESCRIPTION, bytes(blob)),) if blob else ()
    items = tuple(
        Entry(
            kad_id(peer * 1_000 + round_ * 100 + n),
            (StringTag(TagName.FILENAME, f"file {peer} {n}.avi"), IntTag(TagName.FILESIZE, 1 + n), *fat),
        )
        for n in range(entries)
    )
    return messages.PublishKeyReq(kad_id(10 + peer % 7), items)


def test_a_keyword_flood_never_passes_imules_caps():
    """70 entries from each of 1,000 peers under 7 keywords: 70,000 offered, the store stops at 60,000 + 1."""
    idx = LocalIndex(0.0, IMULE_LIMITS)
    answers = _answers(idx)
    loads = []
    for peer in range(1, PEERS + 1):
        replies = answers.publish_key_req(inbound(dest(peer), _keyword_publish(peer, 0, 70), 1.0))
        assert len(replies) == 1  # every keyword publish is answered, full or not
        loads.append(replies[0].message.load)
        assert len(idx.keywords) <= IMULE_LIMITS.keyword_entries + 1
        assert all(idx.keywords.files(kad_id(10 + k)) <= IMULE_LIMITS.files_per_keyword + 1 for k in range(7))
    assert len(idx.keywords) == IMULE_LIMITS.keyword_entries + 1
    assert loads[-1] == FULL_LOAD and loads[0] == 0  # the last entry's load: 69 files × 100 / 50,000


def test_fat_entries_stop_at_the_byte_budget():
    limits = IndexLimits(keyword_bytes=4 << 20)
    idx = LocalIndex(0.0, limits)
    answers = _answers(idx)
    for peer in range(1, PEERS + 1):
        answers.publish_key_req(inbound(dest(peer), _keyword_publish(peer, 0, 2, blob=4000), 1.0))
        assert idx.keywords.bytes <= limits.keyword_bytes
    assert len(idx.keywords) < 2 * PEERS  # the budget, not the entry cap, stopped it
    reply = answers.publish_key_req(inbound(dest(1), _keyword_publish(5000, 0, 1, blob=4000), 2.0))
    assert reply[0].message.load == FULL_LOAD


def test_a_source_flood_over_fresh_files_stops_at_the_byte_budget():
    """iMule has no cap across files; mule's budget refuses the rest silently, as iMule refuses a bad source."""
    limits = IndexLimits(source_bytes=2 << 20)
    idx = LocalIndex(0.0, limits)
    answers = _answers(idx)
    answered = 0
    for peer in range(1, PEERS + 1):
        for n in range(3):
            message = messages.PublishSourceReq(kad_id(peer * 10 + n), kad_id(peer), source_tags(dest(50_000 + peer)))
            answered += len(answers.publish_source_req(inbound(dest(peer), message, 1.0)))
            assert idx.sources.bytes <= limits.source_bytes
    assert 0 < answered == len(idx.sources) < 3 * PEERS


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def test_memory_stays_flat_once_the_flood_fills_the_budgets():
    """Fill both stores from 1,000 peers, then flood as much again: the second half costs (almost) nothing.

    The instrument is checked on the first half, which must show the growth the stores' accounting predicts.
    """
    limits = IndexLimits(keyword_entries=3_000, keyword_bytes=3 << 20, source_bytes=2 << 20)
    idx = LocalIndex(0.0, limits)
    answers = _answers(idx)

    def flood(round_: int) -> None:
        for peer in range(1, PEERS + 1):
            answers.publish_key_req(inbound(dest(peer), _keyword_publish(peer, round_, 4, blob=300), 1.0))
            source = messages.PublishSourceReq(kad_id(peer * 10 + round_), kad_id(peer), source_tags(dest(peer)))
            answers.publish_source_req(inbound(dest(peer), source, 1.0))

    tracemalloc.start()
    try:
        empty = _traced()
        flood(0)
        flood(1)
        full = _traced()
        flood(2)
        flood(3)
        after = _traced()
    finally:
        tracemalloc.stop()
    accounted = idx.keywords.bytes + idx.sources.bytes
    assert full - empty > accounted // 2  # the first floods visibly filled memory: the instrument works
    assert full - empty < accounted * 3 // 2  # and the accounting does not undercount what the stores hold
    assert after - full < 256 << 10  # then flat
