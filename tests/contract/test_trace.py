"""Wire traces: one record per datagram in and out, hashed peers, causal links, JSON Lines; never a second sender."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from contract_rig import PING_FRAME, PONG_FRAME, peer, serve

from mule.clock import VirtualClock
from mule.contract.features import reply_delays, run_features
from mule.transport.interface import Datagram, SenderAlreadyClaimed, TransportError
from mule.transport.memory import MemoryHub
from mule.transport.trace import OBFUSCATED, TracedTransport, TraceRecord, TraceWriter, frame_opcode, read_trace


def traced_pair() -> tuple[TracedTransport, list[TraceRecord], VirtualClock, MemoryHub]:
    clock = VirtualClock(50.0)
    hub = MemoryHub()
    inner = hub.endpoint()
    asyncio.run(inner.open())
    records: list[TraceRecord] = []
    return TracedTransport(inner, clock, records.append, salt=bytes(16)), records, clock, hub


def test_the_wrapper_owns_the_inner_sender_and_hands_its_own_out_once() -> None:
    hub = MemoryHub()
    inner = hub.endpoint()
    traced = TracedTransport(inner, VirtualClock(), [].append)
    with pytest.raises(SenderAlreadyClaimed):
        inner.claim_sender()  # nobody can go around the trace
    traced.claim_sender()
    with pytest.raises(SenderAlreadyClaimed):
        traced.claim_sender()  # and only one owner (the shaper) can send through it


def test_records_carry_time_direction_hashed_peer_opcode_size_and_link() -> None:
    traced, records, clock, _hub = traced_pair()
    send = traced.claim_sender()
    traced.observe_inbound(Datagram(peer(1), PING_FRAME))
    traced.observe_inbound(Datagram(peer(2), PING_FRAME))
    clock.advance(1.0)
    send(peer(2), PONG_FRAME)
    send(peer(1), bytes((0x9A, 0x01, 0x02)) * 4)  # obfuscated: no visible opcode, no link
    send(peer(1), PONG_FRAME)
    assert [(r.t, r.dir, r.seq, r.op, r.size, r.cause) for r in records] == [
        (50.0, "in", 0, 0x1E, 2, None),
        (50.0, "in", 1, 0x1E, 2, None),
        (51.0, "out", 2, 0x1F, 2, 1),
        (51.0, "out", 3, OBFUSCATED, 12, None),
        (51.0, "out", 4, 0x1F, 2, 0),
    ]
    assert records[0].peer == records[4].peer != records[1].peer and len(records[0].peer) == 16
    assert peer(1).hex() not in "".join(r.peer for r in records)


def test_a_datagram_the_transport_refuses_is_not_traced() -> None:
    traced, records, _clock, _hub = traced_pair()
    send = traced.claim_sender()
    asyncio.run(traced.close())
    with pytest.raises(TransportError):
        send(peer(1), PONG_FRAME)
    assert records == []


def test_links_expire_after_imules_tracking_time() -> None:
    traced, records, clock, _hub = traced_pair()
    send = traced.claim_sender()
    traced.observe_inbound(Datagram(peer(1), PING_FRAME))
    clock.advance(181.0)
    send(peer(1), PONG_FRAME)
    assert records[-1].cause is None


def test_frame_opcode_reads_plain_and_packed_kad_frames() -> None:
    assert frame_opcode(bytes((0x05, 0x11, 0))) == 0x11
    assert frame_opcode(bytes((0x06, 0x13, 0))) == 0x13
    assert frame_opcode(bytes((0x77, 0x11))) == OBFUSCATED
    assert frame_opcode(b"\x05") == OBFUSCATED


def test_json_lines_round_trip(tmp_path: Path) -> None:
    records = serve(np.linspace(0.0, 10.0, 50), b"trace".ljust(32, b"."))
    path = tmp_path / "run.jsonl"
    with path.open("w", encoding="utf-8") as file:
        writer = TraceWriter(file, condition="idle")
        for record in records:
            writer(record)
    header, back = read_trace(path)
    assert header == {"format": "mule-wire-trace/1", "condition": "idle"}
    assert back == records
    assert reply_delays(back).size == 50 and run_features(back)["answered"] == 1.0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"format": "other"}\n')
    with pytest.raises(ValueError):
        read_trace(bad)
