"""The runtime half of the no-bypass proof (the static half is tests/shaper/test_no_bypass.py).

Every call that puts datagram bytes on a socket — ``DatagramSession.send``,
``SamConnection.send_datagram``, the UDP socket's ``sendto`` of a ``3.0 ...`` datagram, the release
thread's ``release_at`` (which sends it at its instant) and a socket write carrying ``DATAGRAM SEND`` —
is watched while two transports (one per datagram
path) exchange traffic, lose their sessions, reconnect, read odd lines and look names up.
Each watched call must have ``SamTransport._send_datagram`` on its stack. The watch runs on
the asyncio loop, whose transports are Python classes that can be patched (uvloop's cannot).
"""

from __future__ import annotations

import asyncio
import sys
import time
from asyncio import selector_events
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_bridge import FakeBridge, sam_transport, until

from mule.i2p import transport as transport_module
from mule.i2p.sam_client import SamConnection
from mule.i2p.session import DatagramPath, DatagramSession
from mule.i2p.transport import SamTransport
from mule.transport.release import ReleaseThread

SEND_FUNCTION = SamTransport._send_datagram.__code__
WIRE_CALLS = (
    "DatagramSession.send",
    "SamConnection.send_datagram",
    "UDP sendto",
    "socket write of DATAGRAM SEND",
    "release thread's release_at",
)


class WireWatch:
    """Records each wire call and whether the transport's send function is on the stack below it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    def note(self, what: str) -> None:
        frame = sys._getframe(2)
        while frame is not None and frame.f_code is not SEND_FUNCTION:
            frame = frame.f_back
        self.calls.append((what, frame is not None))

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def watched(owner: Any, name: str, what: str, counts: Callable[..., bool] = lambda *args: True) -> None:
            original = getattr(owner, name)

            def wrapper(*args: Any) -> Any:
                if counts(*args):
                    self.note(what)
                return original(*args)

            monkeypatch.setattr(owner, name, wrapper)

        watched(DatagramSession, "send", WIRE_CALLS[0])
        watched(SamConnection, "send_datagram", WIRE_CALLS[1])
        # The fake bridge's own forwards and DATAGRAM RECEIVED frames are not ours: only our forms count.
        udp, tcp = selector_events._SelectorDatagramTransport, selector_events._SelectorSocketTransport
        watched(udp, "sendto", WIRE_CALLS[2], lambda _, data, *address: data[:4] == b"3.0 ")
        watched(tcp, "write", WIRE_CALLS[3], lambda _, data: b"DATAGRAM SEND" in data)
        watch = self

        class WatchedQueue:
            """The release thread's queue (a compiled type, so wrapped rather than patched)."""

            def __init__(self, queue: Any) -> None:
                self._queue = queue

            def release_at(self, *args: Any) -> Any:
                watch.note(WIRE_CALLS[4])
                return self._queue.release_at(*args)

            def __getattr__(self, name: str) -> Any:
                return getattr(self._queue, name)

        class WatchedThread(ReleaseThread):
            __slots__ = ()

            def __init__(self, **options: Any) -> None:
                super().__init__(**options)
                self.queue = WatchedQueue(self.queue)

        monkeypatch.setattr(transport_module, "ReleaseThread", WatchedThread)


async def _traffic(bridge: FakeBridge, tmp_path: Path) -> tuple[DatagramSession, DatagramSession]:
    """Both paths, both ways, through drops, reconnects, odd lines and lookups; returns the live sessions."""
    nodes = []
    for path in DatagramPath:
        (tmp_path / path.value).mkdir()
        node = sam_transport(bridge, tmp_path / path.value, path)
        await node.open()
        nodes.append(node)
    sends = [node.claim_sender() for node in nodes]  # what a shaper holds
    for round_number in range(3):
        for send in sends:
            for other in nodes:
                send(other.local_destination, b"round %d" % round_number)  # at once
                send(other.local_destination, b"timed %d" % round_number, time.monotonic() + 0.001)  # as a shaper
        for node in nodes:
            for _ in range(2 * len(nodes)):
                await node.receive()
        for node in nodes:
            assert node._session is not None
            await node._session.lookup("ME")
        for session in bridge.sessions.values():
            session.writer.write(b"STREAM STATUS RESULT=OK\nDATAGRAM RECEIVED SIZE=1\nx")
        await bridge.restart()
        drops = round_number + 1
        await until(lambda drops=drops: all(node.reconnects == drops and node.is_up for node in nodes))
    sessions = []
    for node in nodes:
        assert node._session is not None
        sessions.append(node._session)
    return sessions[0], sessions[1]


def test_every_wire_call_comes_through_the_transports_send_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watch = WireWatch()
    watch.install(monkeypatch)
    bystander = WireWatch()

    async def scenario() -> None:
        bridge = await FakeBridge().start()
        udp_session, tcp_session = await _traffic(bridge, tmp_path)
        traffic = list(watch.calls)
        # Negative control: the same sessions, called directly, must show up as bypasses.
        watch.calls.clear()
        udp_session.send(tcp_session.destination, b"bypass")
        udp_session.send(tcp_session.destination, b"bypass", time.monotonic())
        tcp_session.send(udp_session.destination, b"bypass")
        bystander.calls = list(watch.calls)
        watch.calls = traffic
        await udp_session.close()
        await tcp_session.close()
        await bridge.stop()

    asyncio.run(asyncio.wait_for(scenario(), 20))
    assert {what for what, _ in watch.calls} == set(WIRE_CALLS)  # every kind was exercised
    assert [call for call in watch.calls if not call[1]] == []
    assert len(watch.calls) >= 3 * 4 * 2 * 2
    assert {what for what, via in bystander.calls if not via} == set(WIRE_CALLS)
