"""An in-memory datagram network for tests and the simulator: a hub joins endpoints by destination.

Like I2P datagrams, delivery is best-effort: a datagram to an unknown or closed
destination, or to a full inbox, is lost without a word. Sending from a closed
endpoint raises ``TransportError`` (the shaper treats that as congestion).
Delivery is synchronous, so the hub runs as well under the virtual clock as on a loop;
an optional ``tap`` sees every datagram put on the "wire". A ``deliver`` hook takes delivery
over instead (the simulator's network, which delivers after a latency, straight to the node).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from mule.transport.interface import Datagram, Transport, TransportError

WireTap = Callable[[bytes, bytes, bytes], None]
"""``tap(source, destination, payload)`` for every datagram sent through the hub."""

DESTINATION_BYTES = 387  # the size of a raw I2P DSA-SHA1 destination, so sizes look like the real thing
INBOX_DATAGRAMS = 1024


def random_destination() -> bytes:
    """A random destination shaped like a DSA-SHA1 one with a null certificate, the only form iMule accepts."""
    return os.urandom(DESTINATION_BYTES - 3) + bytes(3)


class MemoryHub:
    __slots__ = ("_deliver", "_endpoints", "_tap")

    def __init__(self, tap: WireTap | None = None, *, deliver: WireTap | None = None) -> None:
        self._endpoints: dict[bytes, MemoryTransport] = {}
        self._tap = tap
        self._deliver = deliver

    def endpoint(self, destination: bytes | None = None, *, stream_destination: bytes | None = None) -> MemoryTransport:
        """A new endpoint (not yet open) with ``destination`` (and ``stream_destination``) or random ones of the form
        iMule accepts."""
        return MemoryTransport(
            self,
            destination if destination is not None else random_destination(),
            stream_destination if stream_destination is not None else random_destination(),
        )

    def _attach(self, transport: MemoryTransport) -> None:
        if transport.local_destination in self._endpoints:
            raise TransportError("destination already open on this hub")
        self._endpoints[transport.local_destination] = transport

    def _detach(self, transport: MemoryTransport) -> None:
        self._endpoints.pop(transport.local_destination, None)

    def _carry(self, source: bytes, destination: bytes, payload: bytes) -> None:
        if self._tap is not None:
            self._tap(source, destination, payload)
        if self._deliver is not None:
            self._deliver(source, destination, payload)
            return
        receiver = self._endpoints.get(destination)
        if receiver is not None:
            receiver._deliver(Datagram(source, payload))


class MemoryTransport(Transport):
    __slots__ = ("_destination", "_hub", "_inbox", "_open", "_stream_destination")

    def __init__(self, hub: MemoryHub, destination: bytes, stream_destination: bytes) -> None:
        self._hub = hub
        self._destination = destination
        self._stream_destination = stream_destination
        self._inbox: asyncio.Queue[Datagram] = asyncio.Queue(INBOX_DATAGRAMS)
        self._open = False

    @property
    def local_destination(self) -> bytes:
        return self._destination

    @property
    def stream_destination(self) -> bytes:
        return self._stream_destination

    async def open(self) -> None:
        self.attach()

    async def close(self) -> None:
        self.detach()

    def attach(self) -> None:
        """Open without an event loop (the simulator's nodes)."""
        self._hub._attach(self)
        self._open = True

    def detach(self) -> None:
        """Close without an event loop."""
        self._hub._detach(self)
        self._open = False

    async def receive(self) -> Datagram:
        return await self._inbox.get()

    def pending(self) -> int:
        """Datagrams waiting in the inbox."""
        return self._inbox.qsize()

    def _deliver(self, datagram: Datagram) -> None:
        if not self._inbox.full():
            self._inbox.put_nowait(datagram)

    def _send_datagram(self, destination: bytes, payload: bytes, at: float | None = None) -> None:
        if not self._open:
            raise TransportError("endpoint is closed")
        self._hub._carry(self._destination, destination, payload)
