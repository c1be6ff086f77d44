"""The bench's wire: the node's datagrams on a loopback UDP socket, as production's arrive from i2pd's forwarding.

Each datagram is the other side's raw destination (self-delimiting: 387 bytes plus its certificate's payload) then
the payload: the source on the way in, the destination on the way out. The node's socket is connected to the
probe's, so both ends are known and nothing else on the host can write to the node (``connect`` filters senders).
Like I2P, delivery is best effort: a full inbox, or a datagram with no whole destination in front, is lost.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from mule.i2p.address import destination_length
from mule.transport.interface import Datagram, Transport, TransportError
from mule.transport.memory import INBOX_DATAGRAMS, random_destination
from mule.transport.release import LEAD, ReleaseStatus, ReleaseThread

SOCKET_BUFFER = 1 << 20
"""Bytes asked of the kernel for each socket's buffers (it caps them at ``net.core.[rw]mem_max``): room for the
probe's opening burst while the node's loop is busy."""


def socket_pair() -> tuple[socket.socket, socket.socket]:
    """Two UDP sockets on 127.0.0.1, each connected to the other: the node's end and the probe's end."""
    ends = []
    for _ in range(2):
        end = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
        end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
        end.bind(("127.0.0.1", 0))
        ends.append(end)
    ends[0].connect(ends[1].getsockname())
    ends[1].connect(ends[0].getsockname())
    return ends[0], ends[1]


def frame(destination: bytes, payload: bytes) -> bytes:
    """One datagram on the bench's wire: the other side's destination, then the payload."""
    return destination + payload


def unframe(data: bytes) -> Datagram:
    """The destination and the payload of a datagram on the bench's wire; ``ValueError`` if no whole destination."""
    length = destination_length(data)
    return Datagram(data[:length], data[length:])


class _Inbound(asyncio.DatagramProtocol):
    def __init__(self, deliver: Callable[[bytes], None]) -> None:
        self._deliver = deliver

    def datagram_received(self, data: bytes, addr: object) -> None:
        self._deliver(data)


class SocketTransport(Transport):
    """The node's end of a ``socket_pair``, on the running event loop; with ``release``, its datagrams leave from
    that release thread at the shaper's instants, as production's UDP path does (``mule.transport.release``)."""

    __slots__ = ("_destination", "_endpoint", "_inbox", "_release", "_socket", "_stream_destination")

    def __init__(self, sock: socket.socket, release: ReleaseThread | None = None) -> None:
        self._socket = sock
        self._release = release
        self._destination = random_destination()
        self._stream_destination = random_destination()
        self._inbox: asyncio.Queue[Datagram] = asyncio.Queue(INBOX_DATAGRAMS)
        self._endpoint: asyncio.DatagramTransport | None = None

    @property
    def local_destination(self) -> bytes:
        return self._destination

    @property
    def stream_destination(self) -> bytes:
        return self._stream_destination

    @property
    def release_lead(self) -> float:  # type: ignore[override]
        return LEAD if self._release is not None else 0.0

    def release_status(self) -> ReleaseStatus | None:
        return self._release.status() if self._release is not None else None

    def handed_off(self) -> list[tuple[int, float]]:
        """Each datagram the release thread was given (in order) and the instant its send began (-1: refused)."""
        return self._release.queue.sent_instants() if self._release is not None else []

    async def open(self) -> None:
        if self._release is not None:
            self._release.start()
        self._endpoint, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _Inbound(self._deliver), sock=self._socket
        )

    async def close(self) -> None:
        if self._release is not None:
            self._release.close()  # what is queued leaves at its instant (at most LEAD away) before the socket shuts
        if self._endpoint is not None:
            self._endpoint.close()
            self._endpoint = None

    async def receive(self) -> Datagram:
        return await self._inbox.get()

    def _deliver(self, data: bytes) -> None:
        try:
            datagram = unframe(data)
        except ValueError:
            return
        if not self._inbox.full():
            self._inbox.put_nowait(datagram)

    def _send_datagram(self, destination: bytes, payload: bytes, at: float | None = None) -> None:
        endpoint = self._endpoint
        if endpoint is None or endpoint.is_closing():
            raise TransportError("the bench socket is closed")
        if self._release is not None and at is not None:
            if not self._release.queue.release_at(at, self._socket.fileno(), frame(destination, payload)):
                raise TransportError("the release queue is full")
            return
        if endpoint.get_write_buffer_size() > 0:
            raise TransportError("the bench socket is congested")
        try:
            endpoint.sendto(frame(destination, payload))
        except (OSError, RuntimeError) as exc:  # uvloop raises RuntimeError on a socket closed under us
            raise TransportError(f"cannot send on the bench socket: {exc}") from exc
