"""The probe and the flooders: a process of their own that talks to the node over the bench's loopback socket.

A deployed node carries no observer in its loop, so the probe runs apart: forked by the node's child before that
builds its event loop (no shared loop, no shared GIL), at the default priority and on any core. It waits for the
node's go (its Kad ID, the instant to start, the instant to stop listening), then sends a burst of ``BURST``
requests, then Poisson arrivals at the run's rate (PING, KADEMLIA2_REQ FIND_NODE, BOOTSTRAP_REQ), each from a
destination of its own, and the flood peers' PINGs, straight to the socket, taking the replies queued meanwhile each
time it wakes to send. A request's instant is ``time.monotonic()`` just before its ``send``: CLOCK_MONOTONIC, which
the node's trace reads too. It ships the instants back in request order (``None`` for one not sent), and the node's
child matches them to its trace through the destinations both processes hold since the fork.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass

import numpy as np

from mule.bench.constancy.forked import fork
from mule.bench.constancy.wire import frame
from mule.kad import messages
from mule.kad.opcodes import RequestType
from mule.transport.memory import random_destination

BURST = 64
"""Requests sent in one go at the start of a run, to see whether replies keep their order."""
BURST_GAP = 0.1
"""Seconds between the burst and the first Poisson request."""
REQUEST_KINDS = ("ping", "kademlia", "bootstrap")
RECEIVE_BYTES = 65536
LISTEN_STEP = 0.05
"""Seconds between takes of the replies once the last request is sent."""


@dataclass(frozen=True, slots=True)
class ProbePlan:
    seed: int
    rate: float
    duration: float
    destinations: list[bytes]
    """One per request (the probe's peers): made before the fork, so the node's child can hash them too."""
    flood_peers: int = 0
    flood_rate: float = 0.0


def request(kind: str, node_id: int, rng: np.random.Generator) -> bytes:
    if kind == "ping":
        return messages.Ping().encode()
    if kind == "bootstrap":
        return messages.BootstrapReq().encode()
    target = int.from_bytes(rng.bytes(16), "big") or 1
    return messages.KademliaReq(RequestType.FIND_NODE, target, node_id).encode()


def schedule(plan: ProbePlan, kad_id: int, start: float) -> list[tuple[float, int, bytes]]:
    """Every datagram to send, in order: ``(instant, request index or -1 for a flood PING, datagram)``."""
    rng = np.random.default_rng(plan.seed)
    end = start + plan.duration
    count = len(plan.destinations)
    kinds = rng.choice(len(REQUEST_KINDS), size=count)
    instants = [start] * min(BURST, count)
    at = start + BURST_GAP
    while len(instants) < count:
        at += rng.exponential(1.0 / plan.rate)
        if at >= end:
            break
        instants.append(at)
    events = [
        (at, index, frame(plan.destinations[index], request(REQUEST_KINDS[kinds[index]], kad_id, rng)))
        for index, at in enumerate(instants)
    ]
    if plan.flood_peers:
        flood = [random_destination() for _ in range(plan.flood_peers)]
        ping = messages.Ping().encode()
        at = start
        index = 0
        while True:
            at += rng.exponential(1.0 / plan.flood_rate)
            if at >= end:
                break
            events.append((at, -1, frame(flood[index % len(flood)], ping)))
            index += 1
    events.sort(key=lambda event: event[0])  # stable: the burst keeps its order
    return events


def probe(sock: socket.socket, events: list[tuple[float, int, bytes]], count: int, until: float) -> list[float | None]:
    """Send ``events`` on time; listen until ``until``. Returns the send instants.

    The probe wakes only to send (and every ``LISTEN_STEP`` at the end), taking the replies queued meanwhile: a
    wake-up per reply would double its wake-ups, each a chance to take a CPU the node is waiting for."""
    sock.setblocking(False)
    sent: list[float | None] = [None] * count
    for at, index, datagram in events:
        _sleep_until(at)
        _drain(sock)
        instant = time.monotonic()  # before the send: the send wakes the node, which may take this CPU at once
        try:
            sock.send(datagram)
        except OSError:  # the node's socket is full or gone: the datagram is lost, as on I2P
            continue
        if index >= 0:
            sent[index] = instant
    while time.monotonic() < until:
        _sleep_until(min(until, time.monotonic() + LISTEN_STEP))
        _drain(sock)
    return sent


def _sleep_until(instant: float) -> None:
    wait = instant - time.monotonic()
    if wait > 0:
        time.sleep(wait)


def _drain(sock: socket.socket) -> None:
    while True:
        try:
            sock.recv(RECEIVE_BYTES)
        except (BlockingIOError, ConnectionRefusedError):
            return


class ProbeProcess:
    """A forked probe: ``go`` once the node is up, then ``instants`` when the run is over."""

    def __init__(self, plan: ProbePlan, sock: socket.socket) -> None:
        """Fork now (before the caller builds an event loop or changes its priority); ``sock`` is the probe's end."""
        go_read, self._go = os.pipe()
        self._results, results_write = os.pipe()

        def work() -> int:
            os.close(self._go)
            os.close(self._results)
            _serve(plan, sock, go_read, results_write)
            return 0

        self._pid = fork(work)
        os.close(go_read)
        os.close(results_write)
        sock.close()

    def go(self, kad_id: int, start: float, until: float) -> None:
        """Tell the probe the node's ID, when to start (monotonic) and until when to listen."""
        os.write(self._go, json.dumps({"kad_id": kad_id, "start": start, "until": until}).encode())
        os.close(self._go)

    def instants(self) -> list[float | None]:
        """The send instant of each request (blocks until the probe is done), then reap it."""
        with os.fdopen(self._results, "rb") as results:
            data = results.read()
        code = os.waitstatus_to_exitcode(os.waitpid(self._pid, 0)[1])
        if code != 0 or not data:
            raise RuntimeError(f"the probe process failed (exit {code})")
        return json.loads(data)


def _serve(plan: ProbePlan, sock: socket.socket, go_read: int, results_write: int) -> None:
    with os.fdopen(go_read, "rb") as go:
        data = go.read()
    if not data:
        return  # the node's child ended before starting the run
    order = json.loads(data)
    events = schedule(plan, int(order["kad_id"]), float(order["start"]))
    sent = probe(sock, events, len(plan.destinations), float(order["until"]))
    with os.fdopen(results_write, "wb") as results:
        results.write(json.dumps(sent).encode())
