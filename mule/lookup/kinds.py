"""The kinds of lookup and iMule 2.3.3.3's numbers for each (``src/kademlia/kademlia/Defines.h``, ``Search.cpp``).

Times are seconds. A lookup's lifetime counts from its last activity (a request sent or an answer taken).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from mule.contract import profile
from mule.kad.opcodes import RequestType


class LookupKind(IntEnum):
    """Numbered as iMule's search types (``Search.h``), so the profile's slot decks can name them."""

    NODE = profile.LOOKUP_NODE
    """A walk towards a Kad ID until the 10 closest answered (iMule's NODECOMPLETE; the self lookup is one)."""
    SOURCES = profile.LOOKUP_SOURCES
    KEYWORD = profile.LOOKUP_KEYWORD
    NOTES = profile.LOOKUP_NOTES
    STORE_SOURCE = profile.STORE_SOURCE
    STORE_KEYWORD = profile.STORE_KEYWORD
    STORE_NOTES = profile.STORE_NOTES

    @property
    def is_publish(self) -> bool:
        return self >= LookupKind.STORE_SOURCE

    @property
    def wants_data(self) -> bool:
        """Whether the walk ends in data requests (searches and stores), not in contacts only."""
        return self is not LookupKind.NODE


@dataclass(frozen=True, slots=True)
class Rules:
    """What iMule does for one search type."""

    request_type: int
    """The contact count of its KADEMLIA2_REQ (``GetRequestContactCount``)."""
    lifetime: float
    """``GetSearchLifetime``: seconds without activity after which a search with nothing left to ask ends."""
    max_answers: int
    """``GetSearchMaxAnswers``: answers (results, acknowledgements) after which it may end."""
    max_completed: int
    """``GetCompletedListMaxSize``: completed peers it keeps, and after which it may end."""


SEARCH_JUMPSTART = 2.0  # Kademlia.cpp: CSearchManager::JumpStart runs every SEARCH_JUMPSTART seconds
IDLE_BEFORE_STEP = 1.0  # CSearch::JumpStart: no new request within 1 s of the last activity
LOOKUP_SEEDS = 50  # CSearch::Go: the 50 nearest dest-verified contacts of type <= 3, topped up with type 4
SEED_MAX_TYPE = 3
SEED_FALLBACK_TYPE = 4
MAX_KEYWORD_FILES = 150  # CSearch::SendRequestTo (STOREKEYWORD): at most 150 files per keyword publish
SELF_LOOKUP_FIRST = 60.0  # Kademlia.cpp: the first NODECOMPLETE self lookup at start + 1 min ...
SELF_LOOKUP_EVERY = 4 * 3600.0  # ... then every 4 h
LOAD_BACKOFF_ABOVE = 20  # ~CSearch: a keyword store whose average load exceeds 20 ...
LOAD_BACKOFF_WEEK = 7 * 86400.0  # ... is not repeated at that keyword before now + 7 days * load / 100
REPUBLISH = {  # include/protocol/kad/Constants.h: KADEMLIAREPUBLISHTIMEK, ...S, ...N
    LookupKind.STORE_KEYWORD: 24 * 3600.0,
    LookupKind.STORE_SOURCE: 5 * 3600.0,
    LookupKind.STORE_NOTES: 24 * 3600.0,
}

RULES: dict[LookupKind, Rules] = {
    LookupKind.NODE: Rules(RequestType.FIND_NODE, 60.0, 10, 10),
    LookupKind.SOURCES: Rules(RequestType.FIND_VALUE, 120.0, 300, 10),
    LookupKind.KEYWORD: Rules(RequestType.FIND_VALUE, 120.0, 300, 10),
    LookupKind.NOTES: Rules(RequestType.FIND_VALUE, 120.0, 50, 10),
    LookupKind.STORE_SOURCE: Rules(RequestType.STORE, 120.0, 10, 10),
    LookupKind.STORE_KEYWORD: Rules(RequestType.STORE, 120.0, 10, 10),
    LookupKind.STORE_NOTES: Rules(RequestType.STORE, 120.0, 10, 10),
}
