"""Live events for Server-Sent Events clients: a status tick, newly verified contacts, search results.

The hub never blocks the node: each subscriber has a bounded queue, and a subscriber that falls behind
loses its oldest events (a gap in the event ids tells it so), so a slow client costs fixed memory.
Status ticks come from the shared snapshot on a fixed period, whether or not anybody listens.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import asdict, dataclass

from mule.api.adapters import Searches, SearchResult
from mule.api.snapshot import ContactView, Snapshot, Snapshots

TICK_EVERY = 1.0
"""Seconds between status ticks (event-loop time)."""
QUEUE_EVENTS = 256


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    name: str
    data: dict[str, object]

    def encode(self) -> bytes:
        return f"id: {self.id}\nevent: {self.name}\ndata: {json.dumps(self.data)}\n\n".encode()


class EventHub:
    __slots__ = ("_ids", "_known_verified", "_snapshots", "_subscribers", "_ticker", "_unsubscribe")

    def __init__(self, snapshots: Snapshots, searches: Searches | None) -> None:
        self._snapshots = snapshots
        self._ids = itertools.count(1)
        self._subscribers: set[asyncio.Queue[Event]] = set()
        self._known_verified = self._verified(snapshots.current())
        """Contacts already verified when the API started are not announced; every one after that is."""
        self._ticker: asyncio.Task[None] | None = None
        self._unsubscribe = searches.subscribe(self._on_result) if searches is not None else None

    def start(self) -> None:
        self._ticker = asyncio.create_task(self._tick_forever(), name="mule-api-events")

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, name: str, data: dict[str, object]) -> None:
        event = Event(next(self._ids), name, data)
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()  # the oldest goes: the client sees a gap in the ids
            queue.put_nowait(event)

    def subscribe(self) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_EVENTS)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self._subscribers.discard(queue)

    def opening(self) -> Event:
        """The first event of every stream: the current status, so a new client need not wait for a tick."""
        return Event(0, "status", self._snapshots.current().status_json())

    def tick(self) -> None:
        """One status tick: the status, and a ``contact-verified`` event for each contact verified since the last."""
        snapshot = self._snapshots.current()
        self._announce_verified(snapshot)
        self.publish("status", snapshot.status_json())

    def _announce_verified(self, snapshot: Snapshot) -> None:
        verified = self._verified(snapshot)
        for kad_id in sorted(verified.keys() - self._known_verified):
            self.publish("contact-verified", {"kad_id": kad_id, "destination": verified[kad_id].destination})
        self._known_verified = set(verified)

    @staticmethod
    def _verified(snapshot: Snapshot) -> dict[str, ContactView]:
        return {contact.kad_id: contact for contact in snapshot.contacts if contact.verified}

    def _on_result(self, result: SearchResult) -> None:
        self.publish("search-result", asdict(result))

    async def _tick_forever(self) -> None:
        while True:
            self.tick()
            await asyncio.sleep(TICK_EVERY)
