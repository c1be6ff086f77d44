"""One simulated node: the production ``NodeCore`` and ``Shaper`` on the shared virtual clock, without asyncio.

``SimNode`` does for the simulator what ``mule.node.service.NodeService`` does in production,
minus the event loop and the files: a delivered datagram goes to ``core.receive``, whatever the
core returns goes to the shaper, and a timer on the clock calls ``core.tick`` at ``core.next_tick``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from mule._core.keystream import substream_seed
from mule._core.shuffle import Shuffler
from mule.clock import VirtualClock
from mule.contract import Profile
from mule.kad.contact import Contact
from mule.kad.opcodes import KAD_VERSION
from mule.node.core import NodeCore, Send
from mule.node.core_timer import CoreTimer
from mule.node.outbound import OwnContact
from mule.routing import RoutingTable
from mule.shaper import Shaper
from mule.transport.memory import MemoryHub

DESTINATION_BYTES = 387  # a raw I2P DSA-SHA1 destination with a null certificate (the only form iMule accepts)


@dataclass(frozen=True, slots=True)
class Identity:
    """What a node keeps across restarts: its Kad ID, destinations and iMule's UDP key, and its random seed."""

    kad_id: int
    destination: bytes
    stream_destination: bytes
    udp_secret: int
    seed: bytes

    @classmethod
    def draw(cls, rng: random.Random, seed: bytes) -> Identity:
        """A fresh identity from ``rng``; the destination's hashCode (its first 4 bytes) is never 0."""
        destination = (rng.getrandbits(32) or 1).to_bytes(4, "little") + rng.randbytes(DESTINATION_BYTES - 7) + bytes(3)
        stream = rng.randbytes(DESTINATION_BYTES - 3) + bytes(3)
        return cls(rng.getrandbits(128) or 1, destination, stream, rng.getrandbits(32) or 1, seed)

    def contact(self) -> Contact:
        return Contact(KAD_VERSION, self.kad_id, self.destination)


class SimNode:
    __slots__ = (
        "_clock",
        "_tick",
        "core",
        "identity",
        "index",
        "joined",
        "left",
        "shaper",
        "transport",
    )

    def __init__(
        self,
        identity: Identity,
        seeds: list[Contact],
        hub: MemoryHub,
        clock: VirtualClock,
        profile: Profile,
    ) -> None:
        self.identity = identity
        self._clock = clock
        now = clock.now()
        self.joined = now
        self.left: float | None = None
        seed = identity.seed
        self.transport = hub.endpoint(identity.destination, stream_destination=identity.stream_destination)
        self.transport.attach()
        self.shaper = Shaper(self.transport, clock, profile, seed=seed)
        table = RoutingTable(identity.kad_id, now, Shuffler(substream_seed(seed, b"routing")))
        me = OwnContact(identity.kad_id, identity.destination, identity.stream_destination)
        randbytes = random.Random(seed).randbytes
        shaper = self.shaper
        self.core = NodeCore(
            me,
            identity.udp_secret,
            table,
            seeds,
            profile,
            now,
            admit=shaper.admit,
            randbytes=randbytes,
            seed=seed,
            start_lookup=shaper.start_lookup,
            start_publish=shaper.start_publish,
        )
        self._tick = CoreTimer(clock, self._on_tick)
        self._arm_tick()

    @property
    def alive(self) -> bool:
        return self.left is None

    def deliver(self, source: bytes, payload: bytes) -> None:
        """One datagram from the network (the service's ``on_datagram``)."""
        if self.left is not None:
            return
        self._submit(self.core.receive(source, payload, self._clock.now()))

    def leave(self) -> None:
        """Vanish without a word, as a node whose router went down: nothing queued leaves, nothing is answered."""
        self.left = self._clock.now()
        self._tick.cancel()
        self.shaper.close()
        self.transport.detach()

    def _submit(self, sends: list[Send]) -> None:
        submit = self.shaper.submit
        for send in sends:
            submit(send.destination, send.payload, send.kind)
        self._arm_tick()

    def _arm_tick(self) -> None:
        if self.left is None:
            self._tick.arm(self.core.next_tick)

    def _on_tick(self) -> None:
        self._submit(self.core.tick(self._clock.now()))
