"""The one interface every datagram transport implements.

Receiving is open to the node; sending is not. The send function is handed out
exactly once, by ``claim_sender``, and the shaper claims it when it is built, so
nothing else can put bytes on the wire (tests/shaper proves nobody else calls it).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mule.transport.release import ReleaseStatus


class SendDatagram(Protocol):
    """``send(destination, payload, at)``: hand one datagram to the network for monotonic instant ``at`` (None:
    now), never blocking. A transport whose ``release_lead`` is 0 sends at once: the shaper's ``at`` is then now."""

    def __call__(self, destination: bytes, payload: bytes, at: float | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class Datagram:
    source: bytes
    """The sender's raw I2P destination."""
    payload: bytes


class TransportError(Exception):
    """The transport could not take a datagram (down, reconnecting, refused). The shaper treats it as congestion."""


class SenderAlreadyClaimed(RuntimeError):
    """``claim_sender`` was called twice: only one owner (the shaper) may send."""


class Transport(abc.ABC):
    """A datagram endpoint with one local I2P destination."""

    _sender_claimed = False
    release_lead = 0.0
    """Seconds before its instant the shaper hands this transport a datagram: a transport with a release thread
    (``mule.transport.release``) puts it on the wire at the instant itself; 0: it sends when handed."""

    def release_status(self) -> ReleaseStatus | None:
        """How this transport's release thread fares; None: it has none (it sends when handed)."""
        return None

    def claim_sender(self) -> SendDatagram:
        if self._sender_claimed:
            raise SenderAlreadyClaimed("this transport's sender is already owned by a shaper")
        self._sender_claimed = True
        return self._send_datagram

    @property
    @abc.abstractmethod
    def local_destination(self) -> bytes:
        """Our own raw destination (available once open)."""

    @property
    @abc.abstractmethod
    def stream_destination(self) -> bytes:
        """The destination peers are told to open streams to: iMule's separate, persistent TCP destination.

        mule opens no streams, but iMule writes this destination into BOOTSTRAP_RES and Kad1 contacts, so a
        node that wrote its datagram destination there instead would stand out (available once open).
        """

    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def receive(self) -> Datagram:
        """The next inbound datagram; waits until one arrives."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    def _send_datagram(self, destination: bytes, payload: bytes, at: float | None = None) -> None:
        """Send one datagram at instant ``at`` (None: now); raise ``TransportError`` when it cannot go out. Only the
        shaper reaches this."""
