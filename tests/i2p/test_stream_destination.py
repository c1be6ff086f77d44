"""The separate stream (TCP) destination, kept as iMule keeps ``/i2p/tcpPrivKey`` beside ``/i2p/udpPrivKey``.

Generated once with ``DEST GENERATE SIGNATURE_TYPE=DSA_SHA1``, stored 0600 beside the datagram key file,
reused on every later start, and never given a session.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from fake_bridge import FakeBridge, Run, sam_transport

from mule.i2p.keys import KEY_FILE_NAME, STREAM_KEY_FILE_NAME, load_keys
from mule.i2p.session import DatagramPath
from mule.i2p.transport import SamTransport, SamTransportSettings
from mule.kad.destination import is_imule_destination, to_base64
from mule.node.config import SamAddress

PATHS = pytest.mark.parametrize("path", list(DatagramPath))


async def _start_and_stop(bridge: FakeBridge, data_dir: Path, path: DatagramPath) -> tuple[bytes, bytes, list[str]]:
    """One node start: its datagram and stream destinations and the commands the bridge saw meanwhile."""
    seen = len(bridge.commands)
    transport = sam_transport(bridge, data_dir, path)
    await transport.open()
    datagram, stream = transport.local_destination, transport.stream_destination
    sessions = [session.public for session in bridge.sessions.values()]
    assert sessions == [datagram]  # one session, on the datagram destination only
    await transport.close()
    return datagram, stream, bridge.commands[seen:]


@PATHS
def test_the_stream_destination_is_generated_once_stored_beside_the_datagram_key_and_reused(
    run: Run, tmp_path: Path, path: DatagramPath
) -> None:
    """Regression (fault 4): the transport named its datagram destination as its stream destination."""

    async def scenario() -> list[tuple[bytes, bytes, list[str]]]:
        bridge = await FakeBridge().start()
        starts = [await _start_and_stop(bridge, tmp_path, path) for _ in range(2)]
        await bridge.stop()
        return starts

    (datagram, stream, first), (datagram_again, stream_again, second) = run(scenario())
    assert stream != datagram and is_imule_destination(stream)
    assert (datagram_again, stream_again) == (datagram, stream)
    assert [line for line in first if line.startswith("DEST GENERATE")] == [
        "DEST GENERATE SIGNATURE_TYPE=DSA_SHA1",
        "DEST GENERATE SIGNATURE_TYPE=DSA_SHA1",
    ]
    assert not any(line.startswith("DEST GENERATE") for line in second)
    stored = load_keys(tmp_path / STREAM_KEY_FILE_NAME)
    assert stored is not None and stored.public == stream
    assert stat.S_IMODE((tmp_path / STREAM_KEY_FILE_NAME).stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([KEY_FILE_NAME, STREAM_KEY_FILE_NAME])
    # No session, stream or otherwise, is ever opened with the stream keys.
    assert not any(to_base64(stored.private) in line for line in first + second)
    assert not any(line.startswith("STREAM") for line in first + second)


def test_a_data_dir_from_before_gets_its_stream_key_and_keeps_its_datagram_key(run: Run, tmp_path: Path) -> None:
    async def scenario() -> tuple[bytes, bytes, list[str]]:
        bridge = await FakeBridge().start()
        before, _, _ = await _start_and_stop(bridge, tmp_path, DatagramPath.UDP)
        (tmp_path / STREAM_KEY_FILE_NAME).unlink()  # as a data dir written before the stream key existed
        after, stream, commands = await _start_and_stop(bridge, tmp_path, DatagramPath.UDP)
        await bridge.stop()
        assert before == after
        return after, stream, commands

    datagram, stream, commands = run(scenario())
    assert stream != datagram
    assert [line for line in commands if line.startswith("DEST GENERATE")] == ["DEST GENERATE SIGNATURE_TYPE=DSA_SHA1"]


def test_the_stream_destination_is_dsa_even_when_the_session_uses_another_signature_type(
    run: Run, tmp_path: Path
) -> None:
    """iMule accepts only 387-byte DSA-SHA1 destinations in a Kad contact, whatever the session runs on."""

    async def scenario() -> list[str]:
        bridge = await FakeBridge().start()
        settings = SamTransportSettings(udp_port=bridge.udp_port, signature_type="EdDSA_SHA512_Ed25519")
        transport = SamTransport(SamAddress("127.0.0.1", bridge.port), tmp_path, settings)
        await transport.open()
        await transport.close()
        await bridge.stop()
        return [line for line in bridge.commands if line.startswith("DEST GENERATE")]

    assert run(scenario()) == [
        "DEST GENERATE SIGNATURE_TYPE=EdDSA_SHA512_Ed25519",
        "DEST GENERATE SIGNATURE_TYPE=DSA_SHA1",
    ]
