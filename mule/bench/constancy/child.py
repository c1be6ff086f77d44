"""One run of one condition: a node on uvloop and the real clock in a process of its own, a probe in another.

``python -m mule.bench.constancy.child SPEC_JSON OUT_JSON``. The node under test is a
``NodeService`` alone in this process's event loop; its datagrams come and go on a loopback UDP socket
(``wire.py``), as production's come from i2pd's forwarding, through a ``TracedTransport``. The probe and the
flooders (``probe.py``) are forked before the loop is built and talk to it over that socket, each request from a
peer of its own (no per-peer limit, an exact causal link). A request's instant is the probe's ``send``, a reply's
the node's hand-off; both on CLOCK_MONOTONIC, which every process on the host shares. CPU affinity, the deployed
priority (taken as ``mule run`` takes it) and the leaky controls apply to the node's process only; a full table and
the user's lookups are set up here; CPU hogs are the parent's.
"""

from __future__ import annotations

import asyncio
import dataclasses
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
from mule.bench.constancy.forked import fork
from mule.bench.constancy.probe import BURST, ProbePlan, ProbeProcess
from mule.bench.constancy.wire import SocketTransport, socket_pair
from mule.clock import LoopClock
from mule.contract import WindowCap
from mule.contract.profile import PRODUCTION, PROFILE_V2, profile_for_tests
from mule.node.priority import take_deployed_priority
from mule.node.service import NodeService
from mule.transport.memory import random_destination
from mule.transport.release import ReleaseThread
from mule.transport.trace import TracedTransport, TraceRecord

NODE_PROFILE = profile_for_tests(base=PRODUCTION, global_send=WindowCap(1 << 20, 1.0), drain=0.0)
"""The production profile (law, deadline, queue, per-peer caps, upkeep, lookup slots), with the global send cap out of
the probe's way and no drain at the end of a run (nothing is measured after the last reply)."""
UPKEEP_PROFILE = profile_for_tests(base=PROFILE_V2, upkeep=PRODUCTION.upkeep, global_send=WindowCap(1 << 20, 1.0))
"""The long-lived upkeep nodes run V2 with the production upkeep law (no lookups): every unsolicited send is upkeep."""
DRAIN = NODE_PROFILE.max_delay + 0.2
"""After the last request, wait this long for the last replies."""
PROBE_LEAD = 0.25
"""Seconds from the node's go to the probe's first request: the probe builds its schedule meanwhile."""


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
    upkeep_only: bool = False
    start_at: float | None = None
    """Monotonic instant to start probing (two nodes on one host start together)."""
    extra: dict[str, object] = field(default_factory=dict)


def _fill(node: NodeService, count: int, rng: np.random.Generator, now: float) -> int:
    for _ in range(count):
        kad_id = int.from_bytes(rng.bytes(16), "big") or 1
        node.table.add(kad_id, random_destination(), 8, now, verified=True)
    return len(node.table.contacts())


def probe_plan(spec: Spec) -> ProbePlan | None:
    """What the probe sends in this run (``None``: an upkeep node, which nobody probes)."""
    if spec.upkeep_only:
        return None
    count = BURST + int(spec.rate * spec.duration * 1.2)
    destinations = [random_destination() for _ in range(count)]
    return ProbePlan(spec.seed + 1, spec.rate, spec.duration, destinations, spec.flood_peers, spec.flood_rate)


async def run(
    spec: Spec, transport: SocketTransport, plan: ProbePlan | None, probe: ProbeProcess | None
) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    clock = LoopClock(loop)
    rng = np.random.default_rng(spec.seed)
    node_records: list[TraceRecord] = []
    traced = TracedTransport(transport, clock, node_records.append)
    with tempfile.TemporaryDirectory(prefix="mule-constancy-") as data_dir:
        node = NodeService(traced, clock, Path(data_dir), UPKEEP_PROFILE if spec.upkeep_only else NODE_PROFILE)
        await node.start()
        contacts = _fill(node, spec.table, rng, clock.now()) if spec.table else len(node.table.contacts())
        start = max(clock.now() + PROBE_LEAD, spec.start_at or 0.0)
        end = start + spec.duration
        if probe is not None:
            probe.go(node.kad_id, start, end + DRAIN)
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
        counters = node.shaper.counters
        loop_late = int(np.count_nonzero(node.shaper.lateness.samples() > 0.0))
        await node.stop()  # closes the transport: the release thread has sent its last datagram
    node_records, lateness = handed_off(node_records, transport.handed_off())
    requested: dict[str, float] = {}
    if probe is not None and plan is not None:
        for destination, instant in zip(plan.destinations, probe.instants(), strict=True):
            if instant is not None:
                requested[traced.peer_hash(destination)] = instant
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
        "loop_late": loop_late,
        **samples(node_records, requested),
    }


def handed_off(records: list[TraceRecord], instants: list[tuple[int, float]]) -> tuple[list[TraceRecord], list[float]]:
    """The trace with each outbound record at the instant the release thread's send began (a record's ``t`` is
    the instant it aimed at), less the datagrams the kernel refused; and each hand-off's lateness against its aim.
    The n-th outbound record is the n-th datagram the thread was given (a refused hand-over leaves no record)."""
    measured = dict(instants)
    traced: list[TraceRecord] = []
    lateness: list[float] = []
    order = 0
    for record in records:
        if record.dir != "out":
            traced.append(record)
            continue
        instant = measured.get(order, -1.0)
        order += 1
        if instant >= 0.0:
            lateness.append(instant - record.t)
            traced.append(dataclasses.replace(record, t=instant))
    return traced, lateness


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
    node_end, probe_end = socket_pair()  # an upkeep node's probe end stays open, unread: its sends must not bounce
    plan = probe_plan(spec)
    probe = ProbeProcess(plan, probe_end) if plan is not None else None  # forked before any of the node's settings
    if spec.cpus:
        os.sched_setaffinity(0, spec.cpus)
    take_deployed_priority()  # as ``mule run`` does
    controls.apply(spec.control)
    started = time.monotonic()
    result = uvloop.run(run(spec, SocketTransport(node_end, ReleaseThread(record=True)), plan, probe))
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
            pids.append(fork(lambda spec=spec, out=out: main([spec, out])))
        codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
        print(json.dumps(codes), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(serve() if sys.argv[1:] == ["--serve"] else main(sys.argv[1:]))
