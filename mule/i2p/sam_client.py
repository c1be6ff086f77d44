"""One asyncio connection to a SAM bridge: HELLO, then strictly ordered request/reply.

A reader task owns the socket's input. Replies go to the oldest waiting request, in
order; once a session exists on the connection, ``DATAGRAM RECEIVED`` frames may
arrive between replies and go to the datagram sink instead. No line the bridge sends
can stop the reader while the connection looks open: a line that answers nothing of
ours (unknown, unsolicited, malformed, too long) is counted and read past; where the
stream cannot be resynchronised (a datagram header without a usable ``SIZE``, a
malformed line while a reply is awaited) the connection closes, and a session's owner
reconnects. A sink that raises is counted and the reader carries on.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

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

_DATAGRAM_HEADER = b"DATAGRAM RECEIVED"

_log = logging.getLogger(__name__)


@dataclass(slots=True)
class ReaderCounters:
    """What the readers read past instead of stopping; one instance can outlive many connections."""

    skipped_lines: int = 0
    """Lines that answer nothing of ours: unknown or unsolicited replies, malformed or over-long lines."""
    dropped_datagrams: int = 0
    """Inbound datagrams read and dropped: no session to take them, no sender, or a malformed header."""
    sink_errors: int = 0
    """Datagrams whose sink raised; the reader carried on with the next one."""


class SamConnection:
    __slots__ = (
        "_closed",
        "_failure",
        "_lock",
        "_reader",
        "_reader_task",
        "_sink",
        "_waiting",
        "_writer",
        "counters",
        "version",
    )

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counters: ReaderCounters | None = None
    ) -> None:
        self.counters = counters if counters is not None else ReaderCounters()
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
    async def open(
        cls, host: str, port: int, *, timeout: float = CONNECT_TIMEOUT_S, counters: ReaderCounters | None = None
    ) -> SamConnection:
        """Connect and say HELLO; raises ``SamConnectionError`` when nothing answers."""
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, limit=sam.MAX_LINE_BYTES)
        except (OSError, TimeoutError) as exc:
            raise SamConnectionError(f"no SAM bridge answers at {host}:{port} ({exc or 'timed out'})") from exc
        connection = cls(reader, writer, counters)
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
            raise SamDatagramTooLarge(f"a DATAGRAM SEND of {len(command)} bytes exceeds {SESSION_COMMAND_LIMIT}")
        try:
            if self._writer.transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
                raise SamConnectionError("SAM connection is congested")
            self._writer.write(command)
        except (OSError, RuntimeError) as exc:  # uvloop raises RuntimeError on a transport closed under us
            raise SamConnectionError(f"cannot write to the SAM bridge: {exc}") from exc

    def abort(self, failure: SamFailure) -> None:
        """End the connection now, as if the bridge had dropped it with ``failure``."""
        self._fail(failure)

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
        failure: SamFailure = SamConnectionError("SAM connection reader stopped")
        try:
            while True:
                await self._read_one()
        except SamFailure as exc:
            failure = exc
        except OSError as exc:
            failure = SamConnectionError(f"SAM connection lost: {exc}")
        except Exception as exc:
            # A bug must not leave a connection that looks open but reads nothing: close it, the owner reconnects.
            _log.exception("SAM connection reader failed")
            failure = SamProtocolError(f"SAM connection reader failed: {exc!r}")
        finally:
            _log.debug("SAM connection ends: %s", failure)
            self._fail(failure)  # whatever ended the reader (cancellation too), the connection reports closed

    async def _read_one(self) -> None:
        line = await self._read_line()
        if line is None:
            return
        try:
            reply = sam.parse_reply(line)
        except SamProtocolError:
            if self._waiting or _is_datagram_header(line):
                raise  # it may be the awaited reply, or a header whose payload length is lost: no resync
            self._skip("malformed line", line)
            return
        if (reply.topic, reply.kind) == ("DATAGRAM", "RECEIVED"):
            await self._read_datagram(reply)
        elif (reply.topic, reply.kind) in sam.REPLY_KINDS and self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():  # a request abandoned while its reply was on the way (e.g. a signal at HELLO)
                waiter.set_result(reply)
        else:
            self._skip("unsolicited or unknown reply", line)

    async def _read_line(self) -> bytes | None:
        """The next line without its newline; ``None`` after reading past a line over the limit."""
        try:
            line = await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise SamProtocolError("the bridge closed the connection in the middle of a line") from exc
            raise SamConnectionError("the bridge closed the connection") from exc
        except asyncio.LimitOverrunError as exc:
            head = await self._read_past_long_line(exc.consumed)
            if self._waiting or _is_datagram_header(head):
                raise SamProtocolError(f"reply line longer than {sam.MAX_LINE_BYTES} bytes") from exc
            self._skip("over-long line", head)
            return None
        return line[:-1]

    async def _read_past_long_line(self, buffered: int) -> bytes:
        """Discard a line over the limit up to its newline; returns its first bytes."""
        try:
            head = await self._reader.readexactly(buffered)
            while True:
                try:
                    await self._reader.readuntil(b"\n")
                    return head
                except asyncio.LimitOverrunError as exc:
                    await self._reader.readexactly(exc.consumed)
        except asyncio.IncompleteReadError as exc:
            raise SamProtocolError("the bridge closed the connection in the middle of a line") from exc

    async def _read_datagram(self, reply: sam.SamReply) -> None:
        source, size = sam.datagram_received(reply)
        try:
            payload = await self._reader.readexactly(size)
        except asyncio.IncompleteReadError as exc:
            raise SamProtocolError("the bridge closed the connection in the middle of a datagram") from exc
        if self._sink is None or source is None:
            self.counters.dropped_datagrams += 1
            _log.debug("dropping a datagram %s", "without a sender" if self._sink else "before the session exists")
            return
        try:
            self._sink(source, payload)
        except Exception:
            self.counters.sink_errors += 1
            _log.debug("the datagram sink raised; reading on", exc_info=True)

    def _skip(self, what: str, line: bytes) -> None:
        self.counters.skipped_lines += 1
        _log.debug("skipping a %s from the SAM bridge: %r", what, line[:60])


def _is_datagram_header(line: bytes) -> bool:
    return line[: len(_DATAGRAM_HEADER)].upper() == _DATAGRAM_HEADER
