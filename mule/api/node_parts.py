"""The API's search, publish and index parts on a real node: thin adapters over ``NodeService``'s lookup API.

Nothing here sends: every search or publish goes into the node's lookup queues, which start them only in the
profile's slots (docs/lookups.md), exactly as a search started any other way.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from mule._core import id_from_md4
from mule.api.adapters import (
    IndexFigures,
    Parts,
    PublishInfo,
    PublishRequest,
    Refused,
    SearchInfo,
    SearchResult,
)
from mule.kad.opcodes import TagName
from mule.kad.tags import IntTag
from mule.lookup.handle import LookupHandle, State
from mule.lookup.requests import SharedFile
from mule.lookup.results import KeywordResult, NoteResult, SourceResult
from mule.node.service import NodeService

_MD4_BYTES = 16


def _file_query(query: str) -> tuple[int, int]:
    """``HASH[:SIZE]``: a file's MD4 in hex (an ed2k hash) and optionally its size in bytes (0: any size)."""
    digest_text, _, size_text = query.strip().partition(":")
    try:
        digest = bytes.fromhex(digest_text)
        size = int(size_text) if size_text else 0
    except ValueError:
        raise Refused("a source or notes search takes HASH[:SIZE] (32 hex digits, then a size in bytes)") from None
    if len(digest) != _MD4_BYTES or size < 0:
        raise Refused("a source or notes search takes HASH[:SIZE] (32 hex digits, then a size in bytes)")
    return id_from_md4(digest), size


def _fields(result: object) -> dict[str, object]:
    if isinstance(result, KeywordResult):
        # A file's Kad ID is its MD4 read big-endian: in hex, the ed2k hash a publish takes (docs/api.md).
        sources = next((t.value for t in result.tags if isinstance(t, IntTag) and t.name == TagName.SOURCES), None)
        return {
            "file_hash": f"{result.file_id:032x}",
            "name": result.name,
            "size": result.size,
            "type": result.file_type,
            "sources": sources,
        }
    if isinstance(result, SourceResult):
        return {"source_id": f"{result.source_id:032x}", "source_type": result.source_type}
    if isinstance(result, NoteResult):
        return {"source_id": f"{result.source_id:032x}", "name": result.name, "rating": result.rating}
    return {"result": repr(result)}


@dataclass(slots=True)
class _Search:
    info: SearchInfo
    handle: LookupHandle
    results: list[SearchResult]


class NodeSearches:
    def __init__(self, node: NodeService) -> None:
        self._node = node
        self._searches: dict[str, _Search] = {}
        self._listeners: list[Callable[[SearchResult], None]] = []
        self._ids = itertools.count(1)

    def start(self, kind: str, query: str) -> SearchInfo:
        if kind == "keyword":
            handle = self._node.search_keywords(query)
        else:
            file_id, size = _file_query(query)
            handle = (self._node.search_sources if kind == "source" else self._node.search_notes)(file_id, size)
        search = _Search(SearchInfo(f"s{next(self._ids)}", kind, query, "queued", 0), handle, [])
        self._searches[search.info.id] = search
        handle.subscribe(lambda _handle, result: self._arrived(search, result))
        return self._info(search)

    def _arrived(self, search: _Search, result: object) -> None:
        found = SearchResult(search.info.id, len(search.results), _fields(result))
        search.results.append(found)
        for listener in list(self._listeners):
            listener(found)

    def _info(self, search: _Search) -> SearchInfo:
        handle = search.handle
        return SearchInfo(search.info.id, search.info.kind, search.info.query, handle.state.value, len(search.results))

    def list(self) -> list[SearchInfo]:
        return [self._info(search) for search in self._searches.values()]

    def get(self, search_id: str) -> SearchInfo | None:
        search = self._searches.get(search_id)
        return None if search is None else self._info(search)

    def results(self, search_id: str, after: int = -1) -> list[SearchResult]:
        search = self._searches.get(search_id)
        return [] if search is None else [r for r in search.results if r.seq > after]

    def cancel(self, search_id: str) -> bool:
        search = self._searches.get(search_id)
        if search is None:
            return False
        search.handle.cancel()
        return True

    def subscribe(self, listener: Callable[[SearchResult], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)


class NodePublishing:
    def __init__(self, node: NodeService) -> None:
        self._node = node
        self._published: list[tuple[PublishInfo, list[LookupHandle]]] = []

    def publish(self, request: PublishRequest) -> PublishInfo:
        file = SharedFile(id_from_md4(request.file_hash), request.name, request.size)
        if request.kind == "keyword":
            handles = self._node.publish_file_keywords(file)
        elif request.kind == "source":
            # mule has no eD2K user hash: its Kad ID stands for it as the source ID it publishes.
            handles = [self._node.publish_source(file, user_hash=self._node.kad_id)]
        else:
            handles = [self._node.publish_notes(file, comment=request.note)]
        info = PublishInfo(f"p{len(self._published) + 1}", request.kind, request.file_hash, "queued")
        self._published.append((info, handles))
        return info

    def list(self) -> list[PublishInfo]:
        return [
            PublishInfo(info.id, info.kind, info.file_hash, _publish_state(handles))
            for info, handles in self._published
        ]


def _publish_state(handles: list[LookupHandle]) -> str:
    """One state for a publish's handles (one per keyword). A publish that stored its entries waits, queued, for its
    republish (docs/lookups.md): that reads as ``done`` until a republish runs."""
    states = {handle.state for handle in handles}
    if states <= {State.CANCELLED}:
        return State.CANCELLED.value
    if State.RUNNING in states:
        return State.RUNNING.value
    if all(handle.results for handle in handles if handle.state is not State.CANCELLED):
        return State.DONE.value
    return State.QUEUED.value


class NodeIndexStats:
    def __init__(self, node: NodeService) -> None:
        self._node = node

    def figures(self) -> IndexFigures:
        index = self._node.core.index if self._node.core is not None else None
        if index is None:
            return IndexFigures(0, 0, 0, 0, 0, 0, 0)
        keywords, sources = index.keywords, index.sources
        return IndexFigures(
            keywords=keywords.keyword_count,
            keyword_entries=len(keywords),
            sources=sources.file_count,
            source_entries=len(sources),
            notes=0,  # iMule never stores a note, nor does mule (docs/index.md)
            note_entries=0,
            bytes=keywords.bytes + sources.bytes,
        )


def node_parts(node: NodeService) -> Parts:
    return Parts(searches=NodeSearches(node), publishing=NodePublishing(node), index=NodeIndexStats(node))
