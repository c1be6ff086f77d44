"""Fake search, publish and index parts for the API tests: the same protocols the node's real ones implement."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace

from mule.api.adapters import IndexFigures, PublishInfo, PublishRequest, Refused, SearchInfo, SearchResult


class FakeSearches:
    def __init__(self) -> None:
        self._searches: dict[str, SearchInfo] = {}
        self._results: dict[str, list[SearchResult]] = {}
        self._listeners: list[Callable[[SearchResult], None]] = []
        self._ids = itertools.count(1)
        self.refuse = False

    def start(self, kind: str, query: str) -> SearchInfo:
        if self.refuse:
            raise Refused("the search queue is full")
        info = SearchInfo(f"s{next(self._ids)}", kind, query, "queued", 0)
        self._searches[info.id] = info
        self._results[info.id] = []
        return info

    def list(self) -> list[SearchInfo]:
        return list(self._searches.values())

    def get(self, search_id: str) -> SearchInfo | None:
        return self._searches.get(search_id)

    def results(self, search_id: str, after: int = -1) -> list[SearchResult]:
        return [result for result in self._results.get(search_id, []) if result.seq > after]

    def cancel(self, search_id: str) -> bool:
        info = self._searches.get(search_id)
        if info is None:
            return False
        if info.state in ("queued", "running"):
            self._searches[search_id] = replace(info, state="cancelled")
        return True

    def subscribe(self, listener: Callable[[SearchResult], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def deliver(self, search_id: str, **fields: object) -> SearchResult:
        """A result arrives (as the node's lookup would report it)."""
        info = self._searches[search_id]
        result = SearchResult(search_id, info.results, fields)
        self._searches[search_id] = replace(info, state="running", results=info.results + 1, started=0.0)
        self._results[search_id].append(result)
        for listener in list(self._listeners):
            listener(result)
        return result


class FakePublishing:
    def __init__(self) -> None:
        self.requests: list[PublishRequest] = []

    def publish(self, request: PublishRequest) -> PublishInfo:
        self.requests.append(request)
        return PublishInfo(f"p{len(self.requests)}", request.kind, request.file_hash, "queued")

    def list(self) -> list[PublishInfo]:
        return [PublishInfo(f"p{n + 1}", r.kind, r.file_hash, "queued") for n, r in enumerate(self.requests)]


class FakeIndex:
    def figures(self) -> IndexFigures:
        return IndexFigures(
            keywords=3, keyword_entries=7, sources=2, source_entries=4, notes=1, note_entries=1, bytes=2048
        )
