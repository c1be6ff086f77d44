"""The in-memory transport: best-effort delivery like I2P datagrams, one sender owner, bounded inboxes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import uvloop

from mule.transport.interface import Datagram, SenderAlreadyClaimed, TransportError
from mule.transport.memory import DESTINATION_BYTES, INBOX_DATAGRAMS, MemoryHub

LoopFactory = Callable[[], asyncio.AbstractEventLoop]
both_loops = pytest.mark.parametrize(
    "loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop], ids=["asyncio", "uvloop"]
)


@both_loops
def test_datagrams_arrive_with_their_source(loop_factory: LoopFactory) -> None:
    async def scenario() -> tuple[list[Datagram], list[tuple[bytes, ...]], bytes, bytes]:
        wire: list[tuple[bytes, ...]] = []
        hub = MemoryHub(tap=lambda *datagram: wire.append(datagram))
        alice, bob = hub.endpoint(), hub.endpoint()
        await alice.open()
        await bob.open()
        send = alice.claim_sender()
        send(bob.local_destination, b"one")
        send(bob.local_destination, b"two")
        received = [await bob.receive(), await bob.receive()]
        return received, wire, alice.local_destination, bob.local_destination

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        received, wire, alice, bob = runner.run(scenario())
    assert received == [Datagram(alice, b"one"), Datagram(alice, b"two")]
    assert wire == [(alice, bob, b"one"), (alice, bob, b"two")]
    assert len(alice) == DESTINATION_BYTES


def test_unknown_or_closed_destinations_lose_datagrams_silently() -> None:
    hub = MemoryHub()
    alice, bob = hub.endpoint(), hub.endpoint(b"bob")
    asyncio.run(alice.open())
    send = alice.claim_sender()
    send(b"nobody", b"lost")  # no error: like I2P, the sender cannot tell
    asyncio.run(bob.open())
    asyncio.run(bob.close())
    send(b"bob", b"lost too")
    assert bob.pending() == 0


def test_sending_from_a_closed_endpoint_is_a_transport_error() -> None:
    send = MemoryHub().endpoint().claim_sender()
    with pytest.raises(TransportError):
        send(b"anyone", b"x")


def test_the_sender_can_be_claimed_once() -> None:
    endpoint = MemoryHub().endpoint()
    endpoint.claim_sender()
    with pytest.raises(SenderAlreadyClaimed):
        endpoint.claim_sender()


def test_one_open_endpoint_per_destination() -> None:
    hub = MemoryHub()
    asyncio.run(hub.endpoint(b"same").open())
    with pytest.raises(TransportError):
        asyncio.run(hub.endpoint(b"same").open())


def test_inbox_is_bounded_and_drops_the_excess() -> None:
    hub = MemoryHub()
    alice, bob = hub.endpoint(), hub.endpoint()
    asyncio.run(alice.open())
    asyncio.run(bob.open())
    send = alice.claim_sender()
    for index in range(INBOX_DATAGRAMS + 10):
        send(bob.local_destination, index.to_bytes(2, "big"))
    assert bob.pending() == INBOX_DATAGRAMS


def test_a_deliver_hook_takes_delivery_over_without_a_loop() -> None:
    carried: list[tuple[bytes, ...]] = []
    tapped: list[tuple[bytes, ...]] = []
    hub = MemoryHub(tap=lambda *datagram: tapped.append(datagram), deliver=lambda *datagram: carried.append(datagram))
    alice = hub.endpoint(b"alice", stream_destination=b"alice's streams")
    bob = hub.endpoint(b"bob")
    alice.attach()
    bob.attach()
    send = alice.claim_sender()
    send(b"bob", b"later")
    send(b"nobody", b"the hook decides")
    assert carried == tapped == [(b"alice", b"bob", b"later"), (b"alice", b"nobody", b"the hook decides")]
    assert bob.pending() == 0  # the hook delivers, not the hub
    assert alice.stream_destination == b"alice's streams"
    alice.detach()
    with pytest.raises(TransportError):
        send(b"bob", b"after leaving")
