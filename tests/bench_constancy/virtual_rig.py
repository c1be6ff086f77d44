"""Runs shaped like the bench's children, on the virtual clock: requests from peers of their own, replies through
a shaper (correct, or one of the bench's leaky controls), the wire traced, samples built by the child's own code."""

from __future__ import annotations

import asyncio

import numpy as np

from mule.bench.constancy.child import BURST, samples
from mule.clock import VirtualClock
from mule.contract import Kind, WindowCap
from mule.contract.profile import KADEMLIA2_REQ, PING, profile_for_tests
from mule.kad.opcodes import Op
from mule.shaper import Shaper
from mule.transport.interface import Datagram
from mule.transport.memory import MemoryHub
from mule.transport.trace import TracedTransport, TraceRecord

PROFILE = profile_for_tests(
    global_send=WindowCap(1 << 30, 1.0),
    inbound={PING: WindowCap(1 << 20, 1.0), KADEMLIA2_REQ: WindowCap(1 << 20, 1.0)},
)
"""V2's law and deadline; caps out of the way, as the bench's node has them (one request per peer)."""
REQUESTS = {
    PING: (bytes((0x05, PING)), bytes((0x05, Op.PONG))),
    KADEMLIA2_REQ: (bytes((0x05, 0x11)), bytes((0x05, Op.KADEMLIA_RES)) + bytes(40)),
}


def run(shaper_class: type[Shaper], seed: int, *, requests: int = 1500, rate: float = 600.0) -> dict[str, object]:
    """One run: a burst of ``BURST`` requests, then Poisson arrivals; the samples a child would report."""
    rng = np.random.default_rng(seed)
    clock = VirtualClock(1000.0 + rng.uniform(0.0, 1.0))
    hub = MemoryHub()
    node = hub.endpoint()
    asyncio.run(node.open())
    records: list[TraceRecord] = []
    traced = TracedTransport(node, clock, records.append)
    shaper = shaper_class(traced, clock, PROFILE, seed=rng.bytes(32))
    requested: dict[str, float] = {}
    start = clock.now()
    arrivals = np.concatenate([np.full(BURST, start), start + 0.1 + np.cumsum(rng.exponential(1.0 / rate, requests))])
    for index, at in enumerate(arrivals.tolist()):
        clock.advance_to(max(at, clock.now()))
        source = index.to_bytes(4, "little") + seed.to_bytes(4, "little") + b"-peer"
        opcode = PING if rng.random() < 0.5 else KADEMLIA2_REQ
        request, reply = REQUESTS[opcode]
        traced.observe_inbound(Datagram(source, request))
        requested[traced.peer_hash(source)] = clock.now()
        if shaper.admit(source, opcode):
            shaper.submit(source, reply, Kind.RESPONSE)
    end = clock.now()
    clock.advance(PROFILE.max_delay + 1.0)
    result = samples(records, requested)
    return {
        "condition": shaper_class.__name__,
        "block": seed,
        "start": start,
        "end": end,
        "implementation": "virtual",
        "contacts": 0,
        "loadavg": 0.0,
        "expired": shaper.counters.expired,
        "lateness": shaper.lateness.samples().tolist(),
        **result,
    }


def runs(shaper_class: type[Shaper], seeds: range, **kwargs: object) -> list[dict[str, object]]:
    return [run(shaper_class, seed, **kwargs) for seed in seeds]  # type: ignore[arg-type]
