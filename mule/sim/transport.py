"""The simulation transport: a real ``Transport`` whose sender hands each datagram to the simulated network.

The node's shaper claims its sender exactly as in production, so every datagram a simulated
node sends has passed the real delay queue and caps. Delivery is the network's business (a
latency draw on the shared virtual clock); nothing here waits, so ``open``/``receive``/``close``
exist only to satisfy the interface: the simulator calls the node core directly on delivery.
"""

from __future__ import annotations

from typing import Protocol

from mule.transport.interface import Datagram, Transport, TransportError


class Carrier(Protocol):
    def carry(self, source: bytes, destination: bytes, payload: bytes) -> None:
        """Take one datagram from ``source`` for ``destination`` (best effort, like I2P datagrams)."""


class SimTransport(Transport):
    __slots__ = ("_carrier", "_destination", "_open", "_stream_destination")

    def __init__(self, carrier: Carrier, destination: bytes, stream_destination: bytes) -> None:
        self._carrier = carrier
        self._destination = destination
        self._stream_destination = stream_destination
        self._open = True

    @property
    def local_destination(self) -> bytes:
        return self._destination

    @property
    def stream_destination(self) -> bytes:
        return self._stream_destination

    async def open(self) -> None:
        self._open = True

    async def receive(self) -> Datagram:
        raise TransportError("the simulator delivers datagrams by calling the node core, never through receive()")

    async def close(self) -> None:
        self._open = False

    def shut(self) -> None:
        """Close without an event loop (a simulated node leaving the network)."""
        self._open = False

    def _send_datagram(self, destination: bytes, payload: bytes) -> None:
        if not self._open:
            raise TransportError("endpoint is closed")
        self._carrier.carry(self._destination, destination, payload)
