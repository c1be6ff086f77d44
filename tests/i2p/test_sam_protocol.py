"""The sans-IO SAM codec: every reply form, every error result, and what strict parsing refuses."""

from __future__ import annotations

import pytest
from fake_bridge import ERROR_RESULTS

from mule.i2p import sam_protocol as sam
from mule.i2p.errors import SamError, SamProtocolError


@pytest.mark.parametrize(
    ("line", "topic", "kind", "fields"),
    [
        (b"HELLO REPLY RESULT=OK VERSION=3.1", "HELLO", "REPLY", {"RESULT": "OK", "VERSION": "3.1"}),
        (b"DEST REPLY PUB=abc~ PRIV=de-f==", "DEST", "REPLY", {"PUB": "abc~", "PRIV": "de-f=="}),
        (b"SESSION STATUS RESULT=OK DESTINATION=xyz", "SESSION", "STATUS", {"RESULT": "OK", "DESTINATION": "xyz"}),
        (b"NAMING REPLY RESULT=OK NAME=ME VALUE=v", "NAMING", "REPLY", {"RESULT": "OK", "NAME": "ME", "VALUE": "v"}),
        (b"DATAGRAM RECEIVED DESTINATION=d SIZE=5", "DATAGRAM", "RECEIVED", {"DESTINATION": "d", "SIZE": "5"}),
        (
            b"DATAGRAM RECEIVED DESTINATION=d SIZE=5 FROM_PORT=0 TO_PORT=0",
            "DATAGRAM",
            "RECEIVED",
            {"DESTINATION": "d", "SIZE": "5", "FROM_PORT": "0", "TO_PORT": "0"},
        ),
        (
            b'SESSION STATUS RESULT=I2P_ERROR MESSAGE="no \\"tunnels\\" \\\\ yet"',
            "SESSION",
            "STATUS",
            {"RESULT": "I2P_ERROR", "MESSAGE": 'no "tunnels" \\ yet'},
        ),
        (
            b"SESSION STATUS RESULT=I2P_ERROR MESSAGE=Unknown STYLE",
            "SESSION",
            "STATUS",
            {"RESULT": "I2P_ERROR", "MESSAGE": "Unknown STYLE"},
        ),
        (b"HELLO REPLY RESULT=OK VERSION=3.0\r", "HELLO", "REPLY", {"RESULT": "OK", "VERSION": "3.0"}),
        (b"HELLO REPLY  RESULT=OK", "HELLO", "REPLY", {"RESULT": "OK"}),
        (b'NAMING REPLY RESULT=OK NAME="" VALUE=v', "NAMING", "REPLY", {"RESULT": "OK", "NAME": "", "VALUE": "v"}),
    ],
)
def test_every_reply_form_parses(line: bytes, topic: str, kind: str, fields: dict[str, str]) -> None:
    reply = sam.parse_reply(line)
    assert (reply.topic, reply.kind, dict(reply.fields)) == (topic, kind, fields)


@pytest.mark.parametrize("result", ERROR_RESULTS)
@pytest.mark.parametrize("form", ["HELLO REPLY", "SESSION STATUS", "NAMING REPLY", "DEST REPLY"])
def test_every_error_result_is_one_typed_error_with_the_routers_code(form: str, result: str) -> None:
    reply = sam.parse_reply(f'{form} RESULT={result} MESSAGE="router says no"'.encode())
    with pytest.raises(SamError) as caught:
        reply.check_result()
    assert caught.value.result == result
    assert caught.value.message == "router says no"
    assert caught.value.reply == form
    assert result in str(caught.value)


def test_ok_passes_and_a_missing_result_is_only_allowed_where_sam_omits_it() -> None:
    sam.parse_reply(b"HELLO REPLY RESULT=OK VERSION=3.0").check_result()
    sam.parse_reply(b"DEST REPLY PUB=a PRIV=b").check_result(required=False)
    with pytest.raises(SamProtocolError, match="lacks RESULT"):
        sam.parse_reply(b"SESSION STATUS DESTINATION=x").check_result()


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"HELLO",
        b"HELLO REPLY RESULT",
        b"HELLO REPLY RESULT=OK VERSION",
        b"HELLO REPLY RESULT=OK RESULT=OK",
        b'HELLO REPLY RESULT="OK',
        b'HELLO REPLY RESULT="OK"VERSION=3',
        b'HELLO REPLY RESULT=O"K',
        b"HELLO REPLY =OK",
        b"HELLO REPLY RE-SULT=OK",
        b"HELLO 3.0 RESULT=OK",
        b"HELLO REPLY RESULT=\xff",
    ],
)
def test_malformed_replies_are_protocol_errors(line: bytes) -> None:
    with pytest.raises(SamProtocolError):
        sam.parse_reply(line)


def test_expect_and_require_refuse_the_wrong_reply() -> None:
    reply = sam.parse_reply(b"NAMING REPLY RESULT=OK NAME=ME")
    with pytest.raises(SamProtocolError, match="expected SESSION STATUS"):
        sam.expect(reply, "SESSION", "STATUS")
    with pytest.raises(SamProtocolError, match="lacks VALUE"):
        reply.require("VALUE")


def test_commands_are_single_lines() -> None:
    assert sam.hello_command() == b"HELLO VERSION MIN=3.0 MAX=3.3\n"
    assert sam.dest_generate_command("DSA_SHA1") == b"DEST GENERATE SIGNATURE_TYPE=DSA_SHA1\n"
    assert sam.naming_lookup_command("ME") == b"NAMING LOOKUP NAME=ME\n"
    assert sam.session_create_command("s1", "KEYS", signature_type="DSA_SHA1") == (
        b"SESSION CREATE STYLE=DATAGRAM ID=s1 DESTINATION=KEYS SIGNATURE_TYPE=DSA_SHA1\n"
    )
    forwarded = sam.session_create_command(
        "s1", "TRANSIENT", signature_type="DSA_SHA1", forward=("127.0.0.1", 4000), options={"inbound.length": "0"}
    )
    assert forwarded == (
        b"SESSION CREATE STYLE=DATAGRAM ID=s1 DESTINATION=TRANSIENT SIGNATURE_TYPE=DSA_SHA1"
        b" HOST=127.0.0.1 PORT=4000 inbound.length=0\n"
    )
    assert sam.datagram_send_command("DEST", b"a\nb") == b"DATAGRAM SEND DESTINATION=DEST SIZE=3\na\nb"
    assert sam.udp_datagram("s1", "DEST", b"\x00\n") == b"3.0 s1 DEST\n\x00\n"


@pytest.mark.parametrize("bad", ["", "two words", 'quo"te', "line\nbreak", "tab\there"])
def test_commands_refuse_values_that_would_break_the_line(bad: str) -> None:
    with pytest.raises(ValueError):
        sam.naming_lookup_command(bad)
    with pytest.raises(ValueError):
        sam.udp_datagram(bad or " ", "DEST", b"")


def test_datagram_received_header() -> None:
    reply = sam.parse_reply(b"DATAGRAM RECEIVED DESTINATION=abc SIZE=10240")
    assert sam.datagram_received(reply) == ("abc", 10240)
    for size in ("-1", "x", str(sam.MAX_RECEIVED_DATAGRAM_BYTES + 1)):
        with pytest.raises(SamProtocolError, match="SIZE"):
            sam.datagram_received(sam.parse_reply(f"DATAGRAM RECEIVED DESTINATION=abc SIZE={size}".encode()))
    with pytest.raises(SamProtocolError, match="lacks SIZE"):
        sam.datagram_received(sam.parse_reply(b"DATAGRAM RECEIVED DESTINATION=abc"))
    assert sam.datagram_received(sam.parse_reply(b"DATAGRAM RECEIVED SIZE=3")) == (None, 3)  # read past, dropped


@pytest.mark.parametrize("size", ["\u00b2", "\u0663", "\uff11", "1_0", " 1", "+1", "0x10", ""])
def test_a_size_that_is_not_ascii_decimal_is_refused_not_crashed_on(size: str) -> None:
    """``"²".isdigit()`` is true and ``int("²")`` raises ValueError: that killed the reader; ``int("٣")`` is 3."""
    line = f"DATAGRAM RECEIVED DESTINATION=abc SIZE={size}".encode()
    with pytest.raises(SamProtocolError):
        sam.datagram_received(sam.parse_reply(line))


def test_values_may_hold_base64_padding_but_keys_may_not_hold_equals() -> None:
    """I2P base64 pads with "=": a 391-byte destination ends in "==" and must go out as it is."""
    assert sam.datagram_send_command("AAAA==", b"x") == b"DATAGRAM SEND DESTINATION=AAAA== SIZE=1\nx"
    assert sam.udp_datagram("s1", "AAAA==", b"x") == b"3.0 s1 AAAA==\nx"
    with pytest.raises(ValueError):
        sam.session_create_command("s1", "KEYS", signature_type="DSA_SHA1", options={"a=b": "c"})


def test_forwarded_datagrams_in_both_header_forms() -> None:
    assert sam.forwarded_datagram(b"abc~\npay\nload") == ("abc~", b"pay\nload")
    assert sam.forwarded_datagram(b"abc FROM_PORT=0 TO_PORT=0\n") == ("abc", b"")
    for bad in (b"no newline", b"\npayload", b"abc junk\nx", b"\xff\xfe\nx"):
        with pytest.raises(SamProtocolError):
            sam.forwarded_datagram(bad)
