"""Protocol bytes, opcodes, tag types and tag names as iMule numbers them (not aMule's values)."""

from __future__ import annotations

from enum import IntEnum


class Protocol(IntEnum):
    KAD = 0x05
    KAD_PACKED = 0x06


class Op(IntEnum):
    # Kad1 ("deprecated"), still answered by iMule.
    KAD1_BOOTSTRAP_REQ = 0x01
    KAD1_BOOTSTRAP_RES = 0x02
    KAD1_HELLO_REQ = 0x03
    KAD1_HELLO_RES = 0x04
    KAD1_REQ = 0x05
    KAD1_RES = 0x06
    KAD1_SEARCH_REQ = 0x07
    KAD1_SEARCH_RES = 0x08
    KAD1_SEARCH_NOTES_REQ = 0x09
    KAD1_PUBLISH_REQ = 0x0A
    KAD1_PUBLISH_RES = 0x0B
    KAD1_PUBLISH_NOTES_REQ = 0x0C
    # Kad2: iMule's consecutive enum from 0x0D.
    BOOTSTRAP_REQ = 0x0D
    BOOTSTRAP_RES = 0x0E
    HELLO_REQ = 0x0F
    HELLO_RES = 0x10
    KADEMLIA_REQ = 0x11
    HELLO_RES_ACK = 0x12
    KADEMLIA_RES = 0x13
    SEARCH_KEY_REQ = 0x14
    SEARCH_SOURCE_REQ = 0x15
    SEARCH_NOTES_REQ = 0x16
    SEARCH_RES = 0x17
    PUBLISH_KEY_REQ = 0x18
    PUBLISH_SOURCE_REQ = 0x19
    PUBLISH_NOTES_REQ = 0x1A
    PUBLISH_RES = 0x1B
    PUBLISH_RES_ACK = 0x1C  # iMule sends it but has no handler for it
    FIREWALLED_REQ = 0x1D  # no handler in iMule
    PING = 0x1E
    PONG = 0x1F
    FIREWALL_UDP = 0x20  # no handler in iMule


class TagType(IntEnum):
    HASH16 = 0x01
    STRING = 0x02
    UINT32 = 0x03
    FLOAT32 = 0x04
    BOOL = 0x05
    BOOLARRAY = 0x06
    BLOB = 0x07
    UINT16 = 0x08
    UINT8 = 0x09
    BSOB = 0x0A
    STR1 = 0x11
    STR16 = 0x20
    STR17 = 0x21
    STR22 = 0x26
    ADDRESS = 0x27
    UINT64UINT64 = 0x28
    UINT64 = 0x29


class TagName(IntEnum):
    """iMule's renumbered file tags (an enum starting at 35)."""

    FILENAME = 0x23
    FILESIZE = 0x24
    FILETYPE = 0x25
    FILEFORMAT = 0x26
    DESCRIPTION = 0x2D
    SOURCES = 0x35
    FLAGS = 0x3C
    COMPLETE_SOURCES = 0x42
    MEDIA_ARTIST = 0x4A
    MEDIA_ALBUM = 0x4B
    MEDIA_TITLE = 0x4C
    MEDIA_LENGTH = 0x4D
    MEDIA_BITRATE = 0x4E
    MEDIA_CODEC = 0x4F
    FILERATING = 0x50
    SERVERDEST = 0x51
    SOURCEUDEST = 0x52
    SOURCEDEST = 0x53
    SOURCETYPE = 0x54
    PUBLISHINFO = 0x55
    KADMISCOPTIONS = 0x58
    ENCRYPTION = 0x59


class RequestType(IntEnum):
    """The contact-count byte of KADEMLIA2_REQ (masked with 0x1F by the receiver)."""

    FIND_VALUE = 0x02
    STORE = 0x04
    FIND_NODE = 0x0B


KAD_VERSION = 8  # what iMule announces; a contact with a higher version makes iMule drop the packet
HELLO_ACK_REQUESTED = 0x04  # TAG_KADMISCOPTIONS bit: "send me HELLO_RES_ACK"
