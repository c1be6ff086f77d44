"""What can go wrong talking to a SAM bridge, in three kinds a caller can act on.

``SamError`` is the router saying no (its ``RESULT`` code, kept verbatim);
``SamProtocolError`` is bytes that are not SAM as we accept it; ``SamConnectionError``
is no bridge, a dropped connection or a bridge that stopped answering;
``SamDatagramTooLarge`` and ``SamBadDestination`` are sends we refuse before the bridge
would choke on them. All derive from ``SamFailure``, which is what the transport catches.
"""

from __future__ import annotations


class SamFailure(Exception):
    """Any failure of a SAM exchange."""


class SamError(SamFailure):
    """The bridge answered with ``RESULT`` other than ``OK``."""

    def __init__(self, result: str, message: str = "", reply: str = "") -> None:
        self.result = result
        """The router's own result code (``I2P_ERROR``, ``DUPLICATED_ID``, ``INVALID_KEY``, ...)."""
        self.message = message
        """The router's ``MESSAGE``, if it gave one."""
        self.reply = reply
        """Which reply carried it (``SESSION STATUS``, ``NAMING REPLY``, ...)."""
        detail = f": {message}" if message else ""
        super().__init__(f"{reply or 'SAM'} RESULT={result}{detail}")


class SamProtocolError(SamFailure):
    """The bridge sent something that is not a SAM reply we accept (malformed, truncated, unexpected)."""


class SamDatagramTooLarge(SamFailure):
    """Refused before sending: the bridge could not take a datagram this large on this path."""


class SamBadDestination(SamFailure):
    """Refused before sending: the bytes given as the destination are not one whole I2P destination."""


class SamConnectionError(SamFailure):
    """No bridge answered, the connection dropped, or a reply did not come in time."""
