"""Datagram delivery through real i2pd on both SAM datagram paths, via mule's SamTransport.

Skipped loudly (``require_delivery``) when the test bed delivers no datagrams; never passed unrun.
Sends are paced like the shaper paces them; each side must receive every datagram the other sent.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mule.i2p import testbed
from mule.i2p.session import DatagramPath
from mule.i2p.transport import MAX_DATAGRAM_BYTES, SamTransport, SamTransportSettings
from mule.transport.interface import Datagram, SendDatagram, TransportError

pytestmark = pytest.mark.integration

DATAGRAMS_EACH_WAY = 100
SEND_INTERVAL_S = 0.05
DELIVERY_WAIT_S = 60.0
PATHS = pytest.mark.parametrize("path", list(DatagramPath))
I2PD_TCP_SEND_FITS = 7639
"""Payload whose DATAGRAM SEND (to a DSA destination) is exactly 8192 bytes."""
I2PD_TCP_RECEIVE_FITS = 7634
"""Largest payload i2pd 2.45.1 still writes to a session socket as DATAGRAM RECEIVED (from a DSA sender)."""


async def _pair(bed: testbed.Testbed, root: Path, path: DatagramPath) -> tuple[SamTransport, SamTransport]:
    settings = SamTransportSettings(path=path, options=bed.session_options)
    first, second = bed.pair()
    transports = []
    for name, router in (("a", first), ("b", second)):
        (root / name).mkdir()
        transports.append(SamTransport(router.sam_address, root / name, settings))
    await asyncio.gather(*(transport.open() for transport in transports))
    return transports[0], transports[1]


async def _collect(transport: SamTransport, wanted: int, into: list[Datagram]) -> None:
    while len(into) < wanted:
        into.append(await transport.receive())


async def _exchange(
    a: SamTransport,
    b: SamTransport,
    payloads: list[bytes],
    claimed: tuple[SendDatagram | None, SendDatagram | None] = (None, None),
) -> tuple[list[Datagram], list[Datagram]]:
    """Send every payload both ways (paced), then wait for the rest; whatever arrived by then is returned.

    ``claimed`` passes senders a test already claimed (a transport hands its sender out once)."""
    at_a: list[Datagram] = []
    at_b: list[Datagram] = []
    collectors = [
        asyncio.create_task(_collect(b, len(payloads), at_b)),
        asyncio.create_task(_collect(a, len(payloads), at_a)),
    ]
    to_b = claimed[0] or a.claim_sender()
    to_a = claimed[1] or b.claim_sender()
    for payload in payloads:
        to_b(b.local_destination, payload)
        to_a(a.local_destination, payload)
        await asyncio.sleep(SEND_INTERVAL_S)
    await asyncio.wait(collectors, timeout=DELIVERY_WAIT_S)
    for task in collectors:
        task.cancel()
    return at_a, at_b


@PATHS
def test_100_datagrams_each_way(
    i2p_testbed: testbed.Testbed, require_delivery: testbed.DeliveryCheck, tmp_path: Path, path: DatagramPath
) -> None:
    async def scenario() -> tuple[list[Datagram], list[Datagram], bytes, bytes]:
        a, b = await _pair(i2p_testbed, tmp_path, path)
        try:
            payloads = [f"mule {path} datagram {i:03d} ".encode() * 4 for i in range(DATAGRAMS_EACH_WAY)]
            at_a, at_b = await _exchange(a, b, payloads)
            return at_a, at_b, a.local_destination, b.local_destination
        finally:
            await asyncio.gather(a.close(), b.close())

    at_a, at_b, a, b = asyncio.run(scenario())
    assert {d.source for d in at_b} <= {a} and {d.source for d in at_a} <= {b}
    delivered = (len({d.payload for d in at_b}), len({d.payload for d in at_a}))
    assert delivered == (DATAGRAMS_EACH_WAY, DATAGRAMS_EACH_WAY), f"{path}: delivered A->B, B->A = {delivered}"


def test_the_largest_datagram_goes_through_forwarded_udp(
    i2p_testbed: testbed.Testbed, require_delivery: testbed.DeliveryCheck, tmp_path: Path
) -> None:
    """10240 bytes (iMule's SAM_DGRAM_PAYLOAD_MAX). Only the UDP path: i2pd's session socket parses
    DATAGRAM SEND / RECEIVED in an 8 KiB buffer (docs/sam.md), so the TCP path cannot carry it."""

    async def scenario() -> tuple[list[Datagram], list[Datagram]]:
        a, b = await _pair(i2p_testbed, tmp_path, DatagramPath.UDP)
        try:
            largest = [bytes(range(256)) * (MAX_DATAGRAM_BYTES // 256)]
            return await _exchange(a, b, largest * 3)  # three tries each way: I2P may drop one
        finally:
            await asyncio.gather(a.close(), b.close())

    at_a, at_b = asyncio.run(scenario())
    assert at_a and at_b, f"largest datagram delivered A->B {len(at_b)}/3, B->A {len(at_a)}/3"
    assert all(len(d.payload) == MAX_DATAGRAM_BYTES for d in at_a + at_b)


def test_the_tcp_path_carries_what_fits_i2pds_session_buffer(
    i2p_testbed: testbed.Testbed, require_delivery: testbed.DeliveryCheck, tmp_path: Path
) -> None:
    """i2pd 2.45.1 parses the session socket in 8 KiB: mule refuses a DATAGRAM SEND over 8192 bytes (it would
    wedge the session), and i2pd drops an inbound datagram over 7634 bytes (DSA sender). Both are pinned here."""

    async def scenario() -> tuple[list[Datagram], list[Datagram], bool]:
        a, b = await _pair(i2p_testbed, tmp_path, DatagramPath.TCP)
        try:
            send = a.claim_sender()
            with pytest.raises(TransportError, match="exceeds 8192"):
                send(b.local_destination, bytes(I2PD_TCP_SEND_FITS + 1))
            at_a, at_b = await _exchange(a, b, [bytes(I2PD_TCP_RECEIVE_FITS)] * 3, claimed=(send, None))
            return at_a, at_b, a.is_up and b.is_up
        finally:
            await asyncio.gather(a.close(), b.close())

    at_a, at_b, still_up = asyncio.run(scenario())
    assert still_up
    assert at_a and at_b, f"{I2PD_TCP_RECEIVE_FITS}-byte datagram delivered A->B {len(at_b)}/3, B->A {len(at_a)}/3"
