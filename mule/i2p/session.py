"""A live SAM DATAGRAM session and its datagram path.

Two paths exist, both from SAM 3.0:

- ``UDP``: the session is created with ``HOST``/``PORT`` forwarding; the bridge forwards
  inbound datagrams to our UDP socket as ``<destination>\\n<payload>``, and we send
  ``3.0 <id> <destination>\\n<payload>`` to the bridge's UDP port (SAM TCP port - 1 on
  i2pd, which has no setting for it).
- ``TCP``: datagrams travel on the session's own control connection (``DATAGRAM SEND`` /
  ``DATAGRAM RECEIVED``), as iMule does.

The session ends when its control connection closes, whichever path it uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mule.i2p import sam_protocol as sam
from mule.i2p.address import destination_length
from mule.i2p.errors import SamBadDestination, SamConnectionError, SamFailure, SamProtocolError
from mule.i2p.keys import DestinationKeys
from mule.i2p.sam_client import DEFAULT_SIGNATURE_TYPE, SESSION_TIMEOUT_S, ReaderCounters, SamConnection
from mule.kad.destination import from_base64, to_base64

if TYPE_CHECKING:
    from mule._core._release_py import ReleaseQueue

DatagramHandler = Callable[[bytes, bytes], None]
"""``handler(source_destination, payload)`` for each inbound datagram with a well-formed sender."""

_log = logging.getLogger(__name__)


class DatagramPath(enum.StrEnum):
    UDP = "udp"
    TCP = "tcp"


@dataclass(frozen=True, slots=True)
class SessionSpec:
    """Everything needed to (re)create the same session."""

    host: str
    port: int
    session_id: str
    keys: DestinationKeys | None
    """``None`` for a transient destination (self-tests only: a node keeps its keys)."""
    path: DatagramPath = DatagramPath.UDP
    udp_port: int | None = None
    """The bridge's UDP port; ``None`` means SAM TCP port - 1."""
    signature_type: str = DEFAULT_SIGNATURE_TYPE
    options: dict[str, str] = field(default_factory=dict)
    """Session options passed through (``inbound.length=...``, ``i2cp.*``)."""
    session_timeout: float = SESSION_TIMEOUT_S

    @property
    def bridge_udp_port(self) -> int:
        return self.port - 1 if self.udp_port is None else self.udp_port


class _ForwardedDatagrams(asyncio.DatagramProtocol):
    """Our UDP socket: receives what the bridge forwards; only datagrams from the bridge's host count.

    Nothing a datagram holds can stop it: malformed ones are counted and dropped, a sink that raises
    is counted. If the socket itself is lost, ``on_lost`` ends the session so that its owner reconnects.
    """

    def __init__(
        self,
        bridge_host: str,
        deliver: Callable[[str, bytes], None],
        counters: ReaderCounters,
        on_lost: Callable[[Exception | None], None],
    ) -> None:
        self._bridge_host = bridge_host
        self._deliver = deliver
        self._counters = counters
        self._on_lost = on_lost

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if addr[0] != self._bridge_host:
            return  # anyone on the host can write to our port: only the bridge speaks for I2P
        try:
            source, payload = sam.forwarded_datagram(data)
        except SamProtocolError as exc:
            self._counters.dropped_datagrams += 1
            _log.debug("dropping a malformed forwarded datagram: %s", exc)
            return
        try:
            self._deliver(source, payload)
        except Exception:
            self._counters.sink_errors += 1
            _log.debug("the datagram sink raised; receiving on", exc_info=True)

    def error_received(self, exc: Exception) -> None:
        _log.debug("UDP error towards the SAM bridge: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_lost(exc)


class DatagramSession:
    __slots__ = ("_connection", "_handler", "_release", "_spec", "_udp", "_udp_fd", "counters", "destination", "keys")

    def __init__(
        self,
        spec: SessionSpec,
        handler: DatagramHandler,
        counters: ReaderCounters | None = None,
        release: ReleaseQueue | None = None,
    ) -> None:
        self._spec = spec
        self._release = release
        """Where the UDP path's datagrams wait for their instants (``mule.transport.release``); None: sent at once."""
        self._handler = handler
        self.counters = counters if counters is not None else ReaderCounters()
        self._connection: SamConnection | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._udp_fd = -1
        """The UDP socket's descriptor, for the release thread (read once: a closed transport no longer has it)."""
        self.keys: DestinationKeys | None = None
        self.destination = b""

    @classmethod
    async def create(
        cls,
        spec: SessionSpec,
        handler: DatagramHandler,
        counters: ReaderCounters | None = None,
        *,
        release: ReleaseQueue | None = None,
    ) -> DatagramSession:
        """Connect, HELLO, SESSION CREATE (and bind the UDP socket for the UDP path); ``counters`` see what the
        readers drop or skip (pass the same instance again to keep counting across reconnects); ``release`` puts
        the UDP path's datagrams on the wire at the instants ``send`` names."""
        session = cls(spec, handler, counters, release)
        try:
            await session._start()
        except BaseException:
            await session.close()
            raise
        return session

    @classmethod
    async def create_all(cls, requests: Sequence[tuple[SessionSpec, DatagramHandler]]) -> list[DatagramSession]:
        """Create several sessions concurrently (i2pd answers each SESSION CREATE only after ~20 s), all or none:
        if one fails, the others are closed and the first failure (in ``requests`` order) is raised."""
        outcomes = await asyncio.gather(
            *(cls.create(spec, handler) for spec, handler in requests), return_exceptions=True
        )
        sessions = [outcome for outcome in outcomes if isinstance(outcome, DatagramSession)]
        if len(sessions) < len(outcomes):
            await asyncio.gather(*(session.close() for session in sessions))
            raise next(outcome for outcome in outcomes if isinstance(outcome, BaseException))
        return sessions

    async def _start(self) -> None:
        spec = self._spec
        self._connection = connection = await SamConnection.open(spec.host, spec.port, counters=self.counters)
        forward = None
        if spec.path is DatagramPath.UDP:
            try:
                self._udp, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                    lambda: _ForwardedDatagrams(connection.peer_host, self._deliver, self.counters, self._udp_lost),
                    local_addr=(connection.local_host, 0),
                )
            except OSError as exc:
                raise SamConnectionError(f"cannot open a UDP socket for forwarded datagrams: {exc}") from exc
            forward = (connection.local_host, int(self._udp.get_extra_info("sockname")[1]))
            self._udp_fd = self._udp.get_extra_info("socket").fileno()
        self.keys = await connection.create_session(
            spec.session_id,
            spec.keys,
            sink=self._deliver,
            forward=forward,
            signature_type=spec.signature_type,
            options=spec.options,
            timeout=spec.session_timeout,
        )
        self.destination = self.keys.public

    @property
    def is_open(self) -> bool:
        return self._connection is not None and self._connection.is_open

    def send(self, destination: bytes, payload: bytes, at: float | None = None) -> None:
        """Hand one datagram to the bridge on this session's path, at monotonic instant ``at`` if the session has
        a release queue (else at once); never waits. Raises only ``SamFailure``."""
        connection = self._connection
        if connection is None or not connection.is_open:
            raise SamConnectionError("SAM session is closed")
        _check_destination(destination)
        if self._udp is None:
            connection.send_datagram(destination, payload)
            return
        datagram = sam.udp_datagram(self._spec.session_id, to_base64(destination), payload)
        address = (connection.peer_host, self._spec.bridge_udp_port)
        if self._release is not None and at is not None:
            if self._udp.is_closing() or not self._release.release_at(at, self._udp_fd, datagram, address):
                raise SamConnectionError("UDP socket towards the bridge is closed or its release queue full")
            return
        try:
            if self._udp.get_write_buffer_size() > 0:
                raise SamConnectionError("UDP socket towards the bridge is congested")
            self._udp.sendto(datagram, address)
        except (OSError, RuntimeError) as exc:  # uvloop raises RuntimeError on a socket closed under us
            raise SamConnectionError(f"cannot send to the bridge's UDP port: {exc}") from exc

    async def lookup(self, name: str) -> bytes:
        """NAMING LOOKUP on the session's connection (``ME`` is this session's destination)."""
        if self._connection is None:
            raise SamConnectionError("SAM session was never opened")
        return await self._connection.naming_lookup(name)

    async def wait_closed(self) -> SamFailure | None:
        """Wait until the control connection ends (router gone, socket dropped, or ``close()``)."""
        if self._connection is None:
            return SamConnectionError("SAM session was never opened")
        return await self._connection.wait_closed()

    async def close(self) -> None:
        """End the session: close its control connection (the SAM way), then the UDP socket."""
        if self._connection is not None:
            with contextlib.suppress(SamFailure):
                await self._connection.close()
        if self._udp is not None:
            if self._release is not None:  # the socket's number may be reused at once: nothing queued may reach it
                self._release.discard(self._udp_fd)
            self._udp.close()

    def _udp_lost(self, exc: Exception | None) -> None:
        # Without its UDP socket the session can neither send nor receive: end it, so that its owner reconnects.
        if self._release is not None:  # called before the socket closes: nothing queued may reach a reused number
            self._release.discard(self._udp_fd)
        if self._connection is not None:
            self._connection.abort(SamConnectionError(f"UDP socket for forwarded datagrams lost ({exc or 'closed'})"))

    def _deliver(self, source_b64: str, payload: bytes) -> None:
        try:
            source = from_base64(source_b64)
        except ValueError:
            self.counters.dropped_datagrams += 1
            _log.debug("dropping a datagram whose sender is not I2P base64")
            return
        self._handler(source, payload)


def _check_destination(destination: bytes) -> None:
    """Refuse anything but one whole I2P destination (its length must match its certificate)."""
    try:
        whole = destination_length(destination) == len(destination)
    except ValueError:
        whole = False
    if not whole:
        raise SamBadDestination(f"not an I2P destination ({len(destination)} bytes)")
