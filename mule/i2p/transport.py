"""The SAM datagram transport: one long-lived I2P destination behind a router's SAM bridge.

``open()`` loads (or has the router generate, once) the node's keys and creates the
session; it also loads (or generates, once) the separate stream (TCP) destination that
iMule keeps and names in Kad, on which no session is ever opened. When the control
connection drops, its reader stops for any reason, or the router restarts, a supervisor
task recreates the session with the *same* keys: the first attempt after the profile's
retry law, later ones after a bounded, jittered exponential backoff. While the session
is down, sends raise ``TransportError``: the shaper counts that as congestion, and
nothing is resent. Every send failure is a ``TransportError``. ``close()`` ends the
session explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from mule._core import JitterSampler
from mule.contract import PROFILE_V2, DelayLaw
from mule.i2p.errors import SamFailure
from mule.i2p.keys import STREAM_KEY_FILE_NAME, DestinationKeys, load_or_generate_keys, session_name
from mule.i2p.sam_client import DEFAULT_SIGNATURE_TYPE, ReaderCounters, SamConnection
from mule.i2p.session import DatagramPath, DatagramSession, SessionSpec
from mule.node.config import SamAddress
from mule.transport.interface import Datagram, Transport, TransportError
from mule.transport.release import LEAD, ReleaseStatus, ReleaseThread

MAX_DATAGRAM_BYTES = 10240
"""iMule's SAM_DGRAM_PAYLOAD_MAX (kad-wire.md §1.4): a peer's receive buffer holds no more."""
INBOX_DATAGRAMS = 1024
MAX_RECONNECT_DELAY_S = 60.0
STREAM_SIGNATURE_TYPE = DEFAULT_SIGNATURE_TYPE
"""The stream destination is the 387-byte DSA-SHA1 kind too: iMule accepts no other in a Kad contact."""

Sleep = Callable[[float], Awaitable[None]]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """Delay before reconnect attempt ``n`` (from 0).

    Attempt 0 waits a draw from ``first`` (the profile's retry law, V1: 2 s + up to 1 s), like every other retry
    the node makes: a faster path of its own would show how soon mule's destination comes back. Attempt n >= 1
    waits uniform on [step/2, step], step = min(max_delay, first.high * 2**n).
    """

    first: DelayLaw = PROFILE_V2.retry
    max_delay: float = MAX_RECONNECT_DELAY_S

    def delay(self, attempt: int, unit: float) -> float:
        """``unit`` is a uniform draw on [0, 1]; bounded jitter keeps many nodes from reconnecting in step."""
        if attempt == 0:
            return self.first.base + self.first.jitter * unit
        step = min(self.max_delay, self.first.high * 2.0 ** min(attempt, 30))
        return step * (0.5 + 0.5 * unit)


@dataclass(frozen=True, slots=True)
class SamTransportSettings:
    path: DatagramPath = DatagramPath.UDP
    udp_port: int | None = None
    signature_type: str = DEFAULT_SIGNATURE_TYPE
    options: dict[str, str] = field(default_factory=dict)
    reconnect: ReconnectPolicy = ReconnectPolicy()


class SamTransport(Transport):
    def __init__(
        self,
        sam: SamAddress,
        data_dir: Path,
        settings: SamTransportSettings | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        jitter_seed: bytes | None = None,
    ) -> None:
        self._sam = sam
        self._data_dir = data_dir
        self._settings = settings or SamTransportSettings()
        self._sleep = sleep
        self._unit = JitterSampler(0.0, 1.0, jitter_seed)  # ChaCha20-driven, like every other jitter in mule
        self._inbox: asyncio.Queue[Datagram] = asyncio.Queue(INBOX_DATAGRAMS)
        self._spec: SessionSpec | None = None
        self._stream_keys: DestinationKeys | None = None
        self._session: DatagramSession | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self.reconnects = 0
        """Sessions recreated after a drop (for logs and tests)."""
        self.counters = ReaderCounters()
        """Lines skipped and datagrams dropped by the session readers, across reconnects."""
        self._release: ReleaseThread | None = None
        """On the UDP path, the thread that puts each datagram on the bridge's UDP port at the shaper's instant."""

    @property
    def local_destination(self) -> bytes:
        if self._spec is None or self._spec.keys is None:
            raise RuntimeError("SamTransport is not open")
        return self._spec.keys.public

    @property
    def stream_destination(self) -> bytes:
        if self._stream_keys is None:
            raise RuntimeError("SamTransport is not open")
        return self._stream_keys.public

    @property
    def release_lead(self) -> float:  # type: ignore[override]
        return LEAD if self._settings.path is DatagramPath.UDP else 0.0

    def release_status(self) -> ReleaseStatus | None:
        return self._release.status() if self._release is not None else None

    async def _create(self, spec: SessionSpec) -> DatagramSession:
        release = self._release.queue if self._release is not None else None
        return await DatagramSession.create(spec, self._deliver, self.counters, release=release)

    @property
    def is_up(self) -> bool:
        return self._session is not None and self._session.is_open

    async def open(self) -> None:
        """Load or generate the keys and create the session; raises ``SamFailure`` if the router says no."""
        settings = self._settings
        keys = await load_or_generate_keys(self._data_dir, lambda: self._generate_keys(settings.signature_type))
        self._stream_keys = await load_or_generate_keys(
            self._data_dir, lambda: self._generate_keys(STREAM_SIGNATURE_TYPE), STREAM_KEY_FILE_NAME
        )
        self._spec = SessionSpec(
            host=self._sam.host,
            port=self._sam.port,
            session_id=session_name(keys),
            keys=keys,
            path=settings.path,
            udp_port=settings.udp_port,
            signature_type=settings.signature_type,
            options=dict(settings.options),
        )
        if settings.path is DatagramPath.UDP:
            self._release = await asyncio.to_thread(ReleaseThread.started)
        try:
            self._session = await self._create(self._spec)
        except BaseException:
            self._close_release()
            raise
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())

    async def receive(self) -> Datagram:
        return await self._inbox.get()

    async def close(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        self._close_release()  # first: what it holds leaves at its instant (at most LEAD away) on a live session
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _close_release(self) -> None:
        if self._release is not None:
            self._release.close()
            self._release = None

    def _send_datagram(self, destination: bytes, payload: bytes, at: float | None = None) -> None:
        """Raises only ``TransportError``: the shaper's hand-off catches nothing else."""
        if len(payload) > MAX_DATAGRAM_BYTES:
            raise TransportError(f"datagram of {len(payload)} bytes exceeds {MAX_DATAGRAM_BYTES}")
        session = self._session
        if session is None:
            raise TransportError("SAM session is down")
        try:
            session.send(destination, payload, at)
        except SamFailure as exc:
            raise TransportError(str(exc)) from exc

    async def _generate_keys(self, signature_type: str) -> DestinationKeys:
        connection = await SamConnection.open(self._sam.host, self._sam.port)
        try:
            return await connection.dest_generate(signature_type)
        finally:
            await connection.close()

    def _deliver(self, source: bytes, payload: bytes) -> None:
        if not self._inbox.full():  # best effort, like I2P itself: a full inbox loses the datagram
            self._inbox.put_nowait(Datagram(source, payload))

    async def _supervise(self) -> None:
        assert self._spec is not None
        while True:
            lost = self._session
            assert lost is not None
            reason = await lost.wait_closed()
            self._session = None  # sends fail fast from here on, until the session is back
            _log.warning("SAM session %s lost (%s); reconnecting", self._spec.session_id, reason)
            await lost.close()
            self._session = await self._recreate(self._spec)
            self.reconnects += 1

    async def _recreate(self, spec: SessionSpec) -> DatagramSession:
        attempt = 0
        while True:
            await self._sleep(self._settings.reconnect.delay(attempt, self._unit.draw()))
            try:
                session = await self._create(spec)
            except SamFailure as exc:
                _log.info("SAM reconnect attempt %d failed: %s", attempt + 1, exc)
                attempt += 1
                continue
            except Exception:  # not SAM's fault, but the supervisor must outlive it: keep trying
                _log.exception("SAM reconnect attempt %d failed", attempt + 1)
                attempt += 1
                continue
            _log.warning("SAM session %s is back with the same destination", spec.session_id)
            return session
