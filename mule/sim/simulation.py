"""A whole network of production node cores on one virtual clock: who joins when, who leaves, and the figures.

A few seed nodes start first and know each other; every other node starts with their
contacts as its only seed list (what a fresh iMule install reads from a downloaded
nodes.dat) and joins at a random moment of the ramp-up. With churn, a share of the
non-seed nodes leave at random moments after the ramp-up and as many fresh nodes (new
identities) join. Every random choice comes from the one simulation seed.
"""

from __future__ import annotations

import gc
import hashlib
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from mule.clock import VirtualClock
from mule.contract import PRODUCTION, Profile
from mule.kad.contact import Contact
from mule.kad.opcodes import Op
from mule.sim.figures import Figures, summary
from mule.sim.network import Latency, SimNetwork
from mule.sim.node import Identity, SimNode
from mule.sim.workload import Workload

MINUTE = 60.0
GC_YOUNG_THRESHOLD = 50_000  # objects allocated between young-generation collections (CPython's default: 700)


@dataclass(frozen=True, slots=True)
class SimConfig:
    nodes: int
    hours: float
    seed: int = 1
    churn: float = 0.0
    """Share of the nodes that leave during the run; as many new nodes join."""
    seed_nodes: int = 8
    """Nodes whose contacts make up everyone's seed list (they never leave)."""
    ramp: float = 300.0
    """Seconds over which the initial nodes join (seed nodes at 0)."""
    users: float = 0.2
    """Share of the (non-seed) nodes whose users publish a keyword and run node lookups and keyword searches."""
    user_every: float = 120.0
    """Seconds between a user's requests (one node lookup and one keyword search each time)."""
    warmup: float = 300.0
    """Seconds after joining before a user's first request."""
    observed_nodes: int = 64
    """About this many nodes have what they send tallied by opcode (all of them in a smaller network)."""
    latency: Latency = field(default_factory=Latency)
    profile: Profile = PRODUCTION

    def __post_init__(self) -> None:
        if self.nodes < 2 or self.hours <= 0 or not 0 <= self.churn < 1 or self.seed_nodes < 1:
            raise ValueError("a simulation needs >= 2 nodes, hours > 0, 0 <= churn < 1 and >= 1 seed node")
        if not 0 <= self.users <= 1 or self.user_every <= 0 or self.warmup < 0 or self.observed_nodes < 1:
            raise ValueError("users is a share (0 to 1), user_every > 0, warmup >= 0, observed_nodes >= 1")

    @property
    def seconds(self) -> float:
        return self.hours * 3600.0

    def summary(self) -> dict[str, object]:
        return {
            "nodes": self.nodes,
            "hours": self.hours,
            "seed": self.seed,
            "churn": self.churn,
            "seed_nodes": self.seed_nodes,
            "ramp": self.ramp,
            "users": self.users,
            "user_every": self.user_every,
            "warmup": self.warmup,
            "observed_nodes": self.observed_nodes,
            "latency": asdict(self.latency),
            "profile": self.profile.version,
        }


Progress = Callable[["Simulation"], None]


class Simulation:
    def __init__(self, config: SimConfig) -> None:
        self._cpu_started = time.process_time()
        self.config = config
        self.clock = VirtualClock()
        self._rng = random.Random(config.seed)
        self.network = SimNetwork(self.clock, config.latency, random.Random(self._rng.getrandbits(64)))
        self.members: list[SimNode] = []
        """Every node that ever joined, in joining order."""
        self.workload = Workload(
            self.network.nodes,
            self.network.walks,
            self._at,
            self.clock.now,
            random.Random(self._rng.getrandbits(64)),
            every=config.user_every,
            warmup=config.warmup,
        )
        self._users = 0
        self._observed_share = min(1.0, config.observed_nodes / config.nodes)
        self._drawn = 0
        seed_count = self._seed_count = min(config.seed_nodes, config.nodes)
        identities = [self._identity() for _ in range(config.nodes)]
        self.seed_list = [identity.contact() for identity in identities[:seed_count]]
        for identity in identities[:seed_count]:
            self._join(identity)
        end = config.seconds
        ramp = min(config.ramp, end / 4)
        for identity in identities[seed_count:]:
            self._at(self._rng.uniform(0.0, ramp), lambda identity=identity: self._join(identity))
        movers = round(config.churn * config.nodes)
        leavers = self._rng.sample(range(seed_count, config.nodes), min(movers, config.nodes - seed_count))
        for index in leavers:
            self._at(self._rng.uniform(ramp, end), lambda index=index: self._leave(identities[index]))
        for _ in range(movers):
            identity = self._identity()
            self._at(self._rng.uniform(ramp, end), lambda identity=identity: self._join(identity))

    # --- population --------------------------------------------------------------------------------------------------

    def _identity(self) -> Identity:
        seed = hashlib.sha256(b"mule-sim/%d/%d" % (self.config.seed, self._drawn)).digest()
        self._drawn += 1
        return Identity.draw(random.Random(seed), seed)

    def _at(self, when: float, action: Callable[[], None]) -> None:
        self.clock.call_at(when, action)

    def _join(self, identity: Identity) -> None:
        seeds: list[Contact] = [c for c in self.seed_list if c.kad_id != identity.kad_id]
        node = SimNode(identity, seeds, self.network.hub, self.clock, self.config.profile)
        self.network.attach(node)
        if _share(identity.seed, b"observed") < self._observed_share:
            self.network.observed.add(identity.destination)
        seed_node = len(self.members) < self._seed_count
        self.members.append(node)
        if not seed_node and _share(identity.seed, b"user") < self.config.users:
            self.workload.join(node, self._users)
            self._users += 1

    def _leave(self, identity: Identity) -> None:
        node = self.network.nodes.get(identity.destination)
        if node is not None:
            self.network.detach(node)
            node.leave()

    @property
    def live(self) -> list[SimNode]:
        return list(self.network.nodes.values())

    # --- running -----------------------------------------------------------------------------------------------------

    def run(self, progress: Progress | None = None, *, every: float = MINUTE) -> Figures:
        """Run to the end, calling ``progress`` every ``every`` simulated seconds; the figures at the end (CPU seconds
        from the construction on, so building the nodes counts)."""
        end = self.config.seconds
        with _long_lived_objects_frozen():
            while self.clock.now() < end:
                self.clock.advance_to(min(end, self.clock.now() + every))
                if progress is not None:
                    progress(self)
        return self.figures(time.process_time() - self._cpu_started)

    def figures(self, cpu_seconds: float) -> Figures:
        now = self.clock.now()
        live = self.live
        tables = [node.core.table.contacts() for node in live]
        network = self.network
        per_minute = _per_node_minute(self.members, now)
        per_observed_minute = _per_node_minute(
            [node for node in self.members if node.identity.destination in network.observed], now
        )
        by_opcode = {
            _opcode_name(opcode): round(count * per_observed_minute, 3)
            for opcode, count in sorted(network.opcodes.items(), key=lambda item: -item[1])
        }
        shaper_counts = [asdict(node.shaper.counters) for node in self.members]
        core_counts = [asdict(node.core.counters) for node in self.members]
        return Figures(
            config=self.config.summary(),
            simulated_seconds=now,
            cpu_seconds=round(cpu_seconds, 2),
            nodes_live=len(live),
            joined=len(self.members),
            left=len(self.members) - len(live),
            contacts=summary([len(contacts) for contacts in tables]),
            verified=summary([sum(c.verified for c in contacts) for contacts in tables]),
            datagrams_per_node_minute=round(network.datagrams * per_minute, 3),
            by_opcode_per_node_minute=by_opcode,
            network={"datagrams": network.datagrams, "delivered": network.delivered, "lost": network.lost},
            shaper={key: sum(counts[key] for counts in shaper_counts) for key in shaper_counts[0]},
            core={key: sum(counts[key] for counts in core_counts) for key in core_counts[0]},
            observed_nodes=len(network.observed),
            lookups={kind: figures.as_dict() for kind, figures in self.workload.figures.items()},
            publishes=dict(self.workload.publishes),
        )


@contextmanager
def _long_lived_objects_frozen() -> Iterator[None]:
    """Spare the cyclic garbage collector a full pass over every node's tables, queues and keys each time young
    objects pile up: what exists before the run is frozen (never collected), and the young generation is allowed
    to grow larger between collections. Memory management only: nothing simulated depends on when it runs."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _per_node_minute(nodes: list[SimNode], now: float) -> float:
    """1 / the node-minutes ``nodes`` spent on the network (0 for none)."""
    minutes = sum((now if node.left is None else node.left) - node.joined for node in nodes) / MINUTE
    return 1 / minutes if minutes else 0.0


def _share(seed: bytes, label: bytes) -> float:
    """A number in [0, 1) fixed by a node's seed: which nodes are users or observed, whenever they join."""
    return int.from_bytes(hashlib.sha256(label + seed).digest()[:8], "big") / 2**64


def _opcode_name(opcode: int | str) -> str:
    if isinstance(opcode, str):
        return opcode
    try:
        return Op(opcode).name
    except ValueError:
        return f"0x{opcode:02x}"
