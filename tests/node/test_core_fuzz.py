"""10^5 hostile datagrams through the whole node core (not just the codec), on whichever core twin is loaded.

Inputs are mutations of valid datagrams of every kind iMule sends (plain, packed and obfuscated
for the node) from many peers. Nothing may escape as an exception, nothing malformed may be
answered, and the node must still answer a valid PING afterwards. ``scripts/run-tests`` runs the
suite once per twin, so this covers both.
"""

from __future__ import annotations

import random

import pytest

from mule.kad import kad1, messages
from mule.kad.contact import Kad1Contact
from mule.kad.errors import CodecError
from mule.kad.opcodes import RequestType
from mule.node import core as core_module
from tests.mutations import mutate
from tests.node.core_fixtures import OWN_ID, make_core, peers

DATAGRAMS = 100_000


def _corpus(peer) -> list:
    contact = peer.contact()
    kad1_contact = Kad1Contact(peer.kad_id, peer.destination, peer.destination)
    return [
        messages.Ping(),
        messages.Pong(),
        messages.HelloReq(contact),
        messages.HelloRes(contact),
        messages.HelloResAck(peer.kad_id),
        messages.BootstrapReq(),
        messages.BootstrapRes(peer.kad_id, 8, peer.destination, (contact,) * 3),
        messages.KademliaReq(RequestType.FIND_NODE, 5, OWN_ID, peer.kad_id),
        messages.KademliaRes(5, (contact,) * 4),
        messages.SearchSourceReq(9, 0, 1234),
        messages.SearchNotesReq(9, 0),
        kad1.Kad1HelloReq(kad1_contact),
        kad1.Kad1BootstrapReq(kad1_contact),
        kad1.Kad1Req(RequestType.FIND_NODE, 5, OWN_ID, peer.kad_id),
    ]


def _fuzz(monkeypatch: pytest.MonkeyPatch, count: int, *, lenient: bool = False):
    """Run ``count`` mutated datagrams through a fresh core; returns it and how many malformed inputs got answers.

    ``lenient`` swaps in a decoder that reads anything it cannot parse as a PING (the negative control).
    """
    outcomes: list[bool] = []
    real_decode = core_module.decode

    def decode(datagram: bytes):
        try:
            message = real_decode(datagram)
        except CodecError:
            outcomes.append(False)
            if lenient:
                return messages.Ping()
            raise
        outcomes.append(True)
        return message

    monkeypatch.setattr(core_module, "decode", decode)
    node = make_core()
    senders = peers(64)
    rng = random.Random(count)
    samples = [
        peer.seal(node, message, keyed=keyed)
        for peer in senders[:8]
        for message in _corpus(peer)
        for keyed in (False, True)
    ]
    malformed_answered = 0
    for i in range(count):
        sender = senders[rng.randrange(len(senders))]
        outcomes.clear()
        sends = node.receive(sender.destination, mutate(rng, samples[i % len(samples)]), i * 0.01)
        if outcomes == [False] and sends:
            malformed_answered += 1
    return node, malformed_answered


def test_hostile_datagrams_never_escape_never_get_answers_and_never_stop_the_node(monkeypatch: pytest.MonkeyPatch):
    node, malformed_answered = _fuzz(monkeypatch, DATAGRAMS)
    assert node.counters.faults == 0
    assert malformed_answered == 0
    assert node.counters.received == DATAGRAMS
    [asker] = peers(1, start=9_999)
    [pong] = asker.send(node, messages.Ping(), DATAGRAMS * 0.01 + 1.0)
    assert isinstance(asker.read(pong), messages.Pong)


def test_negative_control_a_lenient_decoder_is_caught(monkeypatch: pytest.MonkeyPatch):
    _, malformed_answered = _fuzz(monkeypatch, 2_000, lenient=True)
    assert malformed_answered > 0
