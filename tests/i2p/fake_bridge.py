"""A scripted SAM bridge on 127.0.0.1 that behaves like a tiny router.

It answers HELLO, DEST GENERATE, SESSION CREATE (with or without UDP forwarding), NAMING
LOOKUP and DATAGRAM SEND, and carries datagrams between its own sessions on both paths,
like i2pd: a session lives as long as its control connection. ``script`` overrides the
answer to the next command of a kind (any bytes, or ``DISCONNECT``), so every reply form
and every error result can be played; ``restart()`` drops every connection and session.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import itertools
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mule.i2p.address import b32_address, public_destination
from mule.i2p.session import DatagramPath
from mule.i2p.transport import SamTransport, SamTransportSettings
from mule.kad.destination import from_base64, to_base64
from mule.node.config import SamAddress

T = TypeVar("T")

Run = Callable[[Awaitable[Any]], Any]
"""The ``run`` fixture (tests/i2p/conftest.py): runs a coroutine on a fresh event loop, returns its result."""

ERROR_RESULTS = (
    "I2P_ERROR",
    "DUPLICATED_ID",
    "DUPLICATED_DEST",
    "INVALID_ID",
    "INVALID_KEY",
    "KEY_NOT_FOUND",
    "PEER_NOT_FOUND",
    "CANT_REACH_PEER",
    "TIMEOUT",
    "NOVERSION",
    "ALREADY_ACCEPTING",
    "NOEXIT",  # not in the SAM spec: an unknown code must still be carried verbatim
)
"""Every result code the tests play back (the SAM spec's error results, plus an unknown one)."""

DISCONNECT = b""
"""Scripted answer: close the connection without a word."""

_DSA_PRIVATE_TAIL = 256 + 20  # ElGamal private key + DSA private key after the destination


def fake_private_keys(number: int) -> bytes:
    """A DSA-SHA1-shaped private-keys blob (387-byte destination with a null certificate + 276 bytes)."""
    stream = b"".join(hashlib.sha256(f"fake-key-{number}-{i}".encode()).digest() for i in range(21))
    return stream[:384] + b"\x00\x00\x00" + stream[384 : 384 + _DSA_PRIVATE_TAIL]


@dataclass
class FakeSession:
    session_id: str
    private: bytes
    writer: asyncio.StreamWriter
    forward: tuple[str, int] | None

    @property
    def public(self) -> bytes:
        return public_destination(self.private)


@dataclass
class FakeBridge:
    version: str = "3.1"
    script: dict[tuple[str, str], collections.deque[tuple[bytes, bool]]] = field(default_factory=dict)
    """Scripted answers per command kind: (bytes to write, hang up afterwards)."""
    commands: list[str] = field(default_factory=list)
    """Every command line received (without payloads), for assertions."""
    sessions: dict[str, FakeSession] = field(default_factory=dict)
    refuse_connections: int = 0
    """Close this many new connections at once (a router that is restarting)."""
    swallow: set[tuple[str, str]] = field(default_factory=set)
    """Commands that get no answer at all (a router that hangs)."""
    port: int = 0
    udp_port: int = 0
    _server: asyncio.Server | None = None
    _udp: asyncio.DatagramTransport | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _keys: itertools.count = field(default_factory=itertools.count)

    async def start(self) -> FakeBridge:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        bridge = self

        class _Udp(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
                bridge._udp_received(data)

        self._udp, _ = await asyncio.get_running_loop().create_datagram_endpoint(_Udp, local_addr=("127.0.0.1", 0))
        self.udp_port = self._udp.get_extra_info("sockname")[1]
        return self

    async def stop(self) -> None:
        await self.restart()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._udp is not None:
            self._udp.close()

    async def restart(self) -> None:
        """Drop every connection, and with them every session (as a router restart does)."""
        for writer in list(self._writers):
            writer.close()
        self.sessions.clear()
        await asyncio.sleep(0)

    def play(self, topic: str, kind: str, *answers: bytes, hang_up: bool = False) -> None:
        """Answer the next ``topic kind`` commands with ``answers`` (in order) instead of the real thing.

        With ``hang_up`` the bridge closes the connection after writing each answer.
        """
        self.script.setdefault((topic, kind), collections.deque()).extend((answer, hang_up) for answer in answers)

    def new_keys(self) -> bytes:
        return fake_private_keys(next(self._keys))

    # --- connection handling -------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refuse_connections > 0:
            self.refuse_connections -= 1
            writer.close()
            return
        self._writers.add(writer)
        own: FakeSession | None = None
        try:
            while True:
                line = (await reader.readuntil(b"\n"))[:-1].decode()
                self.commands.append(line)
                topic, kind, *rest = line.split(" ")
                fields = dict(word.split("=", 1) for word in rest if "=" in word)
                scripted = self.script.get((topic, kind))
                if scripted:
                    answer, hang_up = scripted.popleft()
                    writer.write(answer)
                    if hang_up or answer == DISCONNECT:
                        await writer.drain()
                        break
                    continue
                if (topic, kind) in self.swallow:
                    continue
                if (topic, kind) == ("DATAGRAM", "SEND"):
                    payload = await reader.readexactly(int(fields["SIZE"]))
                    if own is not None:
                        self._route(own, fields["DESTINATION"], payload)
                    continue
                answer, keep_open, created = self._answer(topic, kind, fields, writer, own)
                writer.write(answer)
                own = created or own
                if not keep_open:
                    await writer.drain()
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            if own is not None and self.sessions.get(own.session_id) is own:
                del self.sessions[own.session_id]
            self._writers.discard(writer)
            writer.close()

    def _answer(
        self, topic: str, kind: str, fields: dict[str, str], writer: asyncio.StreamWriter, own: FakeSession | None
    ) -> tuple[bytes, bool, FakeSession | None]:
        if (topic, kind) == ("HELLO", "VERSION"):
            return f"HELLO REPLY RESULT=OK VERSION={self.version}\n".encode(), True, None
        if (topic, kind) == ("DEST", "GENERATE"):
            private = self.new_keys()
            pub, priv = to_base64(public_destination(private)), to_base64(private)
            return f"DEST REPLY PUB={pub} PRIV={priv}\n".encode(), True, None
        if (topic, kind) == ("NAMING", "LOOKUP"):
            return self._lookup(fields.get("NAME", ""), own), True, None
        if (topic, kind) == ("SESSION", "CREATE"):
            return self._create(fields, writer)
        return b"", False, None  # unknown command: i2pd closes the connection without a reply

    def _lookup(self, name: str, own: FakeSession | None) -> bytes:
        if name == "ME" and own is not None:
            return f"NAMING REPLY RESULT=OK NAME=ME VALUE={to_base64(own.public)}\n".encode()
        for session in self.sessions.values():
            if b32_address(session.public) == name:
                return f"NAMING REPLY RESULT=OK NAME={name} VALUE={to_base64(session.public)}\n".encode()
        return f"NAMING REPLY RESULT=KEY_NOT_FOUND NAME={name}\n".encode()

    def _create(self, fields: dict[str, str], writer: asyncio.StreamWriter) -> tuple[bytes, bool, FakeSession | None]:
        session_id = fields.get("ID", "")
        if fields.get("STYLE") != "DATAGRAM":
            return b'SESSION STATUS RESULT=I2P_ERROR MESSAGE="Unknown STYLE"\n', False, None
        if session_id in self.sessions:
            return b"SESSION STATUS RESULT=DUPLICATED_ID\n", False, None
        destination = fields.get("DESTINATION", "")
        try:
            private = self.new_keys() if destination == "TRANSIENT" else from_base64(destination)
            public_destination(private)
        except ValueError:
            return b"SESSION STATUS RESULT=INVALID_KEY\n", False, None
        if any(session.private == private for session in self.sessions.values()):
            return b"SESSION STATUS RESULT=DUPLICATED_DEST\n", False, None
        forward = (fields["HOST"], int(fields["PORT"])) if "PORT" in fields else None
        session = FakeSession(session_id, private, writer, forward)
        self.sessions[session_id] = session
        return f"SESSION STATUS RESULT=OK DESTINATION={to_base64(private)}\n".encode(), True, session

    # --- the "network" between sessions --------------------------------------------------------

    def _udp_received(self, data: bytes) -> None:
        head, _, payload = data.partition(b"\n")
        version, session_id, destination = head.decode().split(" ")[:3]
        sender = self.sessions.get(session_id)
        if version == "3.0" and sender is not None:
            self._route(sender, destination, payload)

    def _route(self, sender: FakeSession, destination_b64: str, payload: bytes) -> None:
        with contextlib.suppress(ValueError):
            target_public = from_base64(destination_b64)
            for target in self.sessions.values():
                if target.public == target_public:
                    self._deliver(target, to_base64(sender.public), payload)

    def _deliver(self, target: FakeSession, source_b64: str, payload: bytes) -> None:
        if target.forward is not None and self._udp is not None:
            self._udp.sendto(source_b64.encode() + b"\n" + payload, target.forward)
        else:
            target.writer.write(f"DATAGRAM RECEIVED DESTINATION={source_b64} SIZE={len(payload)}\n".encode() + payload)


class BridgeThread:
    """A fake bridge serving on its own event loop in a thread, for code that runs its own loop (a command in this
    process, a ``python -m mule`` subprocess); ``call`` runs more coroutines on that loop (e.g. peer nodes)."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.bridge = self.call(FakeBridge().start())

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the bridge's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout or self.timeout)

    def close(self) -> None:
        self.call(self.bridge.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(self.timeout)


@contextlib.contextmanager
def threaded_bridge() -> Iterator[BridgeThread]:
    served = BridgeThread()
    try:
        yield served
    finally:
        served.close()


def fake_key_certificate_private_keys(number: int) -> bytes:
    """Private keys whose destination carries a 4-byte key certificate: 391 bytes, I2P base64 ending in "=="."""
    dsa = fake_private_keys(number)
    return dsa[:384] + b"\x05\x00\x04" + bytes(4) + dsa[387:]


# --- driving a SamTransport against the fake bridge ---------------------------------------------------------


class RecordedSleep:
    """Stands in for asyncio.sleep in the reconnect loop: records each delay, waits only a moment."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0.001)


def sam_transport(
    bridge: FakeBridge, data_dir: Path, path: DatagramPath, sleep: RecordedSleep | None = None
) -> SamTransport:
    """A transport on ``bridge`` with a fixed jitter seed and a recorded (near-instant) reconnect sleep."""
    settings = SamTransportSettings(path=path, udp_port=bridge.udp_port)
    return SamTransport(
        SamAddress("127.0.0.1", bridge.port), data_dir, settings, sleep=sleep or RecordedSleep(), jitter_seed=bytes(32)
    )


async def until(condition: Callable[[], bool], *, seconds: float = 2.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.001)
