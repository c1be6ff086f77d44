"""The source store against iMule 2.3.3.3 ``Indexed.cpp::AddSources``, ``SendValidSourceResult``,
``GetSourceCount``, ``GetCompleteSourceCount`` and ``Clean``."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mule.index.limits import CLEAN_INTERVAL, FULL_LOAD, SOURCE_LIFETIME, SOURCE_RESULTS
from tests.index.index_parts import index, source_entry
from tests.node.peers import kad_id

FILE = kad_id(8001)


@pytest.mark.parametrize("change", [{"tcp": 0}, {"tags": ()}, {"lifetime": -1.0}])
def test_a_source_needs_a_valid_stream_destination_tags_and_time_left(change):
    store = index().sources
    assert store.add(FILE, replace(source_entry(1), **change), 0.0) == (False, None)
    assert len(store) == 0


def test_loads_one_for_a_new_file_then_sources_per_10_of_the_cap():
    store = index(sources_per_file=10).sources
    assert [store.add(FILE, source_entry(p), 0.0)[1] for p in range(1, 6)] == [1, 10, 20, 30, 40]


def test_a_listed_publisher_replaces_its_entry_in_place_keeping_its_slot():
    """Matched by stream or by datagram destination; the slot keeps its place and first ID."""
    store = index().sources
    for publisher in (1, 2, 3):
        store.add(FILE, source_entry(publisher), 0.0)
    again = replace(source_entry(2, tcp=555), source_id=kad_id(77))  # same datagram destination, new stream one
    assert store.add(FILE, again, 10.0) == (True, 0)
    ((_, slots),) = store.stored()
    assert [e.udp for e in slots] == [3, 2, 1]
    assert slots[1] is again and slots[1].slot_id == kad_id(2) and len(store) == 3
    by_stream = source_entry(9, tcp=100_003)  # publisher 3's stream destination
    store.add(FILE, by_stream, 11.0)
    ((_, slots),) = store.stored()
    assert slots[0] is by_stream and slots[0].slot_id == kad_id(3)


def test_above_the_cap_the_oldest_slot_makes_room_with_load_100():
    store = index(sources_per_file=4).sources
    assert all(store.add(FILE, source_entry(p), 0.0)[0] for p in range(1, 6))  # 4 is not above 4: a 5th gets in
    assert store.add(FILE, source_entry(6), 0.0) == (True, FULL_LOAD)
    ((_, slots),) = store.stored()
    assert [e.udp for e in slots] == [6, 5, 4, 3, 2] and len(store) == 5
    assert slots[0].slot_id == kad_id(6)


def test_counts_are_all_sources_and_those_flagged_complete():
    store = index().sources
    for publisher in range(1, 6):
        store.add(FILE, source_entry(publisher, complete=publisher % 2 == 1), 0.0)
    assert store.counts(FILE) == (5, 3)
    assert store.counts(kad_id(1)) == (0, 0)


def test_search_skips_first_whatever_the_size_then_keeps_matching_sizes_up_to_300():
    store = index().sources
    for publisher in range(1, 401):
        store.add(FILE, source_entry(publisher, size=1000 if publisher % 4 else 0), 0.0)
    newest_first = [e.udp for _, slots in store.stored() for e in slots]
    assert [e.udp for e in store.search(FILE, 0, 0)] == newest_first[:SOURCE_RESULTS]
    assert [e.udp for e in store.search(FILE, 10, 5)] == [p for p in newest_first[10:] if p % 4 == 0]
    assert [e.udp for e in store.search(FILE, 390, 1000)] == newest_first[390:]
    assert store.search(FILE, 400, 0) == [] and store.search(kad_id(3), 0, 0) == []


def test_sources_expire_at_the_clean_after_five_hours():
    idx = index(now=0.0)
    idx.sources.add(FILE, source_entry(1, now=0.0), 0.0)
    idx.sources.add(FILE, source_entry(2, now=CLEAN_INTERVAL), CLEAN_INTERVAL)
    assert idx.clean(SOURCE_LIFETIME + 1) and idx.sources.counts(FILE) == (1, 1)
    assert idx.clean(SOURCE_LIFETIME + 1 + CLEAN_INTERVAL) and idx.sources.counts(FILE) == (0, 0)
    assert idx.sources.file_count == 0 and idx.sources.bytes == 0
