"""The keyword store against iMule 2.3.3.3 ``Indexed.cpp::AddKeyword``, ``SendValidKeywordResult``, ``Clean`` and
``Entry.cpp`` (``MergeIPsAndFilenames``, ``ReCalculateTrustValue``, ``SearchTermsMatch``)."""

from __future__ import annotations

import pytest

from mule.index.limits import CLEAN_INTERVAL, FULL_LOAD, HOUR, KEYWORD_LIFETIME, KEYWORD_RESULTS
from mule.index.match import prepare
from mule.kad.opcodes import TagName
from mule.kad.search_expr import Boolean, BoolOp, CompareOp, Keyword, MetaString, Numeric
from mule.kad.tags import IntTag, StringTag
from tests.index.index_parts import KEYWORD, index, keyword_entry
from tests.node.peers import kad_id


def test_name_and_size_are_enough_since_imule_counts_them_as_tags():
    """``CEntry::GetTagCount`` adds name and size to the tag list's length, so the "one more tag" rule never bites."""
    store = index().keywords
    entry = keyword_entry(1)
    entry.tags = ()
    assert store.add(KEYWORD, entry, 0.0) == (True, 1)


@pytest.mark.parametrize(
    "change",
    [
        {"size": 0},
        {"names": []},
        {"names": [("", 1)]},
        {"names": [("unpopular.avi", 0)]},  # no name of popularity above 0: GetCommonFileName is empty
        {"lifetime": -1.0},
    ],
)
def test_invalid_entries_are_refused_and_leave_the_load_alone(change):
    store = index().keywords
    entry = keyword_entry(1)
    for key, value in change.items():
        setattr(entry, key, value)
    assert store.add(KEYWORD, entry, 0.0) == (False, None)
    assert len(store) == 0


def test_load_is_1_for_a_new_keyword_then_files_per_100_of_the_cap():
    store = index(files_per_keyword=10, refresh_headroom=2).keywords
    loads = [store.add(KEYWORD, keyword_entry(n), 0.0)[1] for n in range(8)]
    assert loads == [1, 10, 20, 30, 40, 50, 60, 70]  # files already under the keyword × 100 / 10


def test_total_cap_is_tested_before_adding_so_one_more_gets_in():
    """``m_totalIndexKeyword > KADEMLIAMAXENTRIES``: the store reaches cap + 1, then answers load 100."""
    store = index(keyword_entries=5).keywords
    results = [store.add(kad_id(9000 + n), keyword_entry(n), 0.0) for n in range(8)]
    assert [stored for stored, _ in results] == [True] * 6 + [False] * 2
    assert results[-1] == (False, FULL_LOAD) and len(store) == 6


def test_files_per_keyword_cap_and_the_refresh_headroom():
    store = index(files_per_keyword=4, refresh_headroom=1).keywords
    assert all(store.add(KEYWORD, keyword_entry(n), 0.0)[0] for n in range(5))  # 4 is not above 4: a 5th gets in
    assert store.add(KEYWORD, keyword_entry(99), 0.0) == (False, FULL_LOAD)
    # A known file is not refreshed once the keyword holds more than cap - headroom files.
    assert store.add(KEYWORD, keyword_entry(0, publisher=2), 0.0) == (False, FULL_LOAD)
    assert store.files(KEYWORD) == 5


def test_refresh_under_the_headroom_reports_the_load():
    store = index(files_per_keyword=10, refresh_headroom=2).keywords
    for n in range(3):
        store.add(KEYWORD, keyword_entry(n), 0.0)
    assert store.add(KEYWORD, keyword_entry(0, publisher=2), 0.0) == (True, 30)
    assert len(store) == 3


def test_same_size_replaces_another_size_adds_newest_first():
    store = index().keywords
    store.add(KEYWORD, keyword_entry(1, size=10), 0.0)
    store.add(KEYWORD, keyword_entry(1, size=20), 0.0)
    store.add(KEYWORD, keyword_entry(1, size=10, publisher=2), 5.0)
    assert len(store) == 2
    ((_, _, entries),) = store.stored()
    assert [e.size for e in entries] == [10, 20]


def test_names_gain_popularity_from_other_publishers_and_the_most_popular_answers():
    store = index().keywords
    store.add(KEYWORD, keyword_entry(1, name="First.avi", publisher=1), 0.0)
    store.add(KEYWORD, keyword_entry(1, name="second.avi", publisher=2), 1.0)
    store.add(KEYWORD, keyword_entry(1, name="SECOND.AVI", publisher=3), 2.0)
    ((_, _, (entry,)),) = store.stored()
    assert entry.names == [("First.avi", 1), ("second.avi", 2)]  # CmpNoCase: the stored spelling stays
    assert entry.name == "second.avi"
    assert [p for p, _ in entry.publishers] == [1, 2, 3]


def test_a_publisher_back_within_4_hours_moves_to_the_end_without_a_vote():
    store = index().keywords
    store.add(KEYWORD, keyword_entry(1, publisher=1), 0.0)
    store.add(KEYWORD, keyword_entry(1, publisher=2), 1.0)
    store.add(KEYWORD, keyword_entry(1, publisher=1, now=100.0), 100.0)
    ((_, _, (entry,)),) = store.stored()
    assert entry.names == [("holiday photos.zip", 2)]  # one vote from publisher 2, none from the fast refresh
    assert entry.publishers == [(2, 1.0), (1, 100.0)]
    store.add(KEYWORD, keyword_entry(1, publisher=1, now=5 * HOUR), 5 * HOUR)
    ((_, _, (entry,)),) = store.stored()
    assert entry.names == [("holiday photos.zip", 3)]


def test_an_entry_tracks_its_last_100_publishers():
    store = index().keywords
    for publisher in range(1, 131):
        store.add(KEYWORD, keyword_entry(1, publisher=publisher), float(publisher))
    ((_, _, (entry,)),) = store.stored()
    assert [p for p, _ in entry.publishers] == list(range(31, 131))


def test_trust_shares_ten_points_of_a_publisher_among_its_entries():
    store = index().keywords
    for n in range(20):
        store.add(KEYWORD, keyword_entry(n, publisher=1), 0.0)
    store.add(kad_id(1), keyword_entry(500, publisher=2), 0.0)
    assert store.trust(next(e for _, _, es in store.stored() for e in es if e.publisher == 2), 0.0) == 10.0
    spammy = [e for _, _, es in store.stored() for e in es if e.publisher == 1]
    # Each was rated when it came in (10/1, 10/2, ...); ten minutes on, all are 10/20.
    assert {store.trust(e, 601.0) for e in spammy} == {0.5}


def test_search_answers_trusted_entries_first_then_skips_and_caps():
    store = index().keywords
    for n in range(KEYWORD_RESULTS + 50):  # one publisher: 350 entries of trust 10/350 each
        store.add(KEYWORD, keyword_entry(n, publisher=1), 0.0)
    for n in range(1000, 1010):  # ten publishers with one entry each: trust 10
        store.add(KEYWORD, keyword_entry(n, publisher=n), 0.0)
    found = store.search(KEYWORD, None, 0, 1000.0)
    assert len(found) == KEYWORD_RESULTS
    assert {e.publisher for e in found[:10]} == set(range(1000, 1010))
    later = store.search(KEYWORD, None, 300, 1000.0)
    assert len(later) == 60
    assert not {id(e) for e in found} & {id(e) for e in later}
    assert store.search(kad_id(4242), None, 0, 0.0) == []


def _matches(expr, **entry_args) -> bool:
    store = index().keywords
    store.add(KEYWORD, keyword_entry(1, **entry_args), 0.0)
    return bool(store.search(KEYWORD, prepare(expr), 0, 0.0))


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (Keyword("Holiday"), True),
        (Keyword("holi"), True),  # a substring of the name, not a whole word
        (Keyword("holiday-photos"), True),  # cut at the delimiters: both pieces must be in the name
        (Keyword("holiday beach"), False),
        (Keyword("   "), False),  # no piece at all: no match
        (Boolean(BoolOp.AND, Keyword("photos"), Keyword("zip")), True),
        (Boolean(BoolOp.OR, Keyword("nothing"), Keyword("zip")), True),
        (Boolean(BoolOp.NOT, Keyword("photos"), Keyword("zip")), False),
        (Boolean(BoolOp.NOT, Keyword("photos"), Keyword("rar")), True),
        (MetaString("ZIP", TagName.FILEFORMAT), True),  # the extension of the common name, ignoring case
        (MetaString("rar", TagName.FILEFORMAT), False),
        (MetaString("Pro", TagName.FILETYPE), True),
        (MetaString("Audio", TagName.FILETYPE), False),
        (MetaString("x", TagName.MEDIA_ARTIST), False),  # no such tag
        (Numeric(CompareOp.GREATER_EQUAL, TagName.FILESIZE, 1000), True),  # the size iMule keeps apart
        (Numeric(CompareOp.LESS, TagName.FILESIZE, 1000), False),
        (Numeric(CompareOp.EQUAL, TagName.SOURCES, 3), True),
        (Numeric(CompareOp.NOT_EQUAL, TagName.SOURCES, 3), False),
        (Numeric(CompareOp.GREATER, TagName.COMPLETE_SOURCES, 0), False),  # no such tag
    ],
)
def test_search_expression_against_names_and_tags(expr, expected):
    assert _matches(expr, tags=(StringTag(TagName.FILETYPE, "pro"),)) is expected


def test_a_format_term_needs_an_extension():
    assert _matches(MetaString("zip", TagName.FILEFORMAT), name="no extension") is False


def test_numeric_terms_read_the_first_integer_tag_of_that_name():
    tags = (StringTag(TagName.SOURCES, "x"), IntTag(TagName.SOURCES, 7), IntTag(TagName.SOURCES, 9))
    assert _matches(Numeric(CompareOp.EQUAL, TagName.SOURCES, 7), tags=tags) is False  # SOURCES 3 comes first
    assert _matches(Numeric(CompareOp.EQUAL, TagName.MEDIA_LENGTH, 7), tags=tags[1:]) is False


def test_expiry_waits_for_the_half_hourly_clean():
    idx = index(now=0.0)
    idx.keywords.add(KEYWORD, keyword_entry(1, now=0.0), 0.0)
    idx.keywords.add(KEYWORD, keyword_entry(2, now=600.0), 600.0)
    assert not idx.clean(CLEAN_INTERVAL - 1)
    assert idx.clean(CLEAN_INTERVAL) and len(idx.keywords) == 2
    assert idx.clean(KEYWORD_LIFETIME + 1) and len(idx.keywords) == 1  # the first entry's day is over
    assert not idx.clean(KEYWORD_LIFETIME + 601)  # the second's too, but the next clean is not yet due
    assert len(idx.keywords) == 1
    assert idx.clean(KEYWORD_LIFETIME + 1 + CLEAN_INTERVAL) and len(idx.keywords) == 0
    assert idx.keywords.keyword_count == 0 and idx.keywords.bytes == 0


def test_clean_forgets_publishers_after_a_day_and_frees_their_count():
    idx = index(now=0.0)
    idx.keywords.add(KEYWORD, keyword_entry(1, publisher=1), 0.0)
    idx.keywords.add(KEYWORD, keyword_entry(1, publisher=2, now=20 * HOUR), 20 * HOUR)
    idx.clean(24 * HOUR + 1)
    ((_, _, (entry,)),) = idx.keywords.stored()
    assert entry.publishers == [(2, 20 * HOUR)]
    assert idx.keywords.trust(entry, 24 * HOUR + 1000) == 10.0
