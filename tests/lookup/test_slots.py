"""The lookup manager inside a node core, against a scripted network: slots, queues, covers, answers by target,
publishes and their republishing, cancel and drain."""

from __future__ import annotations

import dataclasses

from mule.kad import messages
from mule.kad.keywords import keyword_id
from mule.kad.opcodes import Op, TagName
from mule.kad.tags import AddressTag
from mule.lookup import LookupKind, SharedFile, State
from mule.lookup.kinds import REPUBLISH
from tests.lookup.world import NEVER, ONLY, World, keyword_entry, make_world, profile_with

FILE = SharedFile(0xF00D_0000_0000_0000_0000_0000_0000_0001, "Blue Moon (live).mp3", 7_340_032, "Audio", 3, 2)


def only(kind: LookupKind, *, publishes: LookupKind | None = None, **world: object) -> World:
    profile = profile_with(lookups=ONLY[kind]) if not kind.is_publish else profile_with(publishes=ONLY[kind])
    if kind.is_publish:
        profile = dataclasses.replace(profile, lookup_slots=NEVER)
    else:
        profile = dataclasses.replace(profile, publish_slots=NEVER)
    return make_world(profile=profile, **world)  # type: ignore[arg-type]


def test_a_node_lookup_finds_the_true_closest_node() -> None:
    found = 0
    for seed in range(1, 6):
        world = only(LookupKind.NODE, seed=seed)
        target = int.from_bytes(bytes([seed]) * 16, "big")
        handle = world.core.find_node(target)
        world.run(200)
        assert handle.state is State.DONE
        true = min(world.peers.values(), key=lambda p: p.kad_id ^ target)
        found += min(r.distance for r in handle.results) == true.kad_id ^ target
    assert found == 5


def test_user_lookups_wait_for_slots_of_their_kind_in_order() -> None:
    busy, idle = only(LookupKind.KEYWORD), only(LookupKind.KEYWORD)
    handles = [busy.core.search_keywords(text) for text in ("blue moon", "red rose", "green tree")]
    assert all(h.state is State.QUEUED for h in handles)
    busy.run(100)
    idle.run(100)
    manager = busy.core.lookup_manager
    assert manager.started == idle.core.lookup_manager.started  # same slots, same kinds, user or not
    started_at = [next(t for t, _, m in busy.sent if getattr(m, "target", None) == h.target) for h in handles]
    assert started_at == sorted(started_at)  # first come, first served
    assert manager.covers[LookupKind.KEYWORD] == manager.started[LookupKind.KEYWORD] - 3


def test_slot_instants_do_not_depend_on_what_the_user_asks() -> None:
    busy, idle = only(LookupKind.KEYWORD), only(LookupKind.KEYWORD)
    for n in range(20):
        busy.core.search_keywords(f"word{n} music")
    busy.run(600)
    idle.run(600)

    def starts(world: World) -> list[float]:  # each lookup's first request: to ourselves, at its slot
        return [t for t, d, _ in world.sent if d == world.own]

    assert starts(busy) == starts(idle) and len(starts(idle)) >= 20


def test_search_results_stream_to_the_handle_and_strangers_are_not_heard() -> None:
    world = only(LookupKind.KEYWORD)
    target = keyword_id("blue")
    world.search_results[target] = [keyword_entry(n, f"Blue Moon {n}.mp3", 1000 + n) for n in range(5)]
    handle = world.core.search_keywords("blue moon")
    heard = []
    handle.subscribe(lambda h, r: heard.append(r.file_id))
    stranger = next(iter(world.peers))
    world.inject(1.0, stranger, messages.SearchRes(1, target, (keyword_entry(99, "blue moon", 1),)))
    world.run(300)
    assert sorted(heard) == list(range(5)) and [r.file_id for r in handle.results] == heard
    assert world.core.counters.unsolicited >= 1 and 99 not in heard
    assert handle.state is State.DONE


def test_data_searches_first_ask_our_own_node() -> None:
    world = only(LookupKind.SOURCES)
    handle = world.core.search_sources(FILE.file_id, FILE.size)
    world.run(120)
    first = next((d, m) for _, d, m in world.sent if getattr(m, "target", None) == handle.target)
    assert first[0] == world.own and isinstance(first[1], messages.SearchSourceReq)


def test_a_source_publish_is_acknowledged_stored_and_republished_after_5_hours() -> None:
    world = only(LookupKind.STORE_SOURCE)
    world.core.lookup_manager.publish_ready = True
    handle = world.core.publish_source(FILE, user_hash=0xABC)
    world.run(900)
    assert len(handle.results) >= 10 and all(r.source_counts == (1, 1) for r in handle.results)
    assert FILE.file_id in world.stored.sources
    assert handle.state is State.QUEUED  # waiting for its republish
    last = max(t for t, _, m in world.sent if getattr(m, "target", None) == FILE.file_id)
    assert last < handle.not_before <= last + REPUBLISH[LookupKind.STORE_SOURCE] + 150
    handle.cancel()
    assert handle.state is State.CANCELLED


def test_user_publishes_wait_for_the_first_self_lookup() -> None:
    profile = dataclasses.replace(profile_with(lookups=ONLY[LookupKind.NODE], publishes=ONLY[LookupKind.STORE_SOURCE]))
    world = make_world(profile=profile)
    handle = world.core.publish_source(FILE, user_hash=0xABC)
    world.run(59)
    assert handle.state is State.QUEUED and not world.core.lookup_manager.publish_ready
    world.run(400)
    own_lookups = [m for _, _, m in world.sent if getattr(m, "target", None) == world.core.me.kad_id]
    assert own_lookups and world.core.lookup_manager.publish_ready
    assert handle.results


def test_a_loaded_keyword_store_backs_off_for_a_week_times_the_load() -> None:
    world = only(LookupKind.STORE_KEYWORD)
    world.core.lookup_manager.publish_ready = True
    world.publish_load = 60
    handle = world.core.publish_keyword("moon", [FILE])
    world.run(900)
    # Our own node takes the first store (iMule asks itself first) and reports a new keyword's load of 1.
    peers = [r for r in handle.results if r.destination != world.core.me.udp_dest]
    assert handle.state is State.QUEUED and peers and all(r.load == 60 for r in peers)
    mean_load = sum(r.load for r in handle.results) / len(handle.results)  # ours (1) and the peers' (60)
    # iMule averages the loads as an integer and backs off from when the store ended (within the 900 s run).
    assert mean_load > 50 and handle.not_before > 7 * 86400 * (int(mean_load) - 1) / 100
    assert world.stored.keywords[keyword_id("moon")]


def test_cover_publishes_are_kept_nowhere_and_walk_like_real_ones() -> None:
    for kind in (LookupKind.STORE_SOURCE, LookupKind.STORE_KEYWORD, LookupKind.STORE_NOTES):
        world = only(kind)
        world.run(1800)
        manager = world.core.lookup_manager
        assert manager.covers[kind] == manager.started[kind] >= 15
        assert not world.stored.keywords and not world.stored.sources
        stores = [m for _, d, m in world.sent if d != world.own and m.OPCODE in (0x18, 0x19, 0x1A)]
        assert len(stores) >= 9 * manager.started[kind]  # each asks about as many nodes as a real publish
        if kind is LookupKind.STORE_SOURCE:
            dests = {t.value[:4] for m in stores for t in m.tags if isinstance(t, AddressTag)}
            assert dests == {bytes(4)}
        if kind is LookupKind.STORE_KEYWORD:
            sizes = {t.value for m in stores for e in m.entries for t in e.tags if t.name == TagName.FILESIZE}
            assert sizes == {0}


def test_a_cancelled_running_lookup_runs_on_as_cover() -> None:
    def run(cancel: bool) -> tuple[list, list]:
        world = only(LookupKind.NODE)
        handle = world.core.find_node(1 << 100)
        world.run(32)
        assert handle.state is State.RUNNING
        if cancel:
            handle.cancel()
        world.run(300)
        return [(t, d, m) for t, d, m in world.sent], handle.results

    kept, _ = run(cancel=False)
    cancelled, results = run(cancel=True)
    assert [(t, d) for t, d, _ in cancelled] == [(t, d) for t, d, _ in kept]
    assert len(results) < 10


def test_caps_refuse_slots_and_drain_stops_them() -> None:
    world = only(LookupKind.NODE)
    world.core.lookup_manager._start_lookup = lambda: False
    world.run(200)
    manager = world.core.lookup_manager
    assert sum(manager.started.values()) == 0 and manager.refused_slots >= 6
    world = only(LookupKind.NODE)
    world.run(100)
    world.core.drain()
    before = sum(world.core.lookup_manager.started.values())
    world.run(300)  # running lookups end within their lifetime, and nothing new starts
    sent = world.core.counters.lookup_requests
    world.run(600)
    assert sum(world.core.lookup_manager.started.values()) == before and world.core.lookup_manager.running == 0
    assert world.core.counters.lookup_requests == sent and world.requests(Op.HELLO_REQ, since=300)  # upkeep goes on
