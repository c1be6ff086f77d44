"""The SAM control connection against the scripted bridge: replies, router errors, broken bridges."""

from __future__ import annotations

import asyncio
import socket

import pytest
from fake_bridge import DISCONNECT, ERROR_RESULTS, FakeBridge, Run

from mule.i2p.address import b32_address
from mule.i2p.errors import SamConnectionError, SamError, SamProtocolError
from mule.i2p.sam_client import ReaderCounters, SamConnection
from mule.kad.destination import is_imule_destination


async def _bridge() -> FakeBridge:
    return await FakeBridge().start()


def test_hello_dest_generate_and_naming(run: Run) -> None:
    async def scenario() -> None:
        bridge = await _bridge()
        connection = await SamConnection.open("127.0.0.1", bridge.port)
        assert connection.version == "3.1"
        keys = await connection.dest_generate()
        assert is_imule_destination(keys.public)
        with pytest.raises(SamError) as caught:
            await connection.naming_lookup("nobody.b32.i2p")
        assert caught.value.result == "KEY_NOT_FOUND"
        await connection.close()
        assert bridge.commands[:2] == ["HELLO VERSION MIN=3.0 MAX=3.3", "DEST GENERATE SIGNATURE_TYPE=DSA_SHA1"]
        await bridge.stop()

    run(scenario())


def test_session_create_then_naming_me_and_b32(run: Run) -> None:
    async def scenario() -> None:
        bridge = await _bridge()
        connection = await SamConnection.open("127.0.0.1", bridge.port)
        keys = await connection.create_session("s1", None, sink=lambda source, payload: None)
        assert await connection.naming_lookup("ME") == keys.public
        assert await connection.naming_lookup(b32_address(keys.public)) == keys.public
        assert "s1" in bridge.sessions
        await connection.close()
        await asyncio.sleep(0.01)
        assert "s1" not in bridge.sessions  # closing the control connection ends the session
        await bridge.stop()

    run(scenario())


@pytest.mark.parametrize("result", ERROR_RESULTS)
def test_every_router_error_on_session_create_is_a_sam_error(run: Run, result: str) -> None:
    async def scenario() -> SamError:
        bridge = await _bridge()
        bridge.play("SESSION", "CREATE", f"SESSION STATUS RESULT={result} MESSAGE=as scripted\n".encode())
        connection = await SamConnection.open("127.0.0.1", bridge.port)
        try:
            with pytest.raises(SamError) as caught:
                await connection.create_session("s1", None, sink=lambda source, payload: None)
            return caught.value
        finally:
            await connection.close()
            await bridge.stop()

    error = run(scenario())
    assert (error.result, error.message, error.reply) == (result, "as scripted", "SESSION STATUS")


def test_real_duplicates_and_bad_keys_come_back_as_the_routers_codes(run: Run) -> None:
    async def scenario() -> list[str]:
        bridge = await _bridge()
        first = await SamConnection.open("127.0.0.1", bridge.port)
        keys = await first.create_session("s1", None, sink=lambda source, payload: None)
        results = []
        for session_id, session_keys in (("s1", None), ("s2", keys)):
            other = await SamConnection.open("127.0.0.1", bridge.port)
            with pytest.raises(SamError) as caught:
                await other.create_session(session_id, session_keys, sink=lambda source, payload: None)
            results.append(caught.value.result)
            await other.close()
        await first.close()
        await bridge.stop()
        return results

    assert run(scenario()) == ["DUPLICATED_ID", "DUPLICATED_DEST"]


@pytest.mark.parametrize(
    ("answer", "error", "match"),
    [
        (b"HELLO REPLY RESULT=NOVERSION\n", SamError, "NOVERSION"),
        (b"HELLO REPLY RESULT=I2P_ERROR\n", SamError, "I2P_ERROR"),
        (b"HELLO REPLY RESULT=OK\n", SamProtocolError, "lacks VERSION"),
        (b"SESSION STATUS RESULT=OK\n", SamProtocolError, "expected HELLO REPLY"),
        (b"HELLO REPLY garbage\n", SamProtocolError, "without a value"),
        (b"HELLO REPLY RESULT=OK VERSION=" + b"9" * 20000 + b"\n", SamProtocolError, "longer than"),
        (DISCONNECT, SamConnectionError, "closed the connection"),
    ],
)
def test_hello_answers_that_are_refused(run: Run, answer: bytes, error: type[Exception], match: str) -> None:
    async def scenario() -> None:
        bridge = await _bridge()
        bridge.play("HELLO", "VERSION", answer)
        with pytest.raises(error, match=match):
            await SamConnection.open("127.0.0.1", bridge.port)
        await bridge.stop()

    run(scenario())


def test_truncated_reply_then_hangup(run: Run) -> None:
    async def scenario() -> None:
        bridge = await _bridge()
        bridge.play("HELLO", "VERSION", b"HELLO REPLY RESULT=OK VERS", hang_up=True)
        with pytest.raises(SamProtocolError, match="middle of a line"):
            await SamConnection.open("127.0.0.1", bridge.port)
        await bridge.stop()

    run(scenario())


def test_truncated_datagram_ends_the_connection(run: Run) -> None:
    async def scenario() -> None:
        bridge = await _bridge()
        bridge.play("NAMING", "LOOKUP", b"DATAGRAM RECEIVED DESTINATION=abc SIZE=100\nonly a few bytes", hang_up=True)
        connection = await SamConnection.open("127.0.0.1", bridge.port)
        await connection.create_session("s1", None, sink=lambda source, payload: None)
        with pytest.raises(SamProtocolError, match="middle of a datagram"):
            await connection.naming_lookup("ME")
        assert isinstance(await connection.wait_closed(), SamProtocolError)
        await bridge.stop()

    run(scenario())


def test_unsolicited_replies_and_premature_datagrams_are_read_past(run: Run) -> None:
    """Neither answers anything of ours nor hides where the next line starts: counted, skipped, the connection
    stays usable (it used to end it)."""

    async def scenario() -> tuple[SamError, ReaderCounters, bool]:
        bridge = await _bridge()
        bridge.play(
            "HELLO",
            "VERSION",
            b"HELLO REPLY RESULT=OK VERSION=3.0\nNAMING REPLY RESULT=OK NAME=ME VALUE=x\n"
            b"DATAGRAM RECEIVED DESTINATION=abc SIZE=1\nx",
        )
        connection = await SamConnection.open("127.0.0.1", bridge.port)
        with pytest.raises(SamError) as caught:
            await connection.naming_lookup("nobody.b32.i2p")  # the real answer still reaches its request
        is_open = connection.is_open
        await connection.close()
        await bridge.stop()
        return caught.value, connection.counters, is_open

    error, counters, is_open = run(scenario())
    assert error.result == "KEY_NOT_FOUND" and is_open
    assert counters == ReaderCounters(skipped_lines=1, dropped_datagrams=1, sink_errors=0)


def test_no_bridge_and_a_silent_bridge_are_connection_errors(run: Run) -> None:
    async def scenario() -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free_port = probe.getsockname()[1]
        with pytest.raises(SamConnectionError, match="no SAM bridge answers"):
            await SamConnection.open("127.0.0.1", free_port)
        bridge = await _bridge()
        bridge.swallow.add(("HELLO", "VERSION"))
        with pytest.raises(SamConnectionError, match="no HELLO REPLY within"):
            await SamConnection.open("127.0.0.1", bridge.port, timeout=0.05)
        await bridge.stop()

    run(scenario())


def test_a_command_the_bridge_does_not_know_gets_the_connection_closed(run: Run) -> None:
    async def scenario() -> None:
        bridge = await _bridge()
        connection = await SamConnection.open("127.0.0.1", bridge.port)
        with pytest.raises(SamConnectionError):
            await connection.request(b"BOGUS COMMAND\n", "BOGUS", "REPLY")
        await bridge.stop()

    run(scenario())


def test_a_reply_of_the_wrong_kind_ends_the_connection_but_a_router_no_does_not(run: Run) -> None:
    async def scenario() -> None:
        bridge = await _bridge()
        connection = await SamConnection.open("127.0.0.1", bridge.port)
        with pytest.raises(SamError, match="KEY_NOT_FOUND"):
            await connection.naming_lookup("nobody.b32.i2p")
        assert connection.is_open
        bridge.play("NAMING", "LOOKUP", b"SESSION STATUS RESULT=OK DESTINATION=x\n")
        with pytest.raises(SamProtocolError, match="expected NAMING REPLY"):
            await connection.naming_lookup("ME")
        assert not connection.is_open
        await connection.close()
        await bridge.stop()

    run(scenario())
