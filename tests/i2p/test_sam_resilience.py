"""Nothing the bridge sends stops receiving or reconnection; every send failure is a ``TransportError``.

One regression test per fault found on the earlier code: a ``SIZE`` that ``str.isdigit()`` accepts but
``int()`` refuses killed the reader while the session still looked up; a raising sink or reader did
the same; a reply to a destination whose base64 ends in ``==`` raised ``ValueError`` through the
shaper's hand-off; the first reconnect came after 0.5-1 s instead of the profile's retry law.
"""

from __future__ import annotations

import asyncio
import errno
import random
from pathlib import Path

import pytest
from fake_bridge import (
    FakeBridge,
    RecordedSleep,
    Run,
    fake_key_certificate_private_keys,
    fake_private_keys,
    sam_transport,
    until,
)

from mule._core import JitterSampler
from mule.contract import PROFILE_V2
from mule.i2p import sam_protocol
from mule.i2p.keys import DestinationKeys
from mule.i2p.sam_protocol import MAX_LINE_BYTES
from mule.i2p.session import DatagramPath, DatagramSession, SessionSpec
from mule.i2p.transport import SamTransport
from mule.kad.destination import to_base64
from mule.transport.interface import Datagram, TransportError

PATHS = pytest.mark.parametrize("path", list(DatagramPath))
SOURCE = to_base64(fake_private_keys(999)[:387])

RESYNCABLE = {
    "unknown reply": b"STREAM STATUS RESULT=OK\n",
    "unknown bare words": b"PING hello\n",
    "unsolicited reply": b"NAMING REPLY RESULT=OK NAME=ME VALUE=x\n",
    "one word": b"JUST\n",
    "empty line": b"\n",
    "non-UTF-8": b"\xff\xfe\xfd garbage\n",
    "non-ASCII topic": "H\u00c9LLO R\u00c9PLY RESULT=OK\n".encode(),
    "malformed fields": b'SESSION STATUS RESULT="unterminated\n',
    "over-long line": b"X" * (MAX_LINE_BYTES + 5000) + b"\n",
    "datagram without sender": b"DATAGRAM RECEIVED SIZE=3\nabc",
    "datagram with a non-base64 sender": b"DATAGRAM RECEIVED DESTINATION=not!base64 SIZE=1\nx",
    "datagram with a non-ASCII sender": "DATAGRAM RECEIVED DESTINATION=\u00e9\u00e9 SIZE=1\nx".encode(),
}
"""Lines that answer nothing of ours and leave the next line's start known: read past, counted."""

UNRESYNCABLE = {
    "superscript size": f"DATAGRAM RECEIVED DESTINATION={SOURCE} SIZE=\u00b2\n".encode(),
    "arabic-indic size": f"DATAGRAM RECEIVED DESTINATION={SOURCE} SIZE=\u0663\n".encode(),
    "negative size": f"DATAGRAM RECEIVED DESTINATION={SOURCE} SIZE=-1\n".encode(),
    "oversize": f"DATAGRAM RECEIVED DESTINATION={SOURCE} SIZE=99999999\n".encode(),
    "missing size": f"DATAGRAM RECEIVED DESTINATION={SOURCE}\n".encode(),
    "malformed header": b'DATAGRAM RECEIVED DESTINATION="x SIZE=1\nx',
    "over-long header": b"DATAGRAM RECEIVED DESTINATION=" + b"A" * (MAX_LINE_BYTES + 10) + b" SIZE=1\nx",
}
"""Datagram headers whose payload length is lost: the connection closes and the transport reconnects."""


async def _pair(bridge: FakeBridge, tmp_path: Path, path: DatagramPath) -> tuple[SamTransport, SamTransport]:
    (tmp_path / "node").mkdir()
    (tmp_path / "peer").mkdir()
    node = sam_transport(bridge, tmp_path / "node", path)
    peer = sam_transport(bridge, tmp_path / "peer", path)
    return node, peer


def _control_writer(bridge: FakeBridge, transport: SamTransport):
    own = transport.local_destination
    return next(session.writer for session in bridge.sessions.values() if session.public == own)


async def _still_carries(node: SamTransport, peer: SamTransport, tag: bytes) -> tuple[Datagram, Datagram]:
    """One datagram each way through the node's (possibly recreated) session."""
    to_node, to_peer = peer.claim_sender(), node.claim_sender()
    to_node(node.local_destination, b"to node " + tag)
    inbound = await node.receive()
    to_peer(peer.local_destination, b"to peer " + tag)
    outbound = await peer.receive()
    return inbound, outbound


@PATHS
@pytest.mark.parametrize("line", list(RESYNCABLE.values()), ids=list(RESYNCABLE))
def test_an_odd_line_is_read_past_and_later_datagrams_arrive(
    run: Run, tmp_path: Path, path: DatagramPath, line: bytes
) -> None:
    async def scenario() -> tuple[Datagram, Datagram, int, int, int]:
        bridge = await FakeBridge().start()
        node, peer = await _pair(bridge, tmp_path, path)
        await node.open()
        await peer.open()
        _control_writer(bridge, node).write(line)
        inbound, outbound = await _still_carries(node, peer, b"after")
        skipped = node.counters.skipped_lines + node.counters.dropped_datagrams
        result = (inbound, outbound, node.reconnects, skipped, int(node.is_up))
        await node.close()
        await peer.close()
        await bridge.stop()
        return result

    inbound, outbound, reconnects, skipped, up = run(scenario())
    assert inbound.payload == b"to node after" and outbound.payload == b"to peer after"
    assert (reconnects, skipped, up) == (0, 1, 1)


@PATHS
@pytest.mark.parametrize("line", list(UNRESYNCABLE.values()), ids=list(UNRESYNCABLE))
def test_a_datagram_header_without_a_usable_size_closes_and_the_transport_reconnects(
    run: Run, tmp_path: Path, path: DatagramPath, line: bytes
) -> None:
    """Regression (fault 1): ``SIZE=²`` killed the reader; the session still looked up, later datagrams were lost."""

    async def scenario() -> tuple[Datagram, Datagram, bytes, bytes]:
        bridge = await FakeBridge().start()
        node, peer = await _pair(bridge, tmp_path, path)
        await node.open()
        await peer.open()
        before = node.local_destination
        _control_writer(bridge, node).write(line)
        await until(lambda: node.reconnects == 1 and node.is_up)
        inbound, outbound = await _still_carries(node, peer, b"after reconnect")
        await node.close()
        await peer.close()
        await bridge.stop()
        return inbound, outbound, before, node.local_destination

    inbound, outbound, before, after = run(scenario())
    assert inbound.payload == b"to node after reconnect" and outbound == Datagram(before, b"to peer after reconnect")
    assert before == after


@PATHS
def test_a_sink_that_raises_is_contained_and_later_datagrams_arrive(
    run: Run, tmp_path: Path, path: DatagramPath
) -> None:
    async def scenario() -> tuple[Datagram, int, int]:
        bridge = await FakeBridge().start()
        node, peer = await _pair(bridge, tmp_path, path)
        deliver = node._deliver

        def flaky(source: bytes, payload: bytes) -> None:
            if payload == b"boom":
                raise RuntimeError("injected sink failure")
            deliver(source, payload)

        node._deliver = flaky  # type: ignore[method-assign]  # the session takes it at open()
        await node.open()
        await peer.open()
        send = peer.claim_sender()
        send(node.local_destination, b"boom")
        send(node.local_destination, b"after")
        arrived = await node.receive()
        result = (arrived, node.counters.sink_errors, node.reconnects)
        await node.close()
        await peer.close()
        await bridge.stop()
        return result

    arrived, sink_errors, reconnects = run(scenario())
    assert arrived.payload == b"after" and (sink_errors, reconnects) == (1, 0)


@PATHS
def test_an_exception_in_the_reader_closes_the_session_and_the_transport_reconnects(
    run: Run, tmp_path: Path, path: DatagramPath, monkeypatch: pytest.MonkeyPatch
) -> None:
    armed = [False]
    parse = sam_protocol.parse_reply

    def flaky(line: bytes) -> sam_protocol.SamReply:
        if armed[0]:
            armed[0] = False
            raise RuntimeError("injected reader failure")
        return parse(line)

    monkeypatch.setattr(sam_protocol, "parse_reply", flaky)

    async def scenario() -> tuple[Datagram, Datagram, int]:
        bridge = await FakeBridge().start()
        node, peer = await _pair(bridge, tmp_path, path)
        await node.open()
        await peer.open()
        armed[0] = True
        _control_writer(bridge, node).write(b"STREAM STATUS RESULT=OK\n")
        await until(lambda: node.reconnects == 1 and node.is_up)
        inbound, outbound = await _still_carries(node, peer, b"after reconnect")
        await node.close()
        await peer.close()
        await bridge.stop()
        return inbound, outbound, node.reconnects

    inbound, outbound, reconnects = run(scenario())
    assert inbound.payload == b"to node after reconnect" and outbound.payload == b"to peer after reconnect"
    assert reconnects == 1


# --- fault 2: every send failure is a TransportError --------------------------------------------------------


@PATHS
def test_a_reply_reaches_a_destination_whose_base64_ends_in_padding(
    run: Run, tmp_path: Path, path: DatagramPath
) -> None:
    """Regression (fault 2): a 391-byte destination (key certificate) is ``...==`` in base64; the command
    builders refused ``=`` in a value and raised ``ValueError`` through the shaper's hand-off."""

    async def scenario() -> tuple[bytes, list[bytes]]:
        bridge = await FakeBridge().start()
        node = sam_transport(bridge, tmp_path, path)
        await node.open()
        replies: list[bytes] = []
        spec = SessionSpec(
            "127.0.0.1",
            bridge.port,
            "padded-peer",
            DestinationKeys(fake_key_certificate_private_keys(7)),
            path=path,
            udp_port=bridge.udp_port,
        )
        peer = await DatagramSession.create(spec, lambda source, payload: replies.append(payload))
        peer.send(node.local_destination, b"ping")
        request = await node.receive()
        node.claim_sender()(request.source, b"pong")
        await until(lambda: bool(replies))
        await peer.close()
        await node.close()
        await bridge.stop()
        return request.source, replies

    source, replies = run(scenario())
    assert len(source) == 391 and to_base64(source).endswith("==")
    assert replies == [b"pong"]


def _key_cert_destination_without_its_payload() -> bytes:
    return fake_private_keys(1)[:384] + b"\x05\x00\x04"


BAD_DESTINATIONS = {
    "empty": b"",
    "short": bytes(386),
    "one extra byte": fake_private_keys(1)[:387] + b"\x00",
    "three extra bytes": fake_private_keys(1)[:387] + bytes(3),
    "certificate runs past the end": _key_cert_destination_without_its_payload(),
}


@PATHS
@pytest.mark.parametrize("destination", list(BAD_DESTINATIONS.values()), ids=list(BAD_DESTINATIONS))
def test_a_destination_that_is_not_one_whole_destination_is_a_transport_error(
    run: Run, tmp_path: Path, path: DatagramPath, destination: bytes
) -> None:
    async def scenario() -> None:
        bridge = await FakeBridge().start()
        node = sam_transport(bridge, tmp_path, path)
        await node.open()
        send = node.claim_sender()
        with pytest.raises(TransportError, match="not an I2P destination"):
            send(destination, b"x")
        assert node.is_up
        await node.close()
        await bridge.stop()

    run(scenario())


class _RefusingUdp:
    """Stands in for the session's UDP socket (uvloop's cannot be patched): every send fails as a full buffer."""

    def __init__(self, real: asyncio.DatagramTransport) -> None:
        self._real = real

    def get_write_buffer_size(self) -> int:
        return 0

    def sendto(self, data: bytes, address: object) -> None:
        raise OSError(errno.ENOBUFS, "No buffer space available")

    def close(self) -> None:
        self._real.close()


def _break_the_socket(node: SamTransport, path: DatagramPath) -> None:
    session = node._session
    assert session is not None
    if path is DatagramPath.UDP:
        assert session._udp is not None
        session._udp = _RefusingUdp(session._udp)  # type: ignore[assignment]
        return
    assert session._connection is not None

    def closed_under_us(data: bytes) -> None:
        raise RuntimeError("unable to perform operation on <TCPTransport closed=True>")

    session._connection._writer.write = closed_under_us  # type: ignore[method-assign]


@PATHS
@pytest.mark.parametrize("state", ["socket error", "reconnecting", "closed"])
def test_a_session_that_cannot_send_raises_only_transport_error(
    run: Run, tmp_path: Path, path: DatagramPath, state: str
) -> None:
    async def scenario() -> None:
        bridge = await FakeBridge().start()
        node = sam_transport(bridge, tmp_path, path)
        await node.open()
        send = node.claim_sender()
        target = node.local_destination
        if state == "socket error":
            _break_the_socket(node, path)
        elif state == "reconnecting":
            bridge.refuse_connections = 1000
            await bridge.restart()
            await until(lambda: not node.is_up)
        else:
            await node.close()
        with pytest.raises(TransportError):
            send(target, b"x")
        await node.close()
        await bridge.stop()

    run(scenario())


# --- fault 3: the first reconnect waits the profile's retry law --------------------------------------------


def _no_random(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("reconnect jitter must come from the ChaCha-based JitterSampler, not random")

    for name in ("random", "uniform", "randint", "randrange", "choice", "expovariate"):
        monkeypatch.setattr(random, name, forbidden)


@PATHS
def test_the_first_reconnect_waits_a_draw_from_the_profiles_retry_law(
    run: Run, tmp_path: Path, path: DatagramPath, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression (fault 3): the first reconnect came 0.5-1 s after a drop, a path of mule's own."""
    _no_random(monkeypatch)
    sleep = RecordedSleep()

    async def scenario() -> list[float]:
        bridge = await FakeBridge().start()
        node = sam_transport(bridge, tmp_path, path, sleep)
        await node.open()
        bridge.refuse_connections = 2  # two refused attempts, then the third succeeds
        await bridge.restart()
        await until(lambda: node.reconnects == 1)
        await bridge.restart()  # a second drop starts again from the retry law
        await until(lambda: node.reconnects == 2)
        await node.close()
        await bridge.stop()
        return sleep.delays

    delays = run(scenario())
    unit = JitterSampler(0.0, 1.0, bytes(32))  # the transport's seed in these tests
    units = [unit.draw() for _ in delays]
    retry = PROFILE_V2.retry
    assert retry.base == 2.0 and retry.jitter == 1.0
    assert delays[0] == retry.base + retry.jitter * units[0]
    assert delays[1] == 3.0 * 2 * (0.5 + 0.5 * units[1])  # then bounded exponential backoff from retry.high
    assert delays[2] == 3.0 * 4 * (0.5 + 0.5 * units[2])
    assert delays[3] == retry.base + retry.jitter * units[3]
    assert len(delays) == 4
