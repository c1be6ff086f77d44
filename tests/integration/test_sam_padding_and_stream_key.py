"""Through real i2pd: a reply to a destination whose base64 ends in ``==``, and the stream (TCP) destination.

A 391-byte destination (EdDSA, with a key certificate) is written ``...==`` in I2P base64. mule's
command builders used to refuse the ``=`` and raised ``ValueError`` instead of sending; this shows
that i2pd takes the padded form on both datagram paths. The stream destination is generated once
by the router (``DEST GENERATE SIGNATURE_TYPE=DSA_SHA1``), kept beside the datagram key, and reused.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mule.i2p import testbed
from mule.i2p.keys import KEY_FILE_NAME, STREAM_KEY_FILE_NAME
from mule.i2p.session import DatagramPath, DatagramSession, SessionSpec
from mule.i2p.transport import SamTransport, SamTransportSettings
from mule.kad.destination import is_imule_destination, to_base64

pytestmark = pytest.mark.integration

ATTEMPTS = 5
ATTEMPT_WAIT_S = 10.0
PADDED_SIGNATURE_TYPE = "EdDSA_SHA512_Ed25519"


@pytest.mark.parametrize("path", list(DatagramPath))
def test_a_reply_reaches_a_destination_whose_base64_ends_in_padding(
    i2p_testbed: testbed.Testbed, require_delivery: testbed.DeliveryCheck, tmp_path: Path, path: DatagramPath
) -> None:
    async def scenario() -> tuple[bytes, list[bytes]]:
        first, second = i2p_testbed.pair()
        node = SamTransport(
            first.sam_address, tmp_path, SamTransportSettings(path=path, options=i2p_testbed.session_options)
        )
        replies: asyncio.Queue[bytes] = asyncio.Queue()
        spec = SessionSpec(
            second.sam_address.host,
            second.sam_address.port,
            f"mule-padded-{path}",
            None,
            path=path,
            signature_type=PADDED_SIGNATURE_TYPE,
            options=i2p_testbed.session_options,
        )
        peer, _ = await asyncio.gather(
            DatagramSession.create(spec, lambda source, payload: replies.put_nowait(payload)), node.open()
        )
        send = node.claim_sender()
        got: list[bytes] = []
        source = b""
        try:
            for _ in range(ATTEMPTS):  # I2P may drop a datagram: a few tries, each a full round trip
                peer.send(node.local_destination, b"ping")
                try:
                    request = await asyncio.wait_for(node.receive(), ATTEMPT_WAIT_S)
                except TimeoutError:
                    continue
                source = request.source
                send(source, b"pong")
                try:
                    got.append(await asyncio.wait_for(replies.get(), ATTEMPT_WAIT_S))
                    break
                except TimeoutError:
                    continue
        finally:
            await asyncio.gather(peer.close(), node.close())
        return source, got

    source, got = asyncio.run(scenario())
    assert len(source) == 391 and to_base64(source).endswith("=="), "the peer's destination is not the padded kind"
    assert got == [b"pong"]


def test_the_stream_destination_is_generated_by_the_router_once_and_kept(
    i2p_router: testbed.Router, i2p_testbed: testbed.Testbed, tmp_path: Path
) -> None:
    async def start_and_stop() -> tuple[bytes, bytes]:
        transport = SamTransport(
            i2p_router.sam_address, tmp_path, SamTransportSettings(options=i2p_testbed.session_options)
        )
        await transport.open()
        try:
            return transport.local_destination, transport.stream_destination
        finally:
            await transport.close()

    datagram, stream = asyncio.run(start_and_stop())
    stored = (tmp_path / STREAM_KEY_FILE_NAME).read_bytes()
    assert stream != datagram and is_imule_destination(stream)
    assert (
        (tmp_path / KEY_FILE_NAME).stat().st_mode & 0o777
        == (tmp_path / STREAM_KEY_FILE_NAME).stat().st_mode & 0o777
        == 0o600
    )
    assert asyncio.run(start_and_stop()) == (datagram, stream)
    assert (tmp_path / STREAM_KEY_FILE_NAME).read_bytes() == stored
