"""One run of one condition, in a process of its own: a node on uvloop and the real clock, a probe, a wire trace.

``python -m mule.bench.constancy.child SPEC_JSON OUT_JSON``. The node under test is a
``NodeService`` on an in-memory hub, wrapped in a ``TracedTransport``. The probe is a set of
peers of its own (one request each, so no per-peer limit and an exact causal link), each
sending through its own shaper with a near-zero delay, also traced: a request's instant is its
hand-off to the hub, which delivers it at once, and a reply's instant is the node's hand-off.
Both are on this host's monotonic clock, which every process shares. Flood peers, a full
table, CPU affinity and the leaky controls are set up here; CPU hogs are the parent's.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import uvloop

from mule._core import IMPLEMENTATION
from mule.bench.constancy import controls
from mule.clock import LoopClock
from mule.contract import Kind, WindowCap
from mule.contract.profile import PRODUCTION, PROFILE_V2, DelayLaw, profile_for_tests
from mule.kad import messages
from mule.kad.opcodes import RequestType
from mule.node.service import NodeService
from mule.shaper import Shaper
from mule.transport.memory import MemoryHub, random_destination
from mule.transport.trace import TracedTransport, TraceRecord

NODE_PROFILE = profile_for_tests(base=PRODUCTION, global_send=WindowCap(1 << 20, 1.0), drain=0.0)
"""The production profile (law, deadline, queue, per-peer caps, upkeep, lookup slots), with the global send cap out of
the probe's way and no drain at the end of a run (nothing is measured after the last reply)."""
UPKEEP_PROFILE = profile_for_tests(base=PROFILE_V2, upkeep=PRODUCTION.upkeep, global_send=WindowCap(1 << 20, 1.0))
"""The long-lived upkeep nodes run V2 with the production upkeep law (no lookups): every unsolicited send is upkeep."""
PEER_PROFILE = profile_for_tests(
    delay=DelayLaw(0.0, 1e-6),
    deadline_slack=10.0,
    sketch_width=1,
    sketch_depth=1,
    lateness_samples=1,
)
"""The probe's and flooders' shapers: hand off at once (the instant is traced, so their own lateness is harmless)."""
DRAIN = NODE_PROFILE.max_delay + 0.2
"""After the last request, wait this long for the last replies."""
BURST = 64
"""Requests sent in one go at the start of a run, to see whether replies keep their order."""
REQUEST_KINDS = ("ping", "kademlia", "bootstrap")


@dataclass(slots=True)
class Spec:
    condition: str
    run: int
    seed: int
    duration: float = 3.0
    rate: float = 600.0
    table: int = 0
    flood_peers: int = 0
    flood_rate: float = 0.0
    lookups: float = 0.0
    """User keyword searches started per second (the client role), each on a fresh random keyword."""
    control: str | None = None
    cpus: list[int] | None = None
    nice: int | None = None
    """Run the node at this niceness (a condition measuring the deployment unit's ``Nice=``)."""
    upkeep_only: bool = False
    start_at: float | None = None
    """Monotonic instant to start probing (two nodes on one host start together)."""
    extra: dict[str, object] = field(default_factory=dict)


def _request(kind: str, node_id: int, rng: np.random.Generator) -> bytes:
    if kind == "ping":
        return messages.Ping().encode()
    if kind == "bootstrap":
        return messages.BootstrapReq().encode()
    target = int.from_bytes(rng.bytes(16), "big") or 1
    return messages.KademliaReq(RequestType.FIND_NODE, target, node_id).encode()


def _fill(node: NodeService, count: int, rng: np.random.Generator, now: float) -> int:
    for _ in range(count):
        kad_id = int.from_bytes(rng.bytes(16), "big") or 1
        node.table.add(kad_id, random_destination(), 8, now, verified=True)
    return len(node.table.contacts())


class PeerClock(LoopClock):
    """The probe's and flooders' clock: hands off on whatever wake-up comes. Their instants are traced at hand-off,
    so how late they are costs nothing, and deferring a late one would only load the loop the node shares."""

    __slots__ = ()

    def retry_at(self, aim: float) -> float | None:
        return None


class Peers:
    """Peers that each send through a shaper of their own, as any correct sender must."""

    def __init__(self, hub: MemoryHub, clock: PeerClock) -> None:
        self._hub = hub
        self._clock = clock

    async def make(self, count: int, sink_for: object = None) -> list[tuple[bytes, Shaper]]:
        made = []
        for _ in range(count):
            transport = self._hub.endpoint()
            await transport.open()
            made.append((transport.local_destination, transport))
        return [(destination, self._shaper(transport, sink_for)) for destination, transport in made]

    def _shaper(self, transport: object, sink_for: object) -> Shaper:
        if sink_for is None:
            return Shaper(transport, self._clock, PEER_PROFILE)  # type: ignore[arg-type]
        traced = TracedTransport(transport, self._clock, sink_for(transport.local_destination))  # type: ignore[attr-defined,operator]
        return Shaper(traced, self._clock, PEER_PROFILE)


async def run(spec: Spec) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    clock = LoopClock(loop)
    rng = np.random.default_rng(spec.seed)
    hub = MemoryHub()
    salt = os.urandom(16)
    node_records: list[TraceRecord] = []
    traced = TracedTransport(hub.endpoint(), clock, node_records.append, salt=salt)
    with tempfile.TemporaryDirectory(prefix="mule-constancy-") as data_dir:
        node = NodeService(traced, clock, Path(data_dir), UPKEEP_PROFILE if spec.upkeep_only else NODE_PROFILE)
        await node.start()
        contacts = _fill(node, spec.table, rng, clock.now()) if spec.table else len(node.table.contacts())
        peers = Peers(hub, PeerClock(loop))
        requested: dict[str, float] = {}

        def sink_for(destination: bytes) -> object:
            key = traced.peer_hash(destination)
            return lambda record: requested.__setitem__(key, record.t)

        count = 0 if spec.upkeep_only else BURST + int(spec.rate * spec.duration * 1.2)
        probe = await peers.make(count, sink_for)
        flood = await peers.make(spec.flood_peers)
        node_dest = traced.local_destination
        kinds = rng.choice(len(REQUEST_KINDS), size=count)
        payloads = [_request(REQUEST_KINDS[k], node.kad_id, rng) for k in kinds]
        ping = messages.Ping().encode()

        start = max(clock.now() + 0.05, spec.start_at or 0.0)
        end = start + spec.duration
        if not spec.upkeep_only:
            for index in range(BURST):
                clock.call_at(start, lambda i=index: probe[i][1].submit(node_dest, payloads[i], Kind.REQUEST))
            at = start + 0.1
            for index in range(BURST, count):
                at += rng.exponential(1.0 / spec.rate)
                if at >= end:
                    break
                clock.call_at(at, lambda i=index: probe[i][1].submit(node_dest, payloads[i], Kind.REQUEST))
        if flood:
            at = start
            index = 0
            while True:
                at += rng.exponential(1.0 / spec.flood_rate)
                if at >= end:
                    break
                shaper = flood[index % len(flood)][1]
                clock.call_at(at, lambda s=shaper: s.submit(node_dest, ping, Kind.REQUEST))
                index += 1
        if spec.lookups:
            at = start
            while True:
                at += rng.exponential(1.0 / spec.lookups)
                if at >= end:
                    break
                keyword = rng.bytes(6).hex()
                clock.call_at(at, lambda k=keyword: node.search_keywords(k))
        stop_file = spec.extra.get("stop_file")
        if spec.upkeep_only and isinstance(stop_file, str):
            while not Path(stop_file).exists():  # lives as long as the whole measurement
                await asyncio.sleep(0.5)
            end = clock.now()
        await asyncio.sleep(max(0.0, end + DRAIN - clock.now()))
        lateness = node.shaper.lateness.samples()
        counters = node.shaper.counters
        await node.stop()
    return {
        "condition": spec.condition,
        "run": spec.run,
        "block": spec.extra.get("block", spec.run),
        "control": spec.control,
        "implementation": IMPLEMENTATION,
        "cpus": sorted(os.sched_getaffinity(0)),
        "loadavg": os.getloadavg()[0],
        "contacts": contacts,
        "start": start,
        "end": end,
        "expired": counters.expired,
        "lateness": [round(float(x), 7) for x in lateness],
        **samples(node_records, requested),
    }


def samples(records: list[TraceRecord], requested: dict[str, float]) -> dict[str, object]:
    """The raw samples the analysis needs, from the node's trace and the probe's request instants."""
    inbound = {r.seq: r for r in records if r.dir == "in"}
    probe_in = [r for r in records if r.dir == "in" and r.peer in requested]
    delays, ops, sent, sizes, causes = [], [], [], [], []
    upkeep_t, upkeep_op = [], []
    for record in records:
        if record.dir != "out":
            continue
        request = inbound.get(record.cause) if record.cause is not None else None
        if request is not None and request.peer in requested:
            delays.append(round(record.t - requested[request.peer], 7))
            ops.append(record.op)
            sent.append(round(record.t, 7))
            sizes.append(record.size)
            causes.append(request.seq)
        elif record.cause is None:
            upkeep_t.append(round(record.t, 7))
            upkeep_op.append(record.op)
    burst = sorted(r.seq for r in probe_in)[:BURST]
    burst_set = set(burst)
    burst_order = [c for c in causes if c in burst_set]
    return {
        "requests": len(probe_in),
        "delays": delays,
        "ops": ops,
        "sent": sent,
        "sizes": sizes,
        "burst_requests": burst,
        "burst_replies": burst_order,
        "upkeep_t": upkeep_t,
        "upkeep_op": upkeep_op,
        "intake": [round(r.t - requested[r.peer], 7) for r in probe_in[:2000]],
    }


def main(argv: list[str]) -> int:
    spec = Spec(**json.loads(argv[0]))
    if spec.cpus:
        os.sched_setaffinity(0, spec.cpus)
    if spec.nice is not None:
        os.setpriority(os.PRIO_PROCESS, 0, spec.nice)
    controls.apply(spec.control)
    started = time.monotonic()
    result = uvloop.run(run(spec))
    result["wall"] = time.monotonic() - started
    Path(argv[1]).write_text(json.dumps(result), encoding="utf-8")
    return 0


def serve() -> int:
    """A fork server: everything above is imported once, then each line on stdin (a JSON list of ``[spec, out]``)
    is run as forked children at once (two nodes on one host are one line), and one line of their exit codes is
    written back. A run then costs no interpreter start-up or imports, which under CPU hogs took seconds."""
    for line in sys.stdin:
        pids = []
        for spec, out in json.loads(line):
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    code = main([spec, out])
                finally:
                    sys.stderr.flush()
                    os._exit(code)
            pids.append(pid)
        codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
        print(json.dumps(codes), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(serve() if sys.argv[1:] == ["--serve"] else main(sys.argv[1:]))
