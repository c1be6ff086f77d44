"""One asyncio connection to a SAM bridge: HELLO, then strictly ordered request/reply.

A reader task owns the socket's input. Replies go to the oldest waiting request, in
order; once a session exists on the connection, ``DATAGRAM RECEIVED`` frames may
arrive between replies and go to the datagram sink instead. Anything the reader does
not accept ends the connection: after a protocol error, the reply order is lost.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable

from mule.i2p import sam_protocol as sam
from mule.i2p.errors import SamConnectionError, SamDatagramTooLarge, SamFailure, SamProtocolError
from mule.i2p.keys import DestinationKeys
from mule.kad.destination import from_base64, to_base64

DatagramSink = Callable[[str, bytes], None]
"""``sink(source_b64, payload)`` for each datagram the bridge delivers on this connection."""

DEFAULT_SIGNATURE_TYPE = "DSA_SHA1"
"""The 387-byte destination with a null certificate: the only kind iMule accepts."""
CONNECT_TIMEOUT_S = 10.0
REPLY_TIMEOUT_S = 30.0
SESSION_TIMEOUT_S = 120.0
"""i2pd answers SESSION CREATE only once the tunnels are built (20 s on an offline router)."""
TRANSIENT = "TRANSIENT"
WRITE_BUFFER_LIMIT = 256 * 1024
"""Above this many unsent bytes the connection is congested and datagram sends are refused."""
SESSION_COMMAND_LIMIT = 8192
"""Longest ``DATAGRAM SEND`` (header line + payload) accepted: i2pd parses the session socket in an 8 KiB
buffer, and a longer command leaves its parser stuck mid-command, which breaks the whole session."""

_log = logging.getLogger(__name__)


class SamConnection:
    __slots__ = ("_closed", "_failure", "_lock", "_reader", "_reader_task", "_sink", "_waiting", "_writer", "version")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._waiting: collections.deque[asyncio.Future[sam.SamReply]] = collections.deque()
        self._lock = asyncio.Lock()
        self._sink: DatagramSink | None = None
        self._failure: SamFailure | None = None
        self._closed = asyncio.Event()
        self._reader_task = asyncio.get_running_loop().create_task(self._read_loop())
        self.version = ""

    @classmethod
    async def open(cls, host: str, port: int, *, timeout: float = CONNECT_TIMEOUT_S) -> SamConnection:
        """Connect and say HELLO; raises ``SamConnectionError`` when nothing answers."""
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, limit=sam.MAX_LINE_BYTES)
        except (OSError, TimeoutError) as exc:
            raise SamConnectionError(f"no SAM bridge answers at {host}:{port} ({exc or 'timed out'})") from exc
        connection = cls(reader, writer)
        try:
            reply = await connection.request(sam.hello_command(), "HELLO", "REPLY", timeout=timeout)
            connection.version = reply.require("VERSION")
        except BaseException:
            await connection.close()
            raise
        return connection

    @property
    def local_host(self) -> str:
        """Our address on this connection: the bridge can reach us there (for UDP forwarding)."""
        return str(self._writer.get_extra_info("sockname")[0])

    @property
    def peer_host(self) -> str:
        return str(self._writer.get_extra_info("peername")[0])

    @property
    def is_open(self) -> bool:
        return not self._closed.is_set()

    async def request(self, command: bytes, topic: str, kind: str, *, timeout: float = REPLY_TIMEOUT_S) -> sam.SamReply:
        """Send one command and return its reply, which must be ``topic kind`` with ``RESULT=OK``."""
        async with self._lock:
            self._raise_if_closed()
            future: asyncio.Future[sam.SamReply] = asyncio.get_running_loop().create_future()
            self._waiting.append(future)
            self._writer.write(command)
            try:
                async with asyncio.timeout(timeout):
                    reply = await future
            except TimeoutError:
                # A late reply would answer the next request: this connection is finished.
                silence = SamConnectionError(f"no {topic} {kind} within {timeout:g} s")
                self._fail(silence)
                raise silence from None
        try:
            sam.expect(reply, topic, kind)
            reply.check_result(required=(topic, kind) != ("DEST", "REPLY"))
        except SamProtocolError as exc:
            self._fail(exc)  # the bridge answered something else: nothing it says next can be trusted
            raise
        return reply

    async def dest_generate(self, signature_type: str = DEFAULT_SIGNATURE_TYPE) -> DestinationKeys:
        reply = await self.request(sam.dest_generate_command(signature_type), "DEST", "REPLY")
        try:
            keys = DestinationKeys.from_b64(reply.require("PRIV"))
            public = from_base64(reply.require("PUB"))
        except ValueError as exc:
            raise SamProtocolError(f"DEST REPLY holds invalid keys: {exc}") from exc
        if keys.public != public:
            raise SamProtocolError("DEST REPLY: PUB is not the destination inside PRIV")
        return keys

    async def naming_lookup(self, name: str) -> bytes:
        """The destination ``name`` (``ME``, a ``.b32.i2p`` address, a host name) stands for."""
        reply = await self.request(sam.naming_lookup_command(name), "NAMING", "REPLY")
        try:
            return from_base64(reply.require("VALUE"))
        except ValueError as exc:
            raise SamProtocolError(f"NAMING REPLY VALUE is not base64: {exc}") from exc

    async def create_session(
        self,
        session_id: str,
        keys: DestinationKeys | None,
        *,
        sink: DatagramSink,
        forward: tuple[str, int] | None = None,
        signature_type: str = DEFAULT_SIGNATURE_TYPE,
        options: dict[str, str] | None = None,
        timeout: float = SESSION_TIMEOUT_S,
    ) -> DestinationKeys:
        """``SESSION CREATE STYLE=DATAGRAM`` with ``keys`` (``None`` asks for a transient destination).

        Returns the session's private keys as the bridge confirms them. Datagrams then reach
        ``sink``: over this connection, or (with ``forward``) the caller's UDP socket.
        """
        self._sink = sink
        private = TRANSIENT if keys is None else keys.private_b64
        command = sam.session_create_command(
            session_id, private, signature_type=signature_type, forward=forward, options=options
        )
        reply = await self.request(command, "SESSION", "STATUS", timeout=timeout)
        try:
            confirmed = DestinationKeys.from_b64(reply.require("DESTINATION"))
        except ValueError as exc:
            raise SamProtocolError(f"SESSION STATUS holds invalid keys: {exc}") from exc
        if keys is not None and confirmed.public != keys.public:
            raise SamProtocolError("SESSION STATUS confirms a different destination than the one asked for")
        return confirmed

    def send_datagram(self, destination: bytes, payload: bytes) -> None:
        """``DATAGRAM SEND`` over this connection; never waits (refuses when the socket is backed up)."""
        self._raise_if_closed()
        command = sam.datagram_send_command(to_base64(destination), payload)
        if len(command) > SESSION_COMMAND_LIMIT:
            raise SamDatagramTooLarge(f"DATAGRAM SEND of {len(command)} bytes exceeds {SESSION_COMMAND_LIMIT}")
        if self._writer.transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
            raise SamConnectionError("SAM connection is congested")
        self._writer.write(command)

    async def wait_closed(self) -> SamFailure | None:
        """Wait until the connection ends; the failure that ended it (``None`` after ``close()``)."""
        await self._closed.wait()
        return self._failure

    async def close(self) -> None:
        """Close the connection; for a session's connection this is how SAM ends the session."""
        self._fail(None)
        self._reader_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, SamFailure):
            await self._reader_task
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    def _raise_if_closed(self) -> None:
        if self._closed.is_set():
            raise self._failure or SamConnectionError("SAM connection is closed")

    def _fail(self, failure: SamFailure | None) -> None:
        if self._closed.is_set():
            return
        self._failure = failure
        self._closed.set()
        self._writer.close()
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(failure or SamConnectionError("SAM connection closed"))
                future.exception()  # retrieved here so an abandoned request does not log "never retrieved"

    async def _read_loop(self) -> None:
        try:
            while True:
                reply = sam.parse_reply(await self._read_line())
                if (reply.topic, reply.kind) == ("DATAGRAM", "RECEIVED"):
                    await self._read_datagram(reply)
                elif self._waiting:
                    self._waiting.popleft().set_result(reply)
                else:
                    raise SamProtocolError(f"unsolicited {reply.topic} {reply.kind} from the bridge")
        except SamFailure as exc:
            _log.debug("SAM connection ends: %s", exc)
            self._fail(exc)
        except (OSError, asyncio.IncompleteReadError) as exc:
            self._fail(SamConnectionError(f"SAM connection lost: {exc}"))

    async def _read_line(self) -> bytes:
        try:
            line = await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise SamProtocolError("the bridge closed the connection in the middle of a line") from exc
            raise SamConnectionError("the bridge closed the connection") from exc
        except asyncio.LimitOverrunError as exc:
            raise SamProtocolError(f"reply line longer than {sam.MAX_LINE_BYTES} bytes") from exc
        return line[:-1]

    async def _read_datagram(self, reply: sam.SamReply) -> None:
        source, size = sam.datagram_received(reply)
        if self._sink is None:
            raise SamProtocolError("DATAGRAM RECEIVED on a connection without a session")
        try:
            payload = await self._reader.readexactly(size)
        except asyncio.IncompleteReadError as exc:
            raise SamProtocolError("the bridge closed the connection in the middle of a datagram") from exc
        self._sink(source, payload)
