"""SAM v3 on the wire, sans-IO: the command lines we send and a strict parser for the bridge's replies.

A reply line is ``TOPIC KIND KEY=VALUE ...``; a value is bare or double-quoted (with
``\\"`` and ``\\\\`` escapes inside quotes, SAM 3.2). Anything else — an unknown form,
a bare word, a repeated key, an unterminated quote — is a ``SamProtocolError``. A
``RESULT`` other than ``OK`` becomes one ``SamError`` carrying the router's own result
code and message, whatever the code is. No I/O here: callers hand in lines without
their ``\\n`` and get bytes back to write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mule.i2p.errors import SamError, SamProtocolError

SAM_MIN_VERSION = "3.0"
SAM_MAX_VERSION = "3.3"
MAX_LINE_BYTES = 16384
"""Longest reply line accepted; the longest real one (a SESSION STATUS with private keys) is about 1 KiB."""
MAX_RECEIVED_DATAGRAM_BYTES = 65536
"""A bridge announcing a larger inbound datagram is not speaking SAM we accept (I2P datagrams are < 64 KiB)."""
UDP_DATAGRAM_VERSION = "3.0"
"""The version word that starts a datagram sent to the bridge's UDP port."""
RESULT_OK = "OK"

# Values the bridge may send unquoted although they contain spaces (i2pd writes
# ``MESSAGE=Unknown STYLE``); by convention the key is last, so it takes the rest of the line.
_REST_OF_LINE_KEYS = frozenset({"MESSAGE"})
# A value may hold "=": both routers split a field at its first "=", and I2P base64 pads with "=" (a destination
# whose length is not a multiple of 3, e.g. 391 bytes with a key certificate, ends in "==").
_FORBIDDEN_IN_VALUE = frozenset(' \t\r\n"')
_FORBIDDEN_IN_KEY = _FORBIDDEN_IN_VALUE | {"="}
REPLY_KINDS = frozenset({("HELLO", "REPLY"), ("DEST", "REPLY"), ("NAMING", "REPLY"), ("SESSION", "STATUS")})
"""The replies to the commands we send; any other line but DATAGRAM RECEIVED answers nothing of ours."""


@dataclass(frozen=True, slots=True)
class SamReply:
    topic: str
    kind: str
    fields: Mapping[str, str]

    def require(self, key: str) -> str:
        try:
            return self.fields[key]
        except KeyError:
            raise SamProtocolError(f"{self.topic} {self.kind} reply lacks {key}") from None

    def check_result(self, *, required: bool = True) -> None:
        """Raise ``SamError`` unless ``RESULT=OK`` (a missing RESULT is only accepted when not ``required``)."""
        result = self.fields.get("RESULT")
        if result is None:
            if required:
                raise SamProtocolError(f"{self.topic} {self.kind} reply lacks RESULT")
            return
        if result != RESULT_OK:
            raise SamError(result, self.fields.get("MESSAGE", ""), f"{self.topic} {self.kind}")


def parse_reply(line: bytes) -> SamReply:
    """One reply line (without its newline) as topic, kind and fields; strict."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SamProtocolError("reply is not UTF-8") from exc
    if text.endswith("\r"):
        text = text[:-1]
    words = text.split(" ", 2)
    if len(words) < 2 or not words[0].isalpha() or not words[1].isalpha():
        raise SamProtocolError(f"reply has no TOPIC KIND: {_preview(text)}")
    fields = _parse_fields(words[2] if len(words) == 3 else "")
    return SamReply(words[0].upper(), words[1].upper(), fields)


def expect(reply: SamReply, topic: str, kind: str) -> SamReply:
    if (reply.topic, reply.kind) != (topic, kind):
        raise SamProtocolError(f"expected {topic} {kind}, got {reply.topic} {reply.kind}")
    return reply


def _parse_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    position = 0
    while position < len(text):
        if text[position] == " ":
            position += 1
            continue
        equals = text.find("=", position)
        space = text.find(" ", position)
        if equals < 0 or (0 <= space < equals):
            raise SamProtocolError(f"reply field without a value: {_preview(text[position:])}")
        key = text[position:equals]
        if not key.replace("_", "").isalnum():
            raise SamProtocolError(f"reply field has an invalid key: {_preview(key)}")
        if key in fields:
            raise SamProtocolError(f"reply repeats {key}")
        position = equals + 1
        if text.startswith('"', position):
            value, position = _quoted_value(text, position + 1)
        elif key in _REST_OF_LINE_KEYS:
            value, position = text[position:], len(text)
        else:
            end = text.find(" ", position)
            end = len(text) if end < 0 else end
            value = text[position:end]
            if '"' in value:
                raise SamProtocolError(f"stray quote in the value of {key}")
            position = end
        fields[key] = value
    return fields


def _quoted_value(text: str, position: int) -> tuple[str, int]:
    chars: list[str] = []
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text) and text[position + 1] in '"\\':
            chars.append(text[position + 1])
            position += 2
        elif char == '"':
            if position + 1 < len(text) and text[position + 1] != " ":
                raise SamProtocolError("quoted value runs into the next field")
            return "".join(chars), position + 1
        else:
            chars.append(char)
            position += 1
    raise SamProtocolError("unterminated quoted value")


def _preview(text: str) -> str:
    return repr(text[:60] + ("..." if len(text) > 60 else ""))


# --- commands ----------------------------------------------------------------------------------


def _command(topic: str, kind: str, fields: Mapping[str, str | int]) -> bytes:
    parts = [topic, kind]
    for key, value in fields.items():
        text = str(value)
        if not key or _FORBIDDEN_IN_KEY.intersection(key):
            raise ValueError(f"SAM key {key!r} must be a non-empty word without spaces, quotes or '='")
        if not text or _FORBIDDEN_IN_VALUE.intersection(text):
            raise ValueError(f"SAM value for {key} must be a non-empty word without spaces or quotes")
        parts.append(f"{key}={text}")
    return (" ".join(parts) + "\n").encode("utf-8")


def hello_command(minimum: str = SAM_MIN_VERSION, maximum: str = SAM_MAX_VERSION) -> bytes:
    return _command("HELLO", "VERSION", {"MIN": minimum, "MAX": maximum})


def dest_generate_command(signature_type: str) -> bytes:
    return _command("DEST", "GENERATE", {"SIGNATURE_TYPE": signature_type})


def naming_lookup_command(name: str) -> bytes:
    return _command("NAMING", "LOOKUP", {"NAME": name})


def session_create_command(
    session_id: str,
    private_keys_b64: str,
    *,
    signature_type: str,
    forward: tuple[str, int] | None = None,
    options: Mapping[str, str] | None = None,
) -> bytes:
    """``SESSION CREATE STYLE=DATAGRAM``; with ``forward=(host, port)`` the bridge sends datagrams there over UDP."""
    fields: dict[str, str | int] = {"STYLE": "DATAGRAM", "ID": session_id, "DESTINATION": private_keys_b64}
    fields["SIGNATURE_TYPE"] = signature_type
    if forward is not None:
        fields["HOST"], fields["PORT"] = forward
    fields.update(options or {})
    return _command("SESSION", "CREATE", fields)


def datagram_send_command(destination_b64: str, payload: bytes) -> bytes:
    """``DATAGRAM SEND`` on the session's TCP socket: the header line, then the payload (no reply)."""
    return _command("DATAGRAM", "SEND", {"DESTINATION": destination_b64, "SIZE": len(payload)}) + payload


def udp_datagram(session_id: str, destination_b64: str, payload: bytes) -> bytes:
    """A datagram for the bridge's UDP port: ``3.0 <session id> <destination>\\n<payload>``."""
    for word in (session_id, destination_b64):
        if not word or _FORBIDDEN_IN_VALUE.intersection(word):
            raise ValueError("session id and destination must be single words")
    return f"{UDP_DATAGRAM_VERSION} {session_id} {destination_b64}\n".encode() + payload


# --- inbound datagrams -------------------------------------------------------------------------


def datagram_received(reply: SamReply) -> tuple[str | None, int]:
    """``DATAGRAM RECEIVED DESTINATION=.. SIZE=n``: the sender (base64; ``None`` if absent) and the payload size.

    Without a usable ``SIZE`` nobody knows where the payload ends, so that is a ``SamProtocolError``;
    a missing sender is not: the payload can still be read past and dropped.
    """
    expect(reply, "DATAGRAM", "RECEIVED")
    size_text = reply.require("SIZE")
    # str.isdigit() also accepts "²" and other digits int() refuses: only ASCII 0-9 is a SAM size.
    if not (size_text.isascii() and size_text.isdigit()) or int(size_text) > MAX_RECEIVED_DATAGRAM_BYTES:
        raise SamProtocolError(f"DATAGRAM RECEIVED has an invalid SIZE {_preview(size_text)}")
    return reply.fields.get("DESTINATION"), int(size_text)


def forwarded_datagram(data: bytes) -> tuple[str, bytes]:
    """A datagram the bridge forwarded to our UDP port: ``<destination>[ FROM_PORT=.. TO_PORT=..]\\n<payload>``."""
    head, newline, payload = data.partition(b"\n")
    if not newline or len(head) > MAX_LINE_BYTES:
        raise SamProtocolError("forwarded datagram has no header line")
    try:
        words = head.decode("ascii").split(" ")
    except UnicodeDecodeError as exc:
        raise SamProtocolError("forwarded datagram header is not ASCII") from exc
    if not words[0] or any("=" not in word for word in words[1:]):
        raise SamProtocolError("forwarded datagram header is malformed")
    return words[0], payload
