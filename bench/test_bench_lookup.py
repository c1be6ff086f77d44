"""CPU cost of the lookup machinery (figures, not asserts: machines are shared and noisy).

- one jump-start step of a keyword search with 50 seeds (pick the closest, build and record one request);
- one SEARCH_RES of 20 results taken by a running search (charged check, results read, deduplicated);
- one KADEMLIA2_RES of 11 contacts taken by a node lookup;
- a lookup slot that starts a cover keyword search (seeds from a 1,000-contact table, the request to ourselves).

The twin that runs is whichever ``mule._core`` loaded (``MULE_NO_EXTENSIONS=1`` for the pure-Python one).
"""

from __future__ import annotations

import dataclasses

import pytest

from mule.contract import PROFILE_V3
from mule.kad.contact import Contact
from mule.kad.opcodes import KAD_VERSION
from mule.lookup import LookupKind
from mule.lookup.manager import LookupManager
from mule.lookup.requests import Spec, keyword_expression
from mule.lookup.search import Lookup
from tests.lookup.world import keyword_entry
from tests.node.parts import ME, fill, randbytes, table
from tests.node.peers import dest, kad_id

TARGET = kad_id(4242)
WORDS = ("blue", "moon")


def keyword_lookup(contacts: int = 1000) -> Lookup:
    routing = table()
    fill(routing, range(1, contacts + 1))
    lookup = Lookup(Spec(LookupKind.KEYWORD, TARGET, words=WORDS, expression=keyword_expression(WORDS)), ME)
    lookup.start(routing, 0.0, 2.5)
    return lookup


@pytest.mark.benchmark(group="lookup")
def test_one_jump_start_step(benchmark):
    routing = table()
    fill(routing, range(1, 1001))
    spec = Spec(LookupKind.KEYWORD, TARGET, words=WORDS, expression=keyword_expression(WORDS))

    def fresh() -> tuple[tuple[Lookup], dict]:
        lookup = Lookup(spec, ME)
        lookup.start(routing, 0.0, 2.5)
        return (lookup,), {}

    def step(lookup: Lookup) -> None:
        [_] = lookup.step(5.0, 2.5)  # the closest of 50 seeds, one KADEMLIA2_REQ built

    benchmark.pedantic(step, setup=fresh, rounds=2000)


@pytest.mark.benchmark(group="lookup")
def test_one_search_res_of_20_results(benchmark):
    own = ME.udp_dest
    entries = [keyword_entry(n, f"Blue Moon {n}.mp3", 1000) for n in range(20)]

    def fresh() -> tuple[tuple[Lookup], dict]:
        return (keyword_lookup(10),), {}

    def answer(lookup: Lookup) -> None:
        assert len(lookup.on_results(own, entries, 1.0)) == 20

    benchmark.pedantic(answer, setup=fresh, rounds=2000)


@pytest.mark.benchmark(group="lookup")
def test_one_kademlia_res_of_11_contacts(benchmark):
    routing = table()
    fill(routing, range(1, 1001))
    listed = [Contact(KAD_VERSION, kad_id(n), dest(n)) for n in range(10_000, 10_011)]

    def fresh() -> tuple[tuple[Lookup, bytes], dict]:
        lookup = Lookup(Spec(LookupKind.NODE, TARGET), ME)
        lookup.start(routing, 0.0, 2.5)
        [request] = lookup.step(3.0, 2.5)
        return (lookup, request.destination), {}

    def answer(lookup: Lookup, source: bytes) -> None:
        [_] = lookup.on_contacts(source, listed, 3.5)

    benchmark.pedantic(answer, setup=fresh, rounds=2000)


@pytest.mark.benchmark(group="lookup")
def test_a_slot_starting_a_cover_keyword_search(benchmark):
    routing = table()
    fill(routing, range(1, 1001))
    deck = dataclasses.replace(PROFILE_V3.lookup_slots, deck=((int(LookupKind.KEYWORD), 1),))
    profile = dataclasses.replace(PROFILE_V3, lookup_slots=deck)
    manager = LookupManager(ME, routing, profile, 0.0, randbytes=randbytes(), seed=bytes(32))
    clock = iter(range(100, 10**9, 100))

    def slot() -> None:
        now = float(next(clock))
        manager._running.clear()
        manager._lookup_slots.next_at = now  # type: ignore[union-attr]
        manager.tick(now)

    benchmark(slot)
