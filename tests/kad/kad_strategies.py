"""Hypothesis strategies for every Kad message, tag and search expression (shared by the kad tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from mule.kad import kad1, messages
from mule.kad.contact import Contact, Kad1Contact
from mule.kad.destination import DEST_LEN
from mule.kad.message import Entry
from mule.kad.opcodes import KAD_VERSION
from mule.kad.search_expr import MAX_DEPTH, Boolean, BoolOp, CompareOp, Keyword, Numeric, depth
from mule.kad.tags import AddressTag, BlobTag, BoolTag, FloatTag, HashTag, IntPairTag, IntTag, StringTag

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
u64 = st.integers(0, (1 << 64) - 1)
kad_ids = st.integers(0, (1 << 128) - 1)
contact_ids = st.integers(1, (1 << 128) - 1)  # iMule drops contacts with an all-zero ID
versions = st.integers(0, KAD_VERSION)
# iMule accepts only DSA-SHA1 destinations: 384 key bytes and a null certificate.
dests = st.binary(min_size=DEST_LEN - 3, max_size=DEST_LEN - 3).map(lambda keys: keys + bytes(3))
names = st.integers(1, 0xFF)
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)

contacts = st.builds(Contact, versions, contact_ids, dests)
hello_contacts = st.builds(Contact, st.integers(1, KAD_VERSION), contact_ids, dests)
kad1_contacts = st.builds(Kad1Contact, contact_ids, dests, dests)  # read back as type 3 whatever was written

tags = st.one_of(
    st.builds(IntTag, names, u64),
    st.builds(StringTag, names, texts),
    st.builds(HashTag, names, st.binary(min_size=16, max_size=16)),
    st.builds(FloatTag, names, st.floats(width=32, allow_nan=False)),
    st.builds(BoolTag, names, u8),
    st.builds(BlobTag, names, st.binary(max_size=64)),
    st.builds(AddressTag, names, dests),
    st.builds(IntPairTag, names, u64, u64),
)
tag_lists = st.lists(tags, max_size=5).map(tuple)
entries = st.builds(Entry, kad_ids, tag_lists)
entry_lists = st.lists(entries, max_size=4).map(tuple)

# No MetaString: iMule's writer form of it does not read back (see test_meta_terms_are_written_and_read_as_imule_does).
leaves = st.one_of(
    st.builds(Keyword, texts),
    st.builds(Numeric, st.sampled_from(CompareOp), names, u64),
)
expressions = st.recursive(
    leaves, lambda inner: st.builds(Boolean, st.sampled_from(BoolOp), inner, inner), max_leaves=12
).filter(lambda e: depth(e) <= MAX_DEPTH)

positions = st.integers(0, 0x7FFF)
publish_results = st.builds(messages.PublishRes, kad_ids, u8, st.none() | st.tuples(u32, u32), st.none() | u8)

# Every message type the decoder returns (PublishResAck is reported as an unknown opcode).
MESSAGES = {
    messages.BootstrapReq: st.builds(messages.BootstrapReq),
    messages.BootstrapRes: st.builds(
        messages.BootstrapRes, kad_ids, u8, dests, st.lists(contacts, max_size=3).map(tuple)
    ),
    messages.HelloReq: st.builds(messages.HelloReq, hello_contacts, tag_lists),
    messages.HelloRes: st.builds(messages.HelloRes, hello_contacts, tag_lists),
    messages.HelloResAck: st.builds(messages.HelloResAck, kad_ids, tag_lists),
    messages.KademliaReq: st.builds(messages.KademliaReq, u8, kad_ids, kad_ids, st.none() | kad_ids),
    messages.KademliaRes: st.builds(messages.KademliaRes, kad_ids, st.lists(contacts, max_size=3).map(tuple)),
    messages.SearchKeyReq: st.builds(messages.SearchKeyReq, kad_ids, positions, st.none() | expressions),
    messages.SearchSourceReq: st.builds(messages.SearchSourceReq, kad_ids, positions, u64),
    messages.SearchNotesReq: st.builds(messages.SearchNotesReq, kad_ids, u64),
    messages.SearchRes: st.builds(messages.SearchRes, kad_ids, kad_ids, entry_lists),
    messages.PublishKeyReq: st.builds(messages.PublishKeyReq, kad_ids, entry_lists),
    messages.PublishSourceReq: st.builds(messages.PublishSourceReq, kad_ids, kad_ids, tag_lists),
    messages.PublishNotesReq: st.builds(messages.PublishNotesReq, kad_ids, kad_ids, tag_lists),
    messages.PublishRes: publish_results,
    messages.Ping: st.builds(messages.Ping),
    messages.Pong: st.builds(messages.Pong),
    kad1.Kad1BootstrapReq: st.builds(kad1.Kad1BootstrapReq, kad1_contacts),
    kad1.Kad1BootstrapRes: st.builds(kad1.Kad1BootstrapRes, st.lists(kad1_contacts, max_size=3).map(tuple)),
    kad1.Kad1HelloReq: st.builds(kad1.Kad1HelloReq, kad1_contacts),
    kad1.Kad1HelloRes: st.builds(kad1.Kad1HelloRes, kad1_contacts),
    kad1.Kad1Req: st.builds(kad1.Kad1Req, u8, kad_ids, kad_ids, kad_ids),
    kad1.Kad1Res: st.builds(kad1.Kad1Res, kad_ids, st.lists(kad1_contacts, max_size=3).map(tuple)),
    kad1.Kad1SearchReq: st.one_of(
        st.builds(kad1.Kad1SearchReq, kad_ids, u8),
        st.builds(kad1.Kad1SearchReq, kad_ids, st.integers(1, 0xFF), expressions),
    ),
    kad1.Kad1SearchRes: st.builds(kad1.Kad1SearchRes, kad_ids, entry_lists),
    kad1.Kad1SearchNotesReq: st.builds(kad1.Kad1SearchNotesReq, kad_ids, kad_ids),
    kad1.Kad1PublishReq: st.builds(kad1.Kad1PublishReq, kad_ids, entry_lists),
    kad1.Kad1PublishRes: st.builds(kad1.Kad1PublishRes, kad_ids, u8, st.none() | st.tuples(u32, u32), st.none() | u8),
    kad1.Kad1PublishNotesReq: st.builds(kad1.Kad1PublishNotesReq, kad_ids, kad_ids, tag_lists),
}
any_message = st.one_of(*MESSAGES.values())
