"""Wire traces: what the router, and so an observer, sees at the transport boundary, one JSON line per datagram.

``TracedTransport`` wraps a transport. It is not a second way out: it claims the inner
transport's sender once, at construction (so nothing else can), and the only way to its
own sending is its ``claim_sender``, which works exactly once, as on any transport (the
shaper takes it). Every datagram handed to the inner sender, and every datagram the node
takes from ``receive``, becomes a ``TraceRecord``; the format is documented in docs/shaper.md.

Peers are hashed with a per-trace salt, so a trace names no destination and two traces
cannot be joined on peers. The causal link of a reply is inferred by the trace itself,
so callers supply nothing: an outbound Kad response to a peer answers that peer's oldest
unanswered inbound request of the matching opcode (tracked for 180 s, iMule's request
tracking time); obfuscated datagrams carry no visible opcode and get no link.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from mule.clock import Clock
from mule.kad.opcodes import Op, Protocol
from mule.transport.interface import Datagram, Transport

if TYPE_CHECKING:
    from mule.transport.release import ReleaseStatus

TRACE_FORMAT = "mule-wire-trace/1"
OBFUSCATED = "obfuscated"
LINK_WINDOW = 180.0
"""Seconds an inbound request waits for its reply to be linked (iMule tracks its requests as long)."""

_REQUESTS_ANSWERED_BY: dict[int, frozenset[int]] = {
    Op.BOOTSTRAP_RES: frozenset({Op.BOOTSTRAP_REQ}),
    Op.HELLO_RES: frozenset({Op.HELLO_REQ}),
    Op.HELLO_RES_ACK: frozenset({Op.HELLO_RES}),
    Op.KADEMLIA_RES: frozenset({Op.KADEMLIA_REQ}),
    Op.SEARCH_RES: frozenset({Op.SEARCH_KEY_REQ, Op.SEARCH_SOURCE_REQ, Op.SEARCH_NOTES_REQ}),
    Op.PUBLISH_RES: frozenset({Op.PUBLISH_KEY_REQ, Op.PUBLISH_SOURCE_REQ, Op.PUBLISH_NOTES_REQ}),
    Op.PONG: frozenset({Op.PING}),
    Op.KAD1_BOOTSTRAP_RES: frozenset({Op.KAD1_BOOTSTRAP_REQ}),
    Op.KAD1_HELLO_RES: frozenset({Op.KAD1_HELLO_REQ}),
    Op.KAD1_RES: frozenset({Op.KAD1_REQ}),
    Op.KAD1_SEARCH_RES: frozenset({Op.KAD1_SEARCH_REQ, Op.KAD1_SEARCH_NOTES_REQ}),
    Op.KAD1_PUBLISH_RES: frozenset({Op.KAD1_PUBLISH_REQ, Op.KAD1_PUBLISH_NOTES_REQ}),
}
_KAD_FRAMES = frozenset({Protocol.KAD, Protocol.KAD_PACKED})


@dataclass(frozen=True, slots=True)
class TraceRecord:
    t: float
    """Monotonic seconds (the traced node's clock): taken from ``receive``, or the instant an outbound datagram
    is handed to the network (the shaper's ``at``: the hand-off itself, or the instant a release thread aims at;
    the constancy bench replaces the latter with the instant the thread measured)."""
    dir: str
    """``"in"`` or ``"out"``."""
    seq: int
    """Position in this trace (in and out share one counter)."""
    peer: str
    """The other side's destination, hashed with this trace's salt (16 hex digits)."""
    op: int | str
    """Byte 1 of a plain or packed Kad frame, or ``"obfuscated"``."""
    size: int
    """Datagram bytes (payload only; I2P adds the same envelope to every datagram)."""
    cause: int | None = None
    """For an outbound reply: ``seq`` of the inbound request it answers, if one is known."""


def frame_opcode(payload: bytes) -> int | str:
    """What an observer of the plaintext sees as the opcode: byte 1 of a Kad frame, else ``"obfuscated"``."""
    if len(payload) >= 2 and payload[0] in _KAD_FRAMES:
        return payload[1]
    return OBFUSCATED


class TracedTransport(Transport):
    __slots__ = ("_clock", "_inner", "_inner_send", "_pending", "_pending_order", "_salt", "_seq", "_sink")

    def __init__(
        self, inner: Transport, clock: Clock, sink: Callable[[TraceRecord], None], *, salt: bytes | None = None
    ) -> None:
        """``sink`` gets every record (``list.append``, a ``TraceWriter``); ``salt`` (tests) fixes peer hashes."""
        self._inner = inner
        self._inner_send = inner.claim_sender()  # the inner sender's one claim: only this wrapper holds it
        self._clock = clock
        self._sink = sink
        self._salt = os.urandom(16) if salt is None else salt
        self._seq = 0
        self._pending: dict[str, dict[int, tuple[int, float]]] = {}
        """Per hashed peer, its unanswered inbound requests: ``seq -> (opcode, time)`` in arrival order."""
        self._pending_order: deque[tuple[float, str, int]] = deque()

    @property
    def local_destination(self) -> bytes:
        return self._inner.local_destination

    @property
    def stream_destination(self) -> bytes:
        return self._inner.stream_destination

    async def open(self) -> None:
        await self._inner.open()

    async def close(self) -> None:
        await self._inner.close()

    async def receive(self) -> Datagram:
        datagram = await self._inner.receive()
        self.observe_inbound(datagram)
        return datagram

    def observe_inbound(self, datagram: Datagram) -> int:
        """Record an inbound datagram taken by the node; returns its ``seq``. ``receive`` calls it for every one
        (simulators that feed the node without ``receive`` call it themselves)."""
        now = self._clock.now()
        peer = self.peer_hash(datagram.source)
        op = frame_opcode(datagram.payload)
        seq = self._record(now, "in", peer, op, len(datagram.payload), None)
        if isinstance(op, int):
            self._pending.setdefault(peer, {})[seq] = (op, now)
            self._pending_order.append((now, peer, seq))
        return seq

    def peer_hash(self, destination: bytes) -> str:
        return hashlib.blake2b(destination, digest_size=8, key=self._salt).hexdigest()

    @property
    def release_lead(self) -> float:  # type: ignore[override]
        return self._inner.release_lead

    def release_status(self) -> ReleaseStatus | None:
        return self._inner.release_status()

    def _send_datagram(self, destination: bytes, payload: bytes, at: float | None = None) -> None:
        self._inner_send(destination, payload, at)  # a TransportError propagates: the router never saw it, no record
        now = self._clock.now() if at is None else at
        peer = self.peer_hash(destination)
        op = frame_opcode(payload)
        self._record(now, "out", peer, op, len(payload), self._answered(now, peer, op))

    def _record(self, now: float, direction: str, peer: str, op: int | str, size: int, cause: int | None) -> int:
        seq = self._seq
        self._seq += 1
        self._sink(TraceRecord(now, direction, seq, peer, op, size, cause))
        return seq

    def _answered(self, now: float, peer: str, op: int | str) -> int | None:
        self._forget_older_than(now - LINK_WINDOW)
        requests = _REQUESTS_ANSWERED_BY.get(op) if isinstance(op, int) else None
        pending = self._pending.get(peer)
        if not requests or not pending:
            return None
        for seq, (request, _at) in pending.items():
            if request in requests:
                del pending[seq]
                return seq
        return None

    def _forget_older_than(self, horizon: float) -> None:
        order = self._pending_order
        while order and order[0][0] < horizon:
            _at, peer, seq = order.popleft()
            pending = self._pending.get(peer)
            if pending is not None:
                pending.pop(seq, None)
                if not pending:
                    del self._pending[peer]


# --- JSON Lines -----------------------------------------------------------------------------------------------


class TraceWriter:
    """A sink that writes one JSON object per line after a header line ``{"format": "mule-wire-trace/1", ...}``."""

    __slots__ = ("_file",)

    def __init__(self, file: IO[str], **header: object) -> None:
        self._file = file
        file.write(json.dumps({"format": TRACE_FORMAT, **header}) + "\n")

    def __call__(self, record: TraceRecord) -> None:
        self._file.write(json.dumps(asdict(record), separators=(",", ":")) + "\n")


def read_trace(path: Path) -> tuple[dict[str, object], list[TraceRecord]]:
    """The header and the records of a trace file."""
    with path.open(encoding="utf-8") as file:
        lines: Iterator[str] = iter(file)
        header = json.loads(next(lines))
        if header.get("format") != TRACE_FORMAT:
            raise ValueError(f"not a {TRACE_FORMAT} file: {path}")
        return header, [TraceRecord(**json.loads(line)) for line in lines if line.strip()]
