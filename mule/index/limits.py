"""The local index's numbers: iMule 2.3.3.3's limits and lifetimes, and mule's byte budgets.

Sources: ``src/include/protocol/kad/Constants.h``, ``src/kademlia/kademlia/Indexed.cpp``,
``src/kademlia/kademlia/Entry.cpp`` and ``src/kademlia/net/KademliaUDPListener.cpp``. iMule tests its
limits with ``>`` before adding, so each cap can be reached and passed by one (60,001 keyword entries,
50,001 files per keyword, 1,001 sources per file); mule does the same, since the load byte of every
PUBLISH_RES follows from these counts.

iMule bounds entries, not bytes, and sources not at all across files; a flood of fat entries (255 tags,
blobs) or of sources for fresh file IDs would grow its memory without end. mule adds one byte budget per
store (what an entry costs in memory, estimated from its contents): a publish that would pass it is
refused exactly as iMule refuses one when full (a keyword store answers with load 100; a source store
stays silent, as iMule does when it does not store).
"""

from __future__ import annotations

from dataclasses import dataclass

HOUR = 3600.0

KEYWORD_LIFETIME = 24 * HOUR  # KADEMLIAREPUBLISHTIMEK: a keyword entry lives until now + 24 h
SOURCE_LIFETIME = 5 * HOUR  # KADEMLIAREPUBLISHTIMES: a source lives until now + 5 h
CLEAN_INTERVAL = 30 * 60.0  # CIndexed::Clean runs at most every 30 minutes (first 30 minutes after start)
PUBLISHER_MEMORY = 24 * HOUR  # CleanUpTrackedPublishers forgets a publisher after REPUBLISHTIMEK
FAST_REFRESH = SOURCE_LIFETIME - HOUR  # a publisher back within 4 h does not raise a name's popularity
PUBLISHERS_PER_ENTRY = 100  # MergeIPsAndFilenames keeps the 100 latest publishers of an entry
TRUST_POINTS = 10.0  # PUBLISHPOINTSSPERSUBNET
TRUST_REFRESH = 10 * 60.0  # GetTrustValue recomputes a value older than 10 minutes
STORE_LOAD_PAUSE = 7 * 24 * HOUR  # Search.cpp: after a keyword store with load > 20, wait 7 days × load/100
STORE_LOAD_THRESHOLD = 20

KEYWORD_RESULTS = 300  # SendValidKeywordResult
SOURCE_RESULTS = 300  # SendValidSourceResult
NOTES_RESULTS = 150  # SendValidNoteResult (never reached: iMule stores no notes)
NOTES_PER_FILE = 150  # KADEMLIAMAXNOTESPERFILE (never reached: iMule stores no notes)
FULL_LOAD = 100
MAX_RESULT_TAGS = 0xFF  # a tag list's count is one byte; an entry whose answer would need more is not stored


@dataclass(frozen=True, slots=True)
class IndexLimits:
    keyword_entries: int = 60_000  # KADEMLIAMAXENTRIES: refused (load 100) once the count is above it
    files_per_keyword: int = 50_000  # KADEMLIAMAXINDEX: files under one keyword
    refresh_headroom: int = 5_000  # a known file is not refreshed once the keyword holds 45,000 files
    sources_per_file: int = 1_000  # KADEMLIAMAXSOURCEPERFILE: above it, the oldest source makes room
    keyword_bytes: int = 64 << 20  # mule: the keyword store's memory budget
    source_bytes: int = 64 << 20  # mule: the source store's memory budget


IMULE_LIMITS = IndexLimits()
