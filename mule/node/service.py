"""The node service: the thin shell that moves datagrams and time between a transport, the shaper and the core.

Everything that decides *what* to send lives in the sans-IO ``NodeCore``; everything that
decides *when* it leaves lives in the shaper, which alone holds the transport's sender.
This shell only receives, asks the core, submits what it returns, and wakes the core when
it asked to be woken. Every loop here contains its own failures: an exception from the
transport, the core or the shaper is counted in ``status().faults`` and the loop goes on.
The user's lookups are the core's (``find_node``, ``search_keywords``, ...), with an asyncio
queue per handle for their results (docs/lookups.md). On shutdown the node drains: it starts no
more lookups and keeps answering for the profile's ``drain`` seconds while the shaper empties,
then the routing table is written to ``nodes.dat`` (atomically) so the next start resumes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mule._core.keystream import substream_seed
from mule._core.shuffle import Shuffler
from mule.clock import Clock, Timer
from mule.contract import PRODUCTION, Profile
from mule.index import LocalIndex
from mule.index.persist import restore, save
from mule.kad.contact import Contact
from mule.kad.destination import hash_code
from mule.kad.files.nodes_dat import NodeEntry, load_or_seed, write_nodes_dat
from mule.kad.search_expr import Expr
from mule.lookup import LookupHandle, Result, SharedFile
from mule.node.core import NodeCore, Send
from mule.node.core_timer import CoreTimer
from mule.node.identity import load_or_create_kad_id, load_or_create_udp_key
from mule.node.outbound import OwnContact, as_kad2
from mule.routing import RoutingTable
from mule.shaper import Shaper
from mule.transport.interface import Transport
from mule.transport.release import ReleaseStatus

log = logging.getLogger(__name__)

NODES_DAT = "nodes.dat"
STATUS_EVERY = 60.0
NODES_DAT_MAX = 200  # iMule writes up to 200 contacts


@dataclass(frozen=True, slots=True)
class NodeStatus:
    kad_id: int
    contacts: int
    verified: int
    seeds: int
    queued: int
    sent: int
    admitted: int
    dropped_inputs: int
    faults: int
    """Internal errors caught and survived (each one a bug worth a report)."""

    def __str__(self) -> str:
        return (
            f"node {self.kad_id:032x} (ours): {self.contacts} contacts ({self.verified} verified), {self.seeds} seeds, "
            f"{self.sent} sent, {self.queued} queued, {self.admitted} admitted, {self.dropped_inputs} dropped, "
            f"{self.faults} faults"
        )


class NodeService:
    def __init__(
        self,
        transport: Transport,
        clock: Clock,
        data_dir: Path,
        profile: Profile = PRODUCTION,
        *,
        seed: bytes | None = None,
        randbytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        """``seed`` replays every random stream (tests and the simulator only); production leaves it ``None``."""
        self._transport = transport
        self._clock = clock
        self._data_dir = data_dir
        self._profile = profile
        self._seed = seed
        self._randbytes = randbytes
        self.shaper = Shaper(transport, clock, profile, seed=seed)
        self.kad_id = load_or_create_kad_id(data_dir, randbytes)
        self._udp_secret = load_or_create_udp_key(data_dir, randbytes)
        self.core: NodeCore | None = None
        self._faults = 0
        self._tick = CoreTimer(clock, self._on_tick)
        self._status_timer: Timer | None = None
        self._receiving: asyncio.Task[None] | None = None
        self._stopped = False

    async def start(self) -> None:
        await self._transport.open()
        now = self._clock.now()
        table = RoutingTable(self.kad_id, now, Shuffler(substream_seed(self._seed, b"routing")))
        seeds = self._load_seeds(table, now)
        index = LocalIndex(now)
        for note in restore(index, self._data_dir, self.kad_id, now, time.time()):
            log.warning("%s", note)
        me = OwnContact(self.kad_id, self._transport.local_destination, self._transport.stream_destination)
        self.core = NodeCore(
            me,
            self._udp_secret,
            table,
            seeds,
            self._profile,
            now,
            admit=self.shaper.admit,
            randbytes=self._randbytes,
            seed=self._seed,
            start_lookup=self.shaper.start_lookup,
            start_publish=self.shaper.start_publish,
            index=index,
        )
        self._receiving = asyncio.create_task(self._receive_loop(), name="mule-receive")
        self._arm_tick()
        self._status_timer = self._clock.call_at(now + STATUS_EVERY, self._log_status)
        log.info("node %032x (ours) up at %s", self.kad_id, self._transport.local_destination[:8].hex())

    async def stop(self) -> None:
        """Graceful shutdown: drain (start no lookup, keep answering, for the profile's ``drain`` seconds on the node's
        clock, while the shaper empties), then stop timers and receiving, save the table, close the session."""
        if self.core is not None and not self._stopped and self._profile.drain > 0:
            self.core.drain()
            self._arm_tick()
            await self._pause(self._profile.drain)
        self._stopped = True
        self._tick.cancel()
        if self._status_timer is not None:
            self._status_timer.cancel()
        if self._receiving is not None:
            self._receiving.cancel()
            await asyncio.gather(self._receiving, return_exceptions=True)
        self._save_nodes()
        self._save_index()
        self.shaper.close()
        await self._transport.close()
        log.info("node stopped: %s", self.status())

    @property
    def table(self) -> RoutingTable:
        assert self.core is not None, "start() first"
        return self.core.table

    @property
    def local_destination(self) -> bytes:
        return self._transport.local_destination

    # --- the user's lookups (sans-IO in the core; docs/lookups.md) ---------------------------------------------------

    def find_node(self, target: int) -> LookupHandle:
        return self._core().find_node(target)

    def search_keywords(self, text: str, *, expression: Expr | None = None) -> LookupHandle:
        return self._core().search_keywords(text, expression=expression)

    def search_sources(self, file_id: int, file_size: int) -> LookupHandle:
        return self._core().search_sources(file_id, file_size)

    def search_notes(self, file_id: int, file_size: int) -> LookupHandle:
        return self._core().search_notes(file_id, file_size)

    def publish_keyword(self, keyword: str, files: Sequence[SharedFile]) -> LookupHandle:
        return self._core().publish_keyword(keyword, files)

    def publish_file_keywords(self, file: SharedFile) -> list[LookupHandle]:
        return self._core().publish_file_keywords(file)

    def publish_source(self, file: SharedFile, *, user_hash: int) -> LookupHandle:
        return self._core().publish_source(file, user_hash=user_hash)

    def publish_notes(self, file: SharedFile, *, rating: int = 0, comment: str = "") -> LookupHandle:
        return self._core().publish_notes(file, rating=rating, comment=comment)

    def lookups(self) -> list[LookupHandle]:
        return self._core().lookups()

    @staticmethod
    def results(handle: LookupHandle) -> asyncio.Queue[Result | None]:
        """A queue that gets every result ``handle`` already has and each new one, then ``None`` once it has finished
        (done or cancelled). Call from the event loop's thread."""
        queue: asyncio.Queue[Result | None] = asyncio.Queue()
        for result in handle.results:
            queue.put_nowait(result)
        if handle.finished:
            queue.put_nowait(None)
        else:
            handle.subscribe(lambda _, result: queue.put_nowait(result))
            handle.on_finished(lambda _: queue.put_nowait(None))
        return queue

    def _core(self) -> NodeCore:
        assert self.core is not None, "start() first"
        return self.core

    def release_status(self) -> ReleaseStatus | None:
        """How the transport's release thread fares (None: the transport sends when handed)."""
        return self._transport.release_status()

    def status(self) -> NodeStatus:
        counters = self.shaper.counters
        contacts = self.core.table.contacts() if self.core is not None else []
        return NodeStatus(
            kad_id=self.kad_id,
            contacts=len(contacts),
            verified=sum(c.verified for c in contacts),
            seeds=0 if self.core is None else self.core.seeds,
            queued=self.shaper.queued_messages,
            sent=counters.sent,
            admitted=counters.admitted,
            dropped_inputs=counters.unknown + counters.over_cap + counters.generic_failures,
            faults=self._faults + (0 if self.core is None else self.core.counters.faults),
        )

    # --- inbound ----------------------------------------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        while True:
            try:
                datagram = await self._transport.receive()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A transport that fails to deliver is waited out on the retry law, never spun on.
                self._fault("receiving")
                await self._pause(self.shaper.retry_delay())
                continue
            self.on_datagram(datagram.source, datagram.payload)

    async def _pause(self, seconds: float) -> None:
        """Wait on the node's own clock (virtual in simulation), not the event loop's."""
        woken = asyncio.get_running_loop().create_future()
        timer = self._clock.call_at(self._clock.now() + seconds, lambda: woken.done() or woken.set_result(None))
        try:
            await woken
        finally:
            timer.cancel()

    def on_datagram(self, source: bytes, payload: bytes) -> None:
        assert self.core is not None, "start() first"
        received = self._clock.now()
        try:
            sends = self.core.receive(source, payload, received)
        except Exception:  # the core contains its own faults; this is the belt to its braces
            self._fault("handling a datagram")
            return
        self._submit(sends, received)

    # --- outbound and time ------------------------------------------------------------------------------------------

    def _submit(self, sends: list[Send], received: float | None = None) -> None:
        """``received``: when the datagram that caused ``sends`` arrived (the shaper anchors their release there)."""
        for send in sends:
            try:
                self.shaper.submit(send.destination, send.payload, send.kind, received=received)
            except Exception:
                self._fault("submitting")
        self._arm_tick()

    def _arm_tick(self, not_before: float = float("-inf")) -> None:
        if self.core is None or self._stopped:
            return
        self._tick.arm(max(self.core.next_tick, not_before))

    def _on_tick(self) -> None:
        now = self._clock.now()
        try:
            assert self.core is not None
            self._submit(self.core.tick(now))
        except Exception:
            # A failed tick never stops upkeep, and is retried on the retry law, never spun on.
            self._fault("upkeep")
            self._arm_tick(not_before=now + self.shaper.retry_delay())

    def _log_status(self) -> None:
        try:
            log.info("status: %s", self.status())
        except Exception:
            self._fault("status")
        finally:
            if not self._stopped:
                self._status_timer = self._clock.call_at(self._clock.now() + STATUS_EVERY, self._log_status)

    def _fault(self, where: str) -> None:
        self._faults += 1
        log.warning("internal fault while %s (counted; the node goes on)", where, exc_info=True)

    # --- persistence ------------------------------------------------------------------------------------------------

    def _load_seeds(self, table: RoutingTable, now: float) -> list[Contact]:
        """Seed contacts for bootstrapping; our own saved nodes.dat also refills the table, as in iMule."""
        path = self._data_dir / NODES_DAT
        entries, source = load_or_seed(path)
        log.info("%d seed contacts from %s", len(entries), source)
        if source == os.fspath(path):
            own_hash = hash_code(self._transport.local_destination)
            for entry in entries:
                contact = entry.contact
                # A stored key counts only if it was given to this destination of ours (iMule's KadUDPKey ip).
                key = entry.udp_key if entry.udp_key_ip == own_hash else 0
                table.add(contact.kad_id, contact.udp_dest, contact.version, now, verified=entry.verified, udp_key=key)
        return [entry.contact for entry in entries]

    def _save_index(self) -> None:
        if self.core is not None:
            save(self.core.index, self._data_dir, self.kad_id, self._clock.now(), time.time())

    def _save_nodes(self) -> None:
        if self.core is None:
            return
        contacts = self.core.table.bootstrap_contacts(NODES_DAT_MAX)
        if not contacts:
            return  # keep whatever file there is rather than replace it with an empty one
        own_hash = hash_code(self._transport.local_destination)
        entries = tuple(
            NodeEntry(as_kad2(c), udp_key=c.udp_key, udp_key_ip=own_hash if c.udp_key else 0, verified=c.verified)
            for c in contacts
        )
        write_nodes_dat(self._data_dir / NODES_DAT, entries)
        log.info("saved %d contacts to %s", len(entries), self._data_dir / NODES_DAT)
