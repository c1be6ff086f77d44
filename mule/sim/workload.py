"""What the users of a share of the nodes ask their node for, through the core's user API (docs/lookups.md).

Each user node publishes one keyword of its own as soon as it joins (the core holds it until its
first self lookup has answered and a keyword publish slot comes), then, after a warm-up, every
``every`` seconds asks for a node lookup towards a random target and a keyword search for a keyword
another node has published (acknowledged by at least one storing node). Both wait for their slots
like any user lookup. Judged when they finish:

- a node lookup succeeds if the nearest node it reports is the true nearest node to the target among
  the nodes that were on the network for the whole lookup (from its submission to its end), itself excluded;
- a keyword search succeeds if it reports the file published under that keyword.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from mule.lookup import KeywordResult, LookupHandle, NodeResult, PublishAck, Result, SharedFile
from mule.sim.figures import LookupFigures
from mule.sim.node import SimNode
from mule.sim.walks import Walk, Walks

Schedule = Callable[[float, Callable[[], None]], None]
FILE_SIZE = 700 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Published:
    keyword: str
    file_id: int
    publisher: bytes


class Workload:
    def __init__(
        self,
        nodes: dict[bytes, SimNode],
        walks: Walks,
        schedule: Schedule,
        now: Callable[[], float],
        rng: random.Random,
        *,
        every: float,
        warmup: float,
    ) -> None:
        self._nodes = nodes
        self._walks = walks
        self._schedule = schedule
        self._now = now
        self._rng = rng
        self._every = every
        self._warmup = warmup
        self.published: list[Published] = []
        self.figures = {"node": LookupFigures(), "keyword": LookupFigures()}
        self.publishes = {"started": 0, "acknowledged": 0}

    def join(self, node: SimNode, user_number: int) -> None:
        """``node`` is a user's: publish its keyword now, look things up from the end of the warm-up on."""
        keyword = "mulekw" + _letters(user_number)
        file = SharedFile(self._rng.getrandbits(128) or 1, f"{keyword} sample.ogg", FILE_SIZE, "Audio")
        handle = node.core.publish_keyword(keyword, [file])
        self.publishes["started"] += 1
        announced = Published(keyword, file.file_id, node.identity.destination)
        handle.subscribe(lambda _, result: self._acknowledged(announced, result))
        self._schedule(self._now() + self._warmup + self._rng.uniform(0, self._every), lambda: self._ask(node))

    def _acknowledged(self, published: Published, result: Result) -> None:
        if isinstance(result, PublishAck) and published not in self.published:
            self.published.append(published)
            self.publishes["acknowledged"] += 1

    def _ask(self, node: SimNode) -> None:
        if not node.alive:
            return
        destination = node.identity.destination
        target = self._rng.getrandbits(128)
        self._watch("node", node, node.core.find_node(target), Walk(destination, node.core.table, target))
        others = [p for p in self.published if p.publisher != destination]
        if others:
            wanted = self._rng.choice(others)
            handle = node.core.search_keywords(wanted.keyword)
            self._watch("keyword", node, handle, Walk(destination, node.core.table, handle.target, wanted.file_id))
        self._schedule(self._now() + self._every, lambda: self._ask(node))

    def _watch(self, kind: str, node: SimNode, handle: LookupHandle, walk: Walk) -> None:
        figures = self.figures[kind]
        figures.started += 1
        searcher = node.identity.destination
        submitted = self._now()
        self._walks.trace(walk, searcher)

        def finished(handle: LookupHandle) -> None:
            self._walks.forget(walk, searcher)
            figures.finished += 1
            if kind == "node":
                success, hops = self._judge_node(handle, node, submitted, walk)
            else:
                success, hops = self._judge_keyword(handle, walk)
            figures.succeeded += success
            figures.outcomes.append((submitted, success))
            if success and hops is not None:
                figures.hops.append(hops)

        handle.on_finished(finished)

    def _judge_node(self, handle: LookupHandle, node: SimNode, submitted: float, walk: Walk) -> tuple[bool, int | None]:
        """Whether the nearest node reported is the true nearest, and its hops."""
        found = [r for r in handle.results if isinstance(r, NodeResult)]
        target, me = handle.target, node.identity.kad_id
        throughout = [
            n.identity.kad_id for n in self._nodes.values() if n.joined <= submitted and n.identity.kad_id != me
        ]
        if not found or not throughout:
            return False, None
        nearest = min(found, key=lambda r: r.distance)
        if nearest.contact.kad_id != min(throughout, key=lambda kad_id: kad_id ^ target):
            return False, None
        return True, walk.hops(nearest.contact.udp_dest)

    @staticmethod
    def _judge_keyword(handle: LookupHandle, walk: Walk) -> tuple[bool, int | None]:
        """Whether the search reported the file published under its keyword, and the hops of who returned it."""
        found = any(isinstance(r, KeywordResult) and r.file_id == walk.wanted for r in handle.results)
        return found, walk.found_at


def _letters(number: int) -> str:
    """``number`` in base 26 with letters, 4 of them: distinct keywords that are words to iMule's splitter."""
    letters = ""
    for _ in range(4):
        number, digit = divmod(number, 26)
        letters += chr(ord("a") + digit)
    return letters
