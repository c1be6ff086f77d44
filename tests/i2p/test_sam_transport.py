"""The SAM transport through the scripted bridge: both datagram paths both ways, the largest datagram,
a router that drops the session (reconnect with the same destination), and a clean shutdown."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from fake_bridge import FakeBridge, RecordedSleep, Run, sam_transport, until

from mule.contract import PROFILE_V2
from mule.i2p.sam_client import SESSION_COMMAND_LIMIT
from mule.i2p.sam_protocol import datagram_send_command
from mule.i2p.session import DatagramPath
from mule.i2p.transport import MAX_DATAGRAM_BYTES, ReconnectPolicy
from mule.transport.interface import Datagram, TransportError
from mule.transport.release import LEAD, ReleaseStatus

PATHS = pytest.mark.parametrize("path", list(DatagramPath))
DSA_DEST_B64_CHARS = 516


def _largest_for(path: DatagramPath) -> int:
    """The UDP path carries iMule's largest; the TCP path what fits i2pd's 8 KiB session buffer."""
    if path is DatagramPath.UDP:
        return MAX_DATAGRAM_BYTES
    header = len(datagram_send_command("x" * DSA_DEST_B64_CHARS, bytes(8000))) - 8000
    return SESSION_COMMAND_LIMIT - header


@PATHS
def test_datagrams_flow_both_ways_including_the_largest(run: Run, tmp_path: Path, path: DatagramPath) -> None:
    largest = _largest_for(path)

    async def scenario() -> tuple[list[Datagram], list[Datagram], bytes, bytes]:
        bridge = await FakeBridge().start()
        alice = sam_transport(bridge, tmp_path / "alice", path)
        bob = sam_transport(bridge, tmp_path / "bob", path)
        (tmp_path / "alice").mkdir()
        (tmp_path / "bob").mkdir()
        await alice.open()
        await bob.open()
        to_bob, to_alice = alice.claim_sender(), bob.claim_sender()
        payloads = [bytes([i]) * (i + 1) for i in range(100)] + [b"\n" * largest]
        at_bob, at_alice = [], []
        for payload in payloads:  # paced like the shaper paces: a burst would overrun loopback UDP buffers
            to_bob(bob.local_destination, payload)
            to_alice(alice.local_destination, payload)
            at_bob.append(await bob.receive())
            at_alice.append(await alice.receive())
        await alice.close()
        await bob.close()
        await bridge.stop()
        return at_bob, at_alice, alice.local_destination, bob.local_destination

    at_bob, at_alice, alice, bob = run(scenario())
    assert [d.source for d in at_bob] == [alice] * 101 and [d.source for d in at_alice] == [bob] * 101
    assert sorted(len(d.payload) for d in at_bob) == [*range(1, 101), largest]
    assert {d.payload for d in at_alice} == {d.payload for d in at_bob}


def test_the_tcp_path_refuses_what_would_overflow_the_bridges_session_buffer(run: Run, tmp_path: Path) -> None:
    fits = _largest_for(DatagramPath.TCP)

    async def scenario() -> list[Datagram]:
        bridge = await FakeBridge().start()
        transport = sam_transport(bridge, tmp_path, DatagramPath.TCP)
        await transport.open()
        send = transport.claim_sender()
        with pytest.raises(TransportError, match="exceeds 8192"):
            send(transport.local_destination, bytes(fits + 1))
        send(transport.local_destination, bytes(fits))  # the session is still fine
        received = [await transport.receive()]
        await transport.close()
        await bridge.stop()
        return received

    assert [len(d.payload) for d in run(scenario())] == [fits]


@PATHS
def test_an_oversized_datagram_is_refused_as_congestion(run: Run, tmp_path: Path, path: DatagramPath) -> None:
    async def scenario() -> None:
        bridge = await FakeBridge().start()
        transport = sam_transport(bridge, tmp_path, path)
        await transport.open()
        send = transport.claim_sender()
        with pytest.raises(TransportError, match="exceeds"):
            send(transport.local_destination, bytes(MAX_DATAGRAM_BYTES + 1))
        await transport.close()
        await bridge.stop()

    run(scenario())


@PATHS
def test_router_restart_recreates_the_session_with_the_same_destination(
    run: Run, tmp_path: Path, path: DatagramPath
) -> None:
    sleep = RecordedSleep()

    async def scenario() -> tuple[list[str], bytes, bytes]:
        bridge = await FakeBridge().start()
        transport = sam_transport(bridge, tmp_path, path, sleep)
        peer = sam_transport(bridge, tmp_path / "peer", path)
        (tmp_path / "peer").mkdir()
        await transport.open()
        before = transport.local_destination
        send = transport.claim_sender()
        bridge.refuse_connections = 3  # the restarting router turns the first attempts away
        await bridge.restart()
        await until(lambda: not transport.is_up)
        with pytest.raises(TransportError):
            send(before, b"while down")  # refused, not queued: the shaper counts it as congestion
        await until(lambda: transport.is_up)
        await peer.open()
        send(peer.local_destination, b"after restart")
        received = await peer.receive()
        assert received == Datagram(before, b"after restart")
        creates = [line for line in bridge.commands if line.startswith("SESSION CREATE")]
        after = transport.local_destination
        await transport.close()
        await peer.close()
        await bridge.stop()
        return creates, before, after

    creates, before, after = run(scenario())
    assert before == after
    own = [line.partition(" HOST=")[0] for line in creates if "ID=mule-" in line][:2]
    assert len(own) == 2 and own[0] == own[1]  # same ID, DESTINATION and options (the UDP port is new)
    assert len(sleep.delays) == 4  # three refused attempts, then success
    assert PROFILE_V2.retry.base <= sleep.delays[0] <= PROFILE_V2.retry.high
    for attempt, delay in enumerate(sleep.delays[1:], 1):
        step = PROFILE_V2.retry.high * 2**attempt
        assert step / 2 <= delay <= step


def test_a_reconnect_that_the_router_refuses_keeps_trying(run: Run, tmp_path: Path) -> None:
    sleep = RecordedSleep()

    async def scenario() -> int:
        bridge = await FakeBridge().start()
        transport = sam_transport(bridge, tmp_path, DatagramPath.TCP, sleep)
        await transport.open()
        bridge.play("SESSION", "CREATE", b"SESSION STATUS RESULT=I2P_ERROR MESSAGE=busy\n", hang_up=True)
        bridge.play("SESSION", "CREATE", b"SESSION STATUS RESULT=DUPLICATED_ID\n", hang_up=True)
        await bridge.restart()
        await until(lambda: transport.reconnects == 1)
        await transport.close()
        await bridge.stop()
        return len(sleep.delays)

    assert run(scenario()) == 3


def test_close_ends_the_session_and_keys_are_reused_next_time(run: Run, tmp_path: Path) -> None:
    async def scenario() -> tuple[bytes, bytes, int]:
        bridge = await FakeBridge().start()
        first = sam_transport(bridge, tmp_path, DatagramPath.UDP)
        await first.open()
        await first.close()
        await until(lambda: not bridge.sessions)
        second = sam_transport(bridge, tmp_path, DatagramPath.UDP)
        await second.open()
        generated = sum(line.startswith("DEST GENERATE") for line in bridge.commands)
        await second.close()
        await bridge.stop()
        return first.local_destination, second.local_destination, generated

    first, second, generated = run(scenario())
    assert first == second and generated == 2  # the datagram and the stream destination, once each


def test_open_fails_loudly_when_the_router_refuses(run: Run, tmp_path: Path) -> None:
    async def scenario() -> None:
        bridge = await FakeBridge().start()
        bridge.play("SESSION", "CREATE", b"SESSION STATUS RESULT=INVALID_KEY\n", hang_up=True)
        transport = sam_transport(bridge, tmp_path, DatagramPath.UDP)
        from mule.i2p.errors import SamError

        with pytest.raises(SamError, match="INVALID_KEY"):
            await transport.open()
        send = transport.claim_sender()
        with pytest.raises(TransportError):
            send(bytes(387), b"x")
        await bridge.stop()

    run(scenario())


def test_forwarded_datagrams_from_anyone_but_the_bridge_are_ignored(run: Run, tmp_path: Path) -> None:
    async def scenario() -> int:
        bridge = await FakeBridge().start()
        transport = sam_transport(bridge, tmp_path, DatagramPath.UDP)
        await transport.open()
        session = next(iter(bridge.sessions.values()))
        assert session.forward is not None
        loop = asyncio.get_running_loop()
        stranger, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.2", 0))
        stranger.sendto(b"AAAA\nforged", session.forward)
        await asyncio.sleep(0.02)
        stranger.close()
        pending = transport._inbox.qsize()
        await transport.close()
        await bridge.stop()
        return pending

    assert run(scenario()) == 0


def test_backoff_starts_with_the_retry_law_then_is_bounded_and_jittered() -> None:
    policy = ReconnectPolicy()
    assert policy.first == PROFILE_V2.retry
    assert policy.delay(0, 0.0) == 2.0 and policy.delay(0, 1.0) == 3.0  # V1: 2 s + uniform 1 s
    assert policy.delay(1, 0.0) == 3.0 and policy.delay(1, 1.0) == 6.0
    assert policy.delay(3, 0.5) == 18.0
    assert policy.delay(1000, 1.0) == 60.0 and policy.delay(1000, 0.0) == 30.0


def test_datagrams_with_a_malformed_sender_or_header_are_dropped(run: Run, tmp_path: Path) -> None:
    async def scenario() -> tuple[int, int]:
        bridge = await FakeBridge().start()
        (tmp_path / "tcp").mkdir()
        over_tcp = sam_transport(bridge, tmp_path / "tcp", DatagramPath.TCP)
        over_udp = sam_transport(bridge, tmp_path, DatagramPath.UDP)
        await over_tcp.open()
        await over_udp.open()
        tcp_session = next(s for s in bridge.sessions.values() if s.forward is None)
        tcp_session.writer.write(b"DATAGRAM RECEIVED DESTINATION=not!base64 SIZE=1\nx")
        udp_session = next(s for s in bridge.sessions.values() if s.forward is not None)
        assert udp_session.forward is not None
        loop = asyncio.get_running_loop()
        local, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
        local.sendto(b"no header line", udp_session.forward)
        local.sendto(b"not!base64\npayload", udp_session.forward)
        await asyncio.sleep(0.02)
        local.close()
        pending = (over_tcp._inbox.qsize(), over_udp._inbox.qsize())
        assert over_tcp.is_up and over_udp.is_up
        await over_tcp.close()
        await over_udp.close()
        await bridge.stop()
        return pending

    assert run(scenario()) == (0, 0)


def test_the_udp_path_releases_each_datagram_at_its_instant_from_the_release_thread(run: Run, tmp_path: Path) -> None:
    async def scenario() -> tuple[list[tuple[float, float]], ReleaseStatus | None]:
        bridge = await FakeBridge().start()
        arrivals: list[tuple[float, bytes]] = []
        original = bridge._udp_received
        bridge._udp_received = lambda data: (arrivals.append((time.monotonic(), data)), original(data))  # type: ignore[method-assign]
        transport = sam_transport(bridge, tmp_path, DatagramPath.UDP)
        await transport.open()
        send = transport.claim_sender()
        start = time.monotonic() + LEAD
        aims = {b"p%d" % index: start + 0.002 * (5 - index) for index in range(5)}  # handed over latest first
        for payload, at in aims.items():
            send(transport.local_destination, payload, at)
        for _ in aims:
            await transport.receive()
        # The pure twin's helper process reports each send to this process after making it: the echo can come
        # back before the last report does. Its status counts the send a moment later.
        deadline = time.monotonic() + 5.0
        while (status := transport.release_status()) is not None and status.samples < len(aims):
            assert time.monotonic() < deadline, status
            await asyncio.sleep(0.01)
        await transport.close()
        await bridge.stop()
        return [(aims[data.rpartition(b"\n")[2]], arrived) for arrived, data in arrivals], status

    pairs, status = run(scenario())
    assert status is not None and (status.samples, status.refused) == (5, 0)  # what `mule status` shows
    assert 0.0 <= status.lateness_p50 <= status.lateness_p99 <= status.lateness_max
    assert len(pairs) == 5
    assert [aim for aim, _ in pairs] == sorted(aim for aim, _ in pairs)  # they left in instant order ...
    assert all(arrived >= aim for aim, arrived in pairs)  # ... none before its instant


@pytest.mark.parametrize(("path", "lead"), [(DatagramPath.UDP, LEAD), (DatagramPath.TCP, 0.0)])
def test_only_the_udp_path_asks_the_shaper_for_a_lead(tmp_path: Path, path: DatagramPath, lead: float) -> None:
    assert sam_transport(FakeBridge(), tmp_path, path).release_lead == lead


def test_the_tcp_path_has_no_release_thread_to_report(run: Run, tmp_path: Path) -> None:
    async def scenario() -> ReleaseStatus | None:
        bridge = await FakeBridge().start()
        transport = sam_transport(bridge, tmp_path, DatagramPath.TCP)
        await transport.open()
        status = transport.release_status()
        await transport.close()
        await bridge.stop()
        return status

    assert run(scenario()) is None
