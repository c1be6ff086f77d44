"""What a lookup asks: its spec, and the requests iMule 2.3.3.3 sends for it to a peer of a given version.

The forms follow ``Search.cpp`` (``SendFindPeersForTarget``, ``SendRequestTo``, ``PreparePacketForTags``) and
``KademliaUDPListener.cpp::SendPublishSourcePacket``: Kad1 forms for old peers, plain Kad2 for versions below 6,
obfuscated with the peer's Kad ID and key from version 6 on (``Peer.request``).
"""

from __future__ import annotations

from dataclasses import dataclass

from mule._core import Writer
from mule.contract import Kind
from mule.kad import kad1, messages
from mule.kad.envelope import MAX_PAYLOAD
from mule.kad.message import Entry, Message, write_entries
from mule.kad.opcodes import TagName
from mule.kad.search_expr import Boolean, BoolOp, Expr, Keyword
from mule.kad.tags import AddressTag, IntTag, StringTag, Tag, TagSerials
from mule.lookup.kinds import MAX_KEYWORD_FILES, RULES, LookupKind
from mule.node.outbound import KAD2_VERSION, Outbound, OwnContact, Peer

SEARCH_KAD2_VERSION = 3  # Search.cpp: keyword, source and notes searches in Kad2 form from version 3
PUBLISH_SOURCE_KAD2_VERSION = 4  # SendPublishSourcePacket: PUBLISH_SOURCE_REQ from version 4 ("47c")
SOURCE_TYPE_OPEN = 1  # TAG_SOURCETYPE: "we're not firewalled"
FLAGS_COMPLETE_FILE = 0x01  # TAG_FLAGS_COMPLETEFILE
CONNECT_OPTIONS = 0x01  # CPrefs::GetMyConnectOptions with iMule's defaults: crypt layer supported only
KAD1_RESTRICTIVE = 1  # Kad1 SEARCH_REQ: a tree follows (keyword), or nothing (source search)


@dataclass(frozen=True, slots=True)
class SharedFile:
    """A file to publish: what iMule's keyword, source and notes publishes say about it."""

    file_id: int
    name: str
    size: int
    file_type: str = ""
    """iMule's eD2K type search term (``Audio``, ``Video``, ``Pro``, ...); empty: none."""
    sources: int = 1
    complete_sources: int = 1
    complete: bool = True
    """A complete file (TAG_FLAGS = 1 in a source publish) rather than a part file."""


@dataclass(frozen=True, slots=True)
class Spec:
    """What one lookup looks for or stores. ``cover``: a cover lookup (its stores are made so no node keeps them)."""

    kind: LookupKind
    target: int
    words: tuple[str, ...] = ()
    """Keyword search: every word a result's file name must contain (iMule's ``m_words``)."""
    expression: Expr | None = None
    """Keyword search: the search tree sent with each request."""
    file_size: int = 0
    """Source and notes searches: the file's size (0 matches any size)."""
    files: tuple[SharedFile, ...] = ()
    """Stores: the files published (one for source and notes publishes, up to 150 for a keyword)."""
    user_hash: int = 0
    """Source publish: the publisher's user hash, iMule's source ID."""
    rating: int = 0
    comment: str = ""
    cover: bool = False


def keyword_expression(words: tuple[str, ...] | list[str]) -> Expr:
    """iMule's linear AND form for a plain search: AND, term1, AND, term2, ..., termN."""
    expr: Expr = Keyword(words[-1])
    for word in reversed(words[:-1]):
        expr = Boolean(BoolOp.AND, Keyword(word), expr)
    return expr


def find_peers(spec: Spec, peer: Peer, own_id: int, kind: Kind) -> Outbound:
    """The KADEMLIA2_REQ (Kad1 REQ for Kad1 peers) that asks ``peer`` for contacts nearer the target."""
    count = RULES[spec.kind].request_type
    if peer.version >= KAD2_VERSION:
        return peer.request(messages.KademliaReq(count, spec.target, peer.kad_id, own_id), kind)
    return Outbound(peer.destination, kad1.Kad1Req(count, spec.target, peer.kad_id, own_id), kind)


def data_requests(spec: Spec, peer: Peer, me: OwnContact, kind: Kind) -> list[Outbound]:
    """The search or store request(s) ``peer`` gets once it is close enough (a big keyword store may take two)."""
    v = peer.version
    match spec.kind:
        case LookupKind.KEYWORD:
            if v >= SEARCH_KAD2_VERSION:
                return [peer.request(messages.SearchKeyReq(spec.target, 0, spec.expression), kind)]
            return [_plain(peer, kad1.Kad1SearchReq(spec.target, KAD1_RESTRICTIVE, spec.expression), kind)]
        case LookupKind.SOURCES:
            if v >= SEARCH_KAD2_VERSION:
                return [peer.request(messages.SearchSourceReq(spec.target, 0, spec.file_size), kind)]
            return [_plain(peer, kad1.Kad1SearchReq(spec.target, KAD1_RESTRICTIVE), kind)]
        case LookupKind.NOTES:
            if v >= SEARCH_KAD2_VERSION:
                return [peer.request(messages.SearchNotesReq(spec.target, spec.file_size), kind)]
            return [_plain(peer, kad1.Kad1SearchNotesReq(spec.target, me.kad_id), kind)]
        case LookupKind.STORE_KEYWORD:
            return [_keyword_store(peer, spec.target, entries, kind) for entries in _keyword_packets(spec, v)]
        case LookupKind.STORE_SOURCE:
            tags = source_tags(spec.files[0], me.tcp_dest, v, cover=spec.cover)
            if v >= PUBLISH_SOURCE_KAD2_VERSION:
                return [peer.request(messages.PublishSourceReq(spec.target, spec.user_hash, tags), kind)]
            return [_plain(peer, kad1.Kad1PublishReq(spec.target, (Entry(spec.user_hash, tags),)), kind)]
        case LookupKind.STORE_NOTES:
            tags = note_tags(spec, v)
            if v >= KAD2_VERSION:
                return [peer.request(messages.PublishNotesReq(spec.target, me.kad_id, tags), kind)]
            return [_plain(peer, kad1.Kad1PublishNotesReq(spec.target, me.kad_id, tags), kind)]
    return []  # node lookups ask for contacts only


def _plain(peer: Peer, message: Message, kind: Kind) -> Outbound:
    return Outbound(peer.destination, message, kind)


def _keyword_store(peer: Peer, target: int, entries: tuple[Entry, ...], kind: Kind) -> Outbound:
    if peer.version >= KAD2_VERSION:
        return peer.request(messages.PublishKeyReq(target, entries), kind)
    return _plain(peer, kad1.Kad1PublishReq(target, entries), kind)


def keyword_entry(file: SharedFile, *, cover: bool = False) -> Entry:
    """``PreparePacketForTags``: name, size, complete and total sources, the type if known.

    A cover entry says size 0: iMule's ``CIndexed::AddKeyword`` keeps no entry of size 0 (and answers as usual).
    """
    tags: list[Tag] = [
        StringTag(TagName.FILENAME, file.name),
        IntTag(TagName.FILESIZE, 0 if cover else file.size),
        IntTag(TagName.COMPLETE_SOURCES, file.complete_sources),
        IntTag(TagName.SOURCES, file.sources),
    ]
    if file.file_type:
        tags.append(StringTag(TagName.FILETYPE, file.file_type))
    return Entry(file.file_id, tuple(tags))


def _keyword_packets(spec: Spec, version: int) -> list[tuple[Entry, ...]]:
    """At most 150 entries, in as many datagrams as their size needs (iMule starts a new packet when full)."""
    packets: list[tuple[Entry, ...]] = []
    current: list[Entry] = []
    for file in spec.files[:MAX_KEYWORD_FILES]:
        entry = keyword_entry(file, cover=spec.cover)
        if current and _payload_size((*current, entry)) > MAX_PAYLOAD:
            packets.append(tuple(current))
            current = []
        if _payload_size((entry,)) <= MAX_PAYLOAD:  # iMule forgets an entry that cannot fit a packet alone
            current.append(entry)
    if current:
        packets.append(tuple(current))
    return packets


def _payload_size(entries: tuple[Entry, ...]) -> int:
    w = Writer()
    write_entries(w, entries, TagSerials())
    return 16 + len(w.getvalue())


def source_tags(file: SharedFile, tcp_dest: bytes, version: int, *, cover: bool = False) -> tuple[Tag, ...]:
    """``SendRequestTo`` (STOREFILE): type, our stream destination, flags, size (version >= 2), connect options.

    A cover source names a destination whose hashCode is 0 (same length, not an address to iMule):
    ``CIndexed::AddSources`` keeps no source without a valid destination, and then sends no answer.
    """
    dest = bytes(4) + tcp_dest[4:] if cover else tcp_dest
    tags: list[Tag] = [
        IntTag(TagName.SOURCETYPE, SOURCE_TYPE_OPEN),
        AddressTag(TagName.SOURCEDEST, dest),
        IntTag(TagName.FLAGS, FLAGS_COMPLETE_FILE if file.complete else 0),
    ]
    if version >= KAD2_VERSION:
        tags.append(IntTag(TagName.FILESIZE, file.size))
    tags.append(IntTag(TagName.ENCRYPTION, CONNECT_OPTIONS))
    return tuple(tags)


def note_tags(spec: Spec, version: int) -> tuple[Tag, ...]:
    """``SendRequestTo`` (STORENOTES): name, rating if any, comment if any, size (version >= 2).

    iMule never stores a note (``AddNotes`` wants a destination no handler sets); a cover note also says
    size 0, for an index that would.
    """
    file = spec.files[0]
    tags: list[Tag] = [StringTag(TagName.FILENAME, file.name)]
    if spec.rating:
        tags.append(IntTag(TagName.FILERATING, spec.rating))
    if spec.comment:
        tags.append(StringTag(TagName.DESCRIPTION, spec.comment))
    if version >= KAD2_VERSION:
        tags.append(IntTag(TagName.FILESIZE, 0 if spec.cover else file.size))
    return tuple(tags)
