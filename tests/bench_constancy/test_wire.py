"""The bench's rig: the node's loopback socket transport, the probe's schedule, and one short real run of a child
(the node in its process, the probe forked into another, talking over the socket)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path

import pytest

from mule.bench.constancy import child
from mule.bench.constancy.probe import BURST, BURST_GAP, ProbePlan, schedule
from mule.bench.constancy.wire import SocketTransport, frame, socket_pair, unframe
from mule.kad import messages
from mule.transport.interface import Datagram, SenderAlreadyClaimed
from mule.transport.memory import random_destination
from mule.transport.trace import TraceRecord


def test_the_socket_transport_round_trips_destinations_and_drops_what_holds_no_destination() -> None:
    source, destination = random_destination(), random_destination()

    async def scenario() -> tuple[Datagram, Datagram]:
        node_end, probe_end = socket_pair()
        transport = SocketTransport(node_end)
        await transport.open()
        send = transport.claim_sender()
        with pytest.raises(SenderAlreadyClaimed):
            transport.claim_sender()
        probe_end.send(b"\x00" * 100)  # too short for a destination: lost, like any malformed forwarded datagram
        probe_end.send(frame(source, b"request"))
        received = await asyncio.wait_for(transport.receive(), 5.0)
        send(destination, b"reply")
        probe_end.settimeout(5.0)
        replied = unframe(probe_end.recv(65536))
        await transport.close()
        probe_end.close()
        return received, replied

    received, replied = asyncio.run(scenario())
    assert received == Datagram(source, b"request")
    assert replied == Datagram(destination, b"reply")


def test_the_probe_sends_a_burst_then_poisson_arrivals_and_the_flood_pings() -> None:
    plan = ProbePlan(7, 400.0, 1.0, [random_destination() for _ in range(BURST + 480)], 50, 200.0)
    events = schedule(plan, 1, 100.0)
    probes = [(at, index) for at, index, _ in events if index >= 0]
    flood = [(at, datagram) for at, index, datagram in events if index < 0]
    assert [index for _, index in probes[:BURST]] == list(range(BURST))
    assert all(at == 100.0 for at, _ in probes[:BURST])
    poisson = [at for at, _ in probes[BURST:]]
    assert all(100.0 + BURST_GAP < at < 101.0 for at in poisson)
    assert 400 * 0.9 * 0.8 < len(poisson) < 400 * 0.9 * 1.2  # Poisson(360): far outside +-20 % never happens
    assert 200 * 0.8 < len(flood) < 200 * 1.2
    assert all(datagram.endswith(messages.Ping().encode()) for _, datagram in flood)
    assert len({unframe(datagram).source for _, datagram in flood}) <= 50
    assert [at for at, _, _ in events] == sorted(at for at, _, _ in events)


def test_a_short_real_run_links_a_reply_with_a_positive_delay_to_every_request(tmp_path: Path) -> None:
    spec = child.Spec("idle", 0, 11, duration=0.3, rate=200.0)
    out = tmp_path / "run.json"
    assert child.main([json.dumps(asdict(spec)), str(out)]) == 0
    run = json.loads(out.read_text(encoding="utf-8"))
    assert run["requests"] > BURST
    assert len(run["delays"]) == run["requests"]  # each request answered, each reply linked to its request
    assert len(set(run["burst_replies"])) == BURST
    assert min(run["delays"]) > 0
    # Every reply left from the release thread, none before its instant.
    assert len(run["lateness"]) >= len(run["sent"]) and min(run["lateness"]) >= 0.0


def test_the_trace_takes_the_instants_the_release_thread_measured_and_loses_what_the_kernel_refused() -> None:
    def record(t: float, direction: str, seq: int) -> TraceRecord:
        return TraceRecord(t, direction, seq, "peer", 0x00, 10, None)

    records = [record(1.0, "in", 0), record(2.0, "out", 1), record(3.0, "out", 2), record(4.0, "out", 3)]
    traced, lateness = child.handed_off(records, [(0, 2.00001), (1, -1.0), (2, 4.00002)])
    assert [(r.dir, r.seq, r.t) for r in traced] == [("in", 0, 1.0), ("out", 1, 2.00001), ("out", 3, 4.00002)]
    assert lateness == pytest.approx([0.00001, 0.00002])
