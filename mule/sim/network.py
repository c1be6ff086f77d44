"""The simulated I2P network: one virtual clock, a latency law per datagram, and a tally of what went on the wire.

Every datagram a node's shaper hands off is delivered after a one-way delay drawn from the
``Latency`` law (an I2P datagram crosses the sender's outbound and the receiver's inbound
tunnel: about a second, give or take), or lost with the law's loss rate; a datagram for a
node that has left is lost without a word, as on I2P. Delivery is a timer on the shared
clock, so the whole network advances in one deterministic (time, order) sequence.

The tally reads the opcodes of what the *observed* nodes send as an observer holding every
key would: it de-obfuscates with the receiver's keys (cached per pair), so figures by opcode
cost the nodes nothing. Only a sample of nodes is observed in a large network, because that
second de-obfuscation costs as much as the receiver's own; datagrams to and from a searcher
whose walk is traced (``Walks``) are read too. Nothing here is shared between nodes but the
clock and the delivery: a shard of a larger network is this object with its own nodes and an
outbox for the others (docs/simulation.md).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from mule.clock import VirtualClock
from mule.kad.codec import decode
from mule.kad.destination import hash_code
from mule.kad.errors import CodecError
from mule.kad.obfuscation import deobfuscate, verify_key
from mule.sim.node import Identity, SimNode
from mule.sim.walks import Walks
from mule.transport.memory import MemoryHub
from mule.transport.trace import OBFUSCATED, frame_opcode


@dataclass(frozen=True, slots=True)
class Latency:
    """One-way delay uniform on [base, base + jitter] seconds; ``loss``: the share of datagrams I2P drops."""

    base: float = 0.4
    jitter: float = 1.2
    loss: float = 0.0

    def __post_init__(self) -> None:
        if self.base <= 0 or self.jitter < 0 or not 0 <= self.loss < 1:
            raise ValueError("latency needs base > 0 (it is the shards' lookahead), jitter >= 0 and 0 <= loss < 1")


class SimNetwork:
    __slots__ = (
        "_identities",
        "_keys",
        "_latency",
        "_rng",
        "clock",
        "datagrams",
        "delivered",
        "hub",
        "lost",
        "nodes",
        "observed",
        "opcodes",
        "walks",
    )

    def __init__(self, clock: VirtualClock, latency: Latency, rng: random.Random) -> None:
        self.clock = clock
        self._latency = latency
        self._rng = rng
        self.nodes: dict[bytes, SimNode] = {}
        """Nodes currently on the network, by destination."""
        self._identities: dict[bytes, Identity] = {}
        """Everyone who was ever on it (to read what is sent to a node that has left)."""
        self._keys: dict[tuple[bytes, bytes], int] = {}
        self.observed: set[bytes] = set()
        """Destinations of the nodes whose sends are tallied by opcode."""
        self.opcodes: Counter[int | str] = Counter()
        """Datagrams the observed nodes sent, by opcode (``"obfuscated"`` if even the receiver could not read it)."""
        self.walks = Walks()
        self.hub = MemoryHub(deliver=self.carry)
        """The nodes' transports: memory endpoints whose datagrams this network carries."""
        self.datagrams = 0
        self.delivered = 0
        self.lost = 0

    def attach(self, node: SimNode) -> None:
        destination = node.identity.destination
        self.nodes[destination] = node
        self._identities[destination] = node.identity

    def detach(self, node: SimNode) -> None:
        self.nodes.pop(node.identity.destination, None)

    def carry(self, source: bytes, destination: bytes, payload: bytes) -> None:
        self.datagrams += 1
        observed = source in self.observed
        walks = self.walks
        if observed or source in walks or destination in walks:
            self._read(source, destination, payload, observed)
        latency = self._latency
        rng = self._rng
        if latency.loss and rng.random() < latency.loss:
            self.lost += 1
            return
        at = self.clock.now() + latency.base + latency.jitter * rng.random()
        self.clock.call_at(at, lambda: self._deliver(source, destination, payload))

    def _deliver(self, source: bytes, destination: bytes, payload: bytes) -> None:
        node = self.nodes.get(destination)
        if node is None:
            self.lost += 1
            return
        self.delivered += 1
        node.deliver(source, payload)

    def _read(self, source: bytes, destination: bytes, payload: bytes, observed: bool) -> None:
        plain = self._plain(source, destination, payload)
        opcode = frame_opcode(plain)
        if observed:
            self.opcodes[opcode] += 1
        walks = self.walks
        # only a traced searcher's requests and the answers it gets matter to its walk (not what it answers others)
        if (opcode in Walks.REQUESTS and source in walks) or (opcode in Walks.ANSWERS and destination in walks):
            try:
                message = decode(plain)
            except CodecError:
                return
            self.walks.seen(source, destination, opcode, message)  # type: ignore[arg-type]

    def _plain(self, source: bytes, destination: bytes, payload: bytes) -> bytes:
        receiver = self._identities.get(destination)
        if frame_opcode(payload) != OBFUSCATED or receiver is None:
            return payload
        pair = (source, destination)
        key = self._keys.get(pair)
        if key is None:
            key = self._keys[pair] = verify_key(hash_code(source), receiver.udp_secret)
        return deobfuscate(payload, own_id=receiver.kad_id, own_verify_key_for_sender=key).datagram
