"""What the API needs from the node's search, publish and index machinery, as small protocols.

The API never drives the Kad core itself: ``Searches.start`` and ``Publishing.publish`` hand a request to
the node's own queues (which start lookups only in the profile's slots), and return at once. A node
without one of these parts serves the matching endpoints as ``503 unavailable``. docs/api.md shows how
the node's real objects are connected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

SEARCH_KINDS = ("keyword", "source", "notes")
PUBLISH_KINDS = ("keyword", "source", "notes")
SEARCH_STATES = ("queued", "running", "done", "cancelled")


class Refused(Exception):
    """The node will not take this request (a bad query, a full queue); the message is for the operator."""


@dataclass(frozen=True, slots=True)
class SearchInfo:
    id: str
    kind: str
    """One of ``SEARCH_KINDS``."""
    query: str
    state: str
    """One of ``SEARCH_STATES``: queued until a lookup slot takes it."""
    results: int
    started: float | None = None
    """The node's clock when a lookup slot took it (``None`` while queued)."""


@dataclass(frozen=True, slots=True)
class SearchResult:
    search_id: str
    seq: int
    """0, 1, 2 ... per search, in arrival order: ``results(after=seq)`` continues from here."""
    fields: Mapping[str, object] = field(default_factory=dict)
    """JSON-ready: for a keyword hit e.g. ``file_hash`` (hex), ``name``, ``size``, ``sources``."""


class Searches(Protocol):
    def start(self, kind: str, query: str) -> SearchInfo:
        """Queue a search (raises ``Refused``); it starts when a lookup slot takes it."""
        ...

    def list(self) -> list[SearchInfo]: ...

    def get(self, search_id: str) -> SearchInfo | None: ...

    def results(self, search_id: str, after: int = -1) -> list[SearchResult]:
        """Results with ``seq > after``, in order."""
        ...

    def cancel(self, search_id: str) -> bool:
        """``False`` if there is no such search; cancelling a finished one is a no-op that returns ``True``."""
        ...

    def subscribe(self, listener: Callable[[SearchResult], None]) -> Callable[[], None]:
        """Call ``listener`` for every new result of any search; returns the unsubscribe function."""
        ...


@dataclass(frozen=True, slots=True)
class PublishRequest:
    kind: str
    """One of ``PUBLISH_KINDS``."""
    file_hash: bytes
    """16 bytes (MD4, an ed2k file hash)."""
    name: str = ""
    size: int = 0
    note: str = ""
    """For notes: the comment text (iMule's rating is not published by mule)."""


@dataclass(frozen=True, slots=True)
class PublishInfo:
    id: str
    kind: str
    file_hash: bytes
    state: str
    """``queued`` until a publish slot takes it, then ``running``, then ``done``."""


class Publishing(Protocol):
    def publish(self, request: PublishRequest) -> PublishInfo:
        """Queue a publish (raises ``Refused``)."""
        ...

    def list(self) -> list[PublishInfo]: ...


@dataclass(frozen=True, slots=True)
class IndexFigures:
    keywords: int
    keyword_entries: int
    sources: int
    source_entries: int
    notes: int
    note_entries: int
    bytes: int
    """Memory held by the index, as it counts it against its bound."""


class IndexStats(Protocol):
    def figures(self) -> IndexFigures: ...


@dataclass(frozen=True, slots=True)
class Parts:
    """The optional parts a server serves; ``None`` means that node does not have it yet."""

    searches: Searches | None = None
    publishing: Publishing | None = None
    index: IndexStats | None = None
