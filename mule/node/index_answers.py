"""Searches and publishes answered from the local index, sans-IO, as iMule 2.3.3.3 answers them.

Sources: ``src/kademlia/net/KademliaUDPListener.cpp`` (``Process2SearchKeyRequest``,
``Process2SearchSourceRequest``, ``Process2SearchNotesRequest``, ``Process2PublishKeyRequest``,
``Process2PublishSourceRequest``, ``Process2PublishNotesRequest`` and the Kad1 ``ProcessSearchRequest``,
``ProcessSearchNotesRequest``, ``ProcessPublishRequest``, ``ProcessPublishNotesRequest``) and
``src/kademlia/kademlia/Indexed.cpp`` (``SendValid*Result``, ``SendResults``).

- A Kad2 search always gets at least one SEARCH_RES (our Kad ID, the target, results packed so that every
  payload stays within 10,238 bytes), even with no result; a Kad1 search is answered only when it found
  something. Results go out in a uniformly random order (the contract), never in index order.
- A keyword publish always gets one PUBLISH_RES (key and the load of the last entry's store), full or not;
  a source publish gets one (with the file's source and complete-source counts) only if it was stored. Kad1
  answers every entry of a PUBLISH_REQ with its own PUBLISH_RES.
- Notes: iMule never stores one, so a notes publish is never answered, a Kad2 notes search gets an empty
  SEARCH_RES and a Kad1 notes search nothing.
- A tag iMule would choke on (a name that is not a string, a size that is not an integer, a destination tag
  that is not a destination, where iMule reads it) ends the packet there as iMule's exception does: what was
  stored stays, no later entry is read, and a Kad2 keyword publish gets no answer.

Kad2 answers are obfuscated with the sender's key (``SendPacket(..., senderKey, NULL)``); Kad1 answers are plain.
"""

from __future__ import annotations

from collections.abc import Sequence

from mule._core import Writer
from mule._core.shuffle import Shuffler
from mule.contract import Kind
from mule.index import LocalIndex
from mule.index.entries import KeywordEntry, SourceEntry
from mule.index.limits import EVALUATED_TREE_BYTES, KEYWORD_LIFETIME, SEARCH_WORK, SOURCE_LIFETIME
from mule.index.match import prepare, term_count
from mule.kad import kad1, messages
from mule.kad.destination import hash_code
from mule.kad.envelope import MAX_PAYLOAD
from mule.kad.message import Entry, Message
from mule.kad.opcodes import TagName
from mule.kad.search_expr import Expr, ReceivedExpression
from mule.kad.tags import AddressTag, IntTag, StringTag, Tag, TagSerials
from mule.node.inbound import Inbound
from mule.node.outbound import Outbound

KAD2_RESULT_HEADER = 16 + 16 + 2  # our Kad ID, the target, the result count
KAD1_RESULT_HEADER = 16 + 2
KAD1_PUBLISH_MIN = 37  # ProcessPublishRequest: CHECK_PACKET_MIN_SIZE(37)


class Unreadable(Exception):
    """A tag of the wrong type where iMule reads its value: ``CTag::GetStr/GetInt/GetAddr`` throw."""


def _string(tag: Tag) -> str:
    if not isinstance(tag, StringTag):
        raise Unreadable
    return tag.value


def _integer(tag: Tag) -> int:
    if not isinstance(tag, IntTag):
        raise Unreadable
    return tag.value


def _address(tag: Tag) -> int:
    """The destination's hash (0: iMule holds it invalid)."""
    if not isinstance(tag, AddressTag):
        raise Unreadable
    return hash_code(tag.value)


def _keyword_tags(tags: Sequence[Tag]) -> tuple[str, int, list[Tag]]:
    """``Process2PublishKeyRequest``'s reading of one entry: tags read last to first; the first non-empty name and
    first nonzero size are kept apart (later ones dropped), every other tag is kept, in that reversed order."""
    name, size, kept = "", 0, []
    for tag in reversed(tags):
        if tag.name == TagName.FILENAME:
            if not name:
                name = _string(tag)
        elif tag.name == TagName.FILESIZE:
            if not size:
                size = _integer(tag)
        else:
            kept.append(tag)
    return name, size, kept


def split_results(results: Sequence[Entry], lengths: Sequence[int], header: int) -> list[tuple[Entry, ...]]:
    """``CIndexed::SendResults``: fill each datagram up to 10,238 payload bytes, then start the next; a result
    too large for an empty datagram is left out. There is always at least one datagram."""
    datagrams: list[tuple[Entry, ...]] = []
    current: list[Entry] = []
    used = header
    for result, length in zip(results, lengths, strict=True):
        if used + length > MAX_PAYLOAD and current:
            datagrams.append(tuple(current))
            current, used = [], header
        if used + length > MAX_PAYLOAD:
            continue
        current.append(result)
        used += length
    datagrams.append(tuple(current))
    return datagrams


def _payload_length(message: Message) -> int:
    w = Writer()
    message.write_payload(w, TagSerials())
    return len(w)


class IndexAnswers:
    __slots__ = ("_index", "_kad_id", "_shuffler")

    def __init__(self, kad_id: int, index: LocalIndex, shuffler: Shuffler) -> None:
        self._kad_id = kad_id
        self._index = index
        self._shuffler = shuffler

    # --- Kad2 searches ---------------------------------------------------------------------------------------------

    def search_key_req(self, inbound: Inbound) -> list[Outbound]:
        message: messages.SearchKeyReq = inbound.message  # type: ignore[assignment]
        found = self._keywords(message.target, message.expression, message.start_position, inbound.now)
        return self._kad2_results(inbound, message.target, found)

    def search_source_req(self, inbound: Inbound) -> list[Outbound]:
        message: messages.SearchSourceReq = inbound.message  # type: ignore[assignment]
        found = self._sources(message.target, message.start_position, message.file_size, inbound.now)
        return self._kad2_results(inbound, message.target, found)

    def search_notes_req(self, inbound: Inbound) -> list[Outbound]:
        message: messages.SearchNotesReq = inbound.message  # type: ignore[assignment]
        return self._kad2_results(inbound, message.target, [])  # no notes are ever stored

    # --- Kad1 searches ---------------------------------------------------------------------------------------------

    def kad1_search_req(self, inbound: Inbound) -> list[Outbound]:
        """A restrictive byte with nothing after it asks for sources; anything else is a keyword search."""
        message: kad1.Kad1SearchReq = inbound.message  # type: ignore[assignment]
        if message.restrictive and message.expression is None:
            found: Sequence[KeywordEntry | SourceEntry] = self._sources(message.target, 0, 0, inbound.now)
        else:
            found = self._keywords(message.target, message.expression, 0, inbound.now)
        if not found:
            return []
        return [
            Outbound(inbound.source, kad1.Kad1SearchRes(message.target, results), Kind.RESPONSE)
            for results in self._datagrams(found, KAD1_RESULT_HEADER)
        ]

    def kad1_search_notes_req(self, inbound: Inbound) -> list[Outbound]:
        return []  # no notes, and Kad1 searches that find nothing are not answered

    # --- Kad2 publishes --------------------------------------------------------------------------------------------

    def publish_key_req(self, inbound: Inbound) -> list[Outbound]:
        message: messages.PublishKeyReq = inbound.message  # type: ignore[assignment]
        publisher, now, load = hash_code(inbound.source), inbound.now, 0
        try:
            for item in message.entries:
                _, changed = self._add_keyword(message.target, item.kad_id, _keyword_tags(item.tags), publisher, now)
                load = load if changed is None else changed
        except Unreadable:
            return []
        reply = messages.PublishRes(message.target, load)
        return [Outbound(inbound.source, reply, Kind.RESPONSE, receiver_key=inbound.sender_key)]

    def publish_source_req(self, inbound: Inbound) -> list[Outbound]:
        message: messages.PublishSourceReq = inbound.message  # type: ignore[assignment]
        try:
            entry = self._kad2_source(message, inbound.source, inbound.now)
        except Unreadable:
            return []
        if entry is None:
            return []
        stored, load = self._index.sources.add(message.target, entry, inbound.now)
        if not stored or load is None:
            return []
        reply = messages.PublishRes(message.target, load, self._index.sources.counts(message.target))
        return [Outbound(inbound.source, reply, Kind.RESPONSE, receiver_key=inbound.sender_key)]

    def publish_notes_req(self, inbound: Inbound) -> list[Outbound]:
        return []  # AddNotes refuses every note (no stream destination), and a refused note is not answered

    # --- Kad1 publishes --------------------------------------------------------------------------------------------

    def kad1_publish_req(self, inbound: Inbound) -> list[Outbound]:
        """Each entry is a source (it has TAG_SOURCETYPE) or a keyword entry, and each gets its own answer."""
        message: kad1.Kad1PublishReq = inbound.message  # type: ignore[assignment]
        if _payload_length(message) < KAD1_PUBLISH_MIN:
            return []
        replies: list[Outbound] = []
        load = 0
        try:
            for item in message.entries:
                reply, load = self._kad1_entry(message.target, item, inbound, load)
                if reply is not None:
                    replies.append(Outbound(inbound.source, reply, Kind.RESPONSE))
        except Unreadable:
            pass  # iMule has already sent the answers of the entries before
        return replies

    def kad1_publish_notes_req(self, inbound: Inbound) -> list[Outbound]:
        return []  # as for Kad2: no note is stored, none is answered

    # --- searching -------------------------------------------------------------------------------------------------

    def _keywords(
        self, target: int, expression: Expr | ReceivedExpression | None, start: int, now: float
    ) -> list[KeywordEntry]:
        # Bound the work one request can cause (docs/index.md): a huge tree matches nothing (it is never even
        # built), and the entries looked at shrink as the tree grows.
        if isinstance(expression, ReceivedExpression):
            if len(expression.wire) > EVALUATED_TREE_BYTES:
                return []
            expression = expression.tree
        terms = 0 if expression is None else term_count(expression)
        term = None if expression is None else prepare(expression)
        found = self._index.keywords.search(target, term, start, now, max_scanned=SEARCH_WORK // (terms + 1))
        self._index.clean(now)  # iMule cleans after answering a keyword or source search
        return found

    def _sources(self, target: int, start: int, file_size: int, now: float) -> list[SourceEntry]:
        found = self._index.sources.search(target, start, file_size)
        self._index.clean(now)
        return found

    def _datagrams(self, found: Sequence[KeywordEntry | SourceEntry], header: int) -> list[tuple[Entry, ...]]:
        ordered = self._shuffler.shuffled(found)
        return split_results([e.answer for e in ordered], [e.answer_len for e in ordered], header)

    def _kad2_results(
        self, inbound: Inbound, target: int, found: Sequence[KeywordEntry | SourceEntry]
    ) -> list[Outbound]:
        return [
            Outbound(
                inbound.source,
                messages.SearchRes(self._kad_id, target, results),
                Kind.RESPONSE,
                receiver_key=inbound.sender_key,
            )
            for results in self._datagrams(found, KAD2_RESULT_HEADER)
        ]

    # --- reading published entries ---------------------------------------------------------------------------------

    def _add_keyword(
        self, target: int, file_id: int, read: tuple[str, int, list[Tag]], publisher: int, now: float
    ) -> tuple[bool, int | None]:
        """``AddKeyword`` for one published file: the entry is built only if the store would look at it, so an
        empty entry, or any entry once the store or this keyword is full, costs its tag scan and no more. What
        is stored and the load answered are those of building every entry (iMule builds each one)."""
        name, size, kept = read
        lifetime = now + KEYWORD_LIFETIME
        keywords = self._index.keywords
        refused = keywords.refusal(target, size, name, len(kept), lifetime, now)
        if refused is not None:
            return refused
        names = [(name, 1)] if name else []
        return keywords.add(target, KeywordEntry(file_id, size, tuple(kept), lifetime, publisher, names), now)

    @staticmethod
    def _kad2_source(message: messages.PublishSourceReq, source: bytes, now: float) -> SourceEntry | None:
        """``Process2PublishSourceRequest``: tags read last to first. TAG_SOURCETYPE makes it a source and, unless
        the publisher's own TAG_SOURCEUDEST came first, adds TAG_SOURCEUDEST = the datagram's source after it;
        the size is kept apart; TAG_SOURCEDEST is required. ``None``: not a source."""
        is_source, own_udp, size, tcp, udp = False, True, 0, 0, hash_code(source)
        kept: list[Tag] = []
        for tag in reversed(message.tags):
            name = tag.name
            if name == TagName.SOURCETYPE:
                if not is_source:
                    kept.append(tag)
                    if own_udp:
                        kept.append(AddressTag(TagName.SOURCEUDEST, source))
                    is_source, own_udp = True, False
            elif name == TagName.FILESIZE:
                if not size:
                    size = _integer(tag)
            elif name == TagName.SOURCEDEST:
                if not tcp:
                    tcp = _address(tag)
                    kept.append(tag)
            elif name == TagName.SOURCEUDEST:
                if own_udp and _address(tag):
                    udp = _address(tag)
                    kept.append(tag)
                    own_udp = False
            else:
                kept.append(tag)
        if not is_source:
            return None
        return SourceEntry(message.source_id, tuple(kept), now + SOURCE_LIFETIME, tcp, udp, size)

    def _kad1_entry(
        self, target: int, item: Entry, inbound: Inbound, load: int
    ) -> tuple[kad1.Kad1PublishRes | None, int]:
        """``ProcessPublishRequest`` for one entry: the answer (if any) and the load as it then stands."""
        is_source, name, size, tcp = False, "", 0, 0
        kept: list[Tag] = []
        for tag in reversed(item.tags):
            tag_name = tag.name
            if tag_name == TagName.SOURCETYPE:
                if not is_source:
                    kept += [tag, AddressTag(TagName.SOURCEUDEST, inbound.source)]
                    is_source = True
            elif tag_name == TagName.FILENAME:
                if not name:
                    name = _string(tag)
            elif tag_name == TagName.FILESIZE:
                if not size:  # Kad1 keeps the size tag as well
                    size = _integer(tag)
                    kept.append(tag)
            elif tag_name == TagName.SOURCEDEST:
                if not tcp:
                    tcp = _address(tag)
                    kept.append(tag)
            elif tag_name != TagName.SOURCEUDEST:
                kept.append(tag)
        now, publisher = inbound.now, hash_code(inbound.source)
        if is_source:
            entry = SourceEntry(item.kad_id, tuple(kept), now + SOURCE_LIFETIME, tcp, publisher, size, name)
            stored, changed = self._index.sources.add(target, entry, now)
            load = load if changed is None else changed
            if not stored:
                return None, load
            return kad1.Kad1PublishRes(target, load, self._index.sources.counts(target)), load
        _, changed = self._add_keyword(target, item.kad_id, (name, size, kept), publisher, now)
        load = load if changed is None else changed
        return kad1.Kad1PublishRes(target, load), load
