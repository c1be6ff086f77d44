"""The sans-IO node core against the faults found in the old node (issue: a node core no peer can break).

Each test drives ``NodeCore`` directly: datagrams in, datagrams to submit out, time as an argument.
"""

from __future__ import annotations

import pytest

from mule.kad import messages
from mule.kad.contact import Contact
from mule.kad.opcodes import RequestType
from mule.node import core as core_module
from mule.transport.memory import random_destination
from tests.node.core_fixtures import OWN_ID, make_core, peer_destination, peers, real_gate
from tests.node.fake_peer import FakePeer


def test_a_source_iMule_could_not_address_is_dropped_and_never_learnt():
    """The old node learnt a HELLO_REQ's malformed sender, then died encoding it in every BOOTSTRAP_RES."""
    node = make_core()
    hello = messages.HelloReq(Contact(8, 0xABC, random_destination())).encode()
    bad_sources = [b"short", random_destination()[:-1] + b"\x05", bytes(387), b"\x01" * 391]
    for source in bad_sources:
        assert node.receive(source, hello, 1.0) == []
    assert len(node.table) == 0 and node.counters.faults == 0
    # The node keeps answering everybody else, and what it lists can always be written.
    [asker] = peers(1)
    replies = asker.send(node, messages.BootstrapReq(), 2.0)
    assert [type(asker.read(r)) for r in replies] == [messages.BootstrapRes]


def test_answers_are_matched_on_the_whole_destination_not_its_first_four_bytes():
    """A ground destination sharing a seed's first four bytes must not answer for it (an eclipse in 600 s before)."""
    [seed] = peers(1)
    node = make_core(seeds=[seed.contact()])
    requests = []
    t = 0.0
    while not requests:
        t = node.next_tick
        requests = [s for s in node.tick(t) if s.destination == seed.destination]
    asked = seed.read(requests[0])
    impostor = FakePeer(0x1234, seed.destination[:4] + random_destination()[4:], 99)
    forged = {
        messages.BootstrapReq: messages.BootstrapRes(impostor.kad_id, 8, impostor.destination, ()),
        messages.HelloReq: messages.HelloRes(impostor.contact()),
        messages.KademliaReq: messages.KademliaRes(getattr(asked, "target", 0), (impostor.contact(),)),
    }[type(asked)]
    impostor.send(node, forged, t + 1.0, keyed=False)
    assert node.counters.unsolicited == 1 and len(node.table) == 0


def test_one_datagram_sybils_never_take_a_slot_and_honest_newcomers_still_enter():
    node = make_core()
    honest = peers(20, start=1)
    for n, peer in enumerate(honest):
        peer.handshake(node, 10.0 + n)
    assert {c.kad_id for c in node.table.contacts() if c.verified} == {p.kad_id for p in honest}
    before = {c.kad_id: c.destination for c in node.table.contacts()}
    sybils = peers(1280, start=10_000)
    for n, sybil in enumerate(sybils):
        replies = sybil.hello(node, 100.0 + n * 0.01)
        assert replies, "a stranger's HELLO is answered, as iMule answers it"
    assert {c.kad_id: c.destination for c in node.table.contacts()} == before  # not one sybil got in
    newcomers = peers(50, start=50_000)
    for n, peer in enumerate(newcomers):
        peer.handshake(node, 200.0 + n)
    verified = {c.kad_id for c in node.table.contacts() if c.verified}
    assert len(verified & {p.kad_id for p in newcomers}) >= 40  # only full zone-tree bins may refuse a few
    assert node.counters.faults == 0


def test_sybils_that_complete_the_handshake_and_go_silent_are_evicted():
    node = make_core()
    sybils = peers(40, start=7_000)
    for n, sybil in enumerate(sybils):
        sybil.handshake(node, 1.0 + n)
    held = {c.kad_id for c in node.table.contacts()} & {s.kad_id for s in sybils}
    assert held
    t = 60.0
    while t < 6 * 3600:  # they never answer a probe again
        t = node.next_tick
        node.tick(t)
    assert not {c.kad_id for c in node.table.contacts()} & held


def test_the_flood_gate_is_charged_before_anything_is_decoded(monkeypatch: pytest.MonkeyPatch):
    """Over-cap copies of a costly request must cost no decoding (110 KiB/s from one peer used to fill a core)."""
    decoded = []
    real_decode = core_module.decode
    monkeypatch.setattr(core_module, "decode", lambda datagram: decoded.append(1) or real_decode(datagram))
    shaper, clock = real_gate()
    node = make_core(admit=shaper.admit)
    [flooder] = peers(1)
    request = messages.KademliaReq(RequestType.FIND_NODE, 7, OWN_ID, flooder.kad_id)
    for _ in range(1000):
        flooder.send(node, request, clock.now(), keyed=False)
    assert len(decoded) == 30  # iMule's KADEMLIA2_REQ limit per peer and minute; the other 970 were never parsed


@pytest.mark.parametrize("boundary", ["decode", "handler", "encoder"])
def test_an_exception_at_any_boundary_is_counted_and_the_node_goes_on(monkeypatch, boundary):
    node = make_core()
    [asker] = peers(1)
    if boundary == "decode":
        monkeypatch.setattr(core_module, "decode", _raise)
    elif boundary == "handler":
        monkeypatch.setitem(node._requests, messages.Ping, _raise)
    else:
        monkeypatch.setattr(core_module, "seal", _raise)
    assert asker.send(node, messages.Ping(), 1.0) == []
    assert node.counters.faults == 1
    monkeypatch.undo()
    [pong] = asker.send(node, messages.Ping(), 2.0)
    assert isinstance(asker.read(pong), messages.Pong)


def test_an_upkeep_step_that_raises_is_counted_and_upkeep_goes_on(monkeypatch: pytest.MonkeyPatch):
    [seed] = peers(1)
    node = make_core(seeds=[seed.contact()])
    monkeypatch.setattr(node, "_maintenance", Broken())
    first = node.next_tick
    assert node.tick(first) == [] and node.counters.faults == 1
    assert node.next_tick > first  # re-armed
    monkeypatch.undo()
    sent = []
    while not sent:
        sent = node.tick(node.next_tick)
    assert sent[0].destination == seed.destination


def _raise(*args: object, **kwargs: object) -> object:
    raise RuntimeError("injected")


class Broken:
    tick = staticmethod(_raise)


def test_peer_destinations_built_for_tests_are_valid():
    import random

    from mule.kad.destination import hash_code, is_imule_destination

    dest = peer_destination(77, random.Random(0))
    assert is_imule_destination(dest) and hash_code(dest) == 77
