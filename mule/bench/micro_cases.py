"""The cases of ``python -m mule bench micro`` (each one is built, measured and thrown away in its own process)."""

from __future__ import annotations

import contextlib
import importlib
import os
import random
import resource
import subprocess
import sys
import zlib
from collections.abc import Callable
from types import ModuleType

import mule._core as core
from mule.bench.micro import Case, case

try:  # the source tree's bench/ folder (micro.py puts it on sys.path); absent from an installed wheel
    import baselines
except ImportError:  # pragma: no cover - exercised only from an installed wheel
    baselines = None

CODEC_MODULES = ("codec", "contact", "message", "messages", "tags", "kad1", "search_expr")
CORE_NAMES = ("Reader", "Writer", "build")
QUICK_KADEMLIA_IDS = 20_000  # filling the kademlia package's table costs ~0.2 ms a contact


def _twins() -> dict[str, dict[str, ModuleType]]:
    twins = {"pure": core.load_twins("python")}
    with contextlib.suppress(ImportError):
        twins = {"compiled": core.load_twins("cython"), **twins}
    return twins


def _on_twin(modules: dict[str, ModuleType], call: Callable[[], object]) -> Callable[[], object]:
    """``call`` with the codec bound to one core twin (the codec reaches the core only through these names)."""
    codec_modules = [importlib.import_module(f"mule.kad.{name}") for name in CODEC_MODULES]
    bindings = [(m, name, getattr(modules["_framing"], name)) for m in codec_modules for name in CORE_NAMES]
    bindings = [(m, name, value) for m, name, value in bindings if hasattr(m, name)]

    def bound() -> object:
        for module, name, value in bindings:
            setattr(module, name, value)
        return call()

    return bound


def _kad_id(rng: random.Random) -> int:
    return rng.getrandbits(128) | 1


def _dest(rng: random.Random) -> bytes:
    return rng.randbytes(384) + bytes(3)


# --- codec -------------------------------------------------------------------------------------------------------


def _codec_case(title: str, message_of: Callable[[random.Random], object], baseline_of: Callable) -> Callable:
    """A decode case and an encode case for one message: the twins against the struct baseline of the same bytes."""

    def build_decode(quick: bool) -> Case:
        from mule.kad import codec

        message = message_of(random.Random(1))
        datagram = message.encode()
        contenders = {}
        for twin, modules in _twins().items():
            decode = _on_twin(modules, lambda: _materialized(codec.decode(datagram)))
            if decode() != message:
                raise AssertionError(f"{twin} decode does not give the message back")
            contenders[twin] = decode
        decoder, _encoder, _fields = baseline_of()
        decoder(datagram)
        contenders["struct"] = lambda: decoder(datagram)
        return Case(
            f"decode {title} ({len(datagram)} bytes, {'packed' if datagram[0] == 6 else 'plain'})", contenders, "struct"
        )

    def build_encode(quick: bool) -> Case:
        from mule.kad.tags import TagSerials

        message = message_of(random.Random(1))
        expected = message.encode()
        contenders = {}
        for twin, modules in _twins().items():
            encode = _on_twin(modules, lambda: message.encode(TagSerials()))
            if encode() != expected:
                raise AssertionError(f"{twin} encode differs")
            contenders[twin] = encode
        _decoder, encoder, fields = baseline_of()
        args = fields(message)
        if encoder(*args) != expected:
            raise AssertionError("the struct encoder writes other bytes")
        contenders["struct"] = lambda: encoder(*args)
        return Case(f"encode {title}", contenders, "struct")

    return build_decode, build_encode


def _materialized(message: object) -> object:
    """Decode as the node uses it: received entry lists and trees built (they are built on first use)."""
    for name in ("results", "entries"):
        value = getattr(message, name, None)
        if value is not None and hasattr(value, "entries"):
            value.entries  # noqa: B018
    return message


def _contacts(rng: random.Random, n: int) -> tuple:
    from mule.kad.contact import Contact

    return tuple(Contact(8, _kad_id(rng), _dest(rng)) for _ in range(n))


def _plain(contacts: tuple) -> list:
    return [(c.version, c.kad_id, c.udp_dest) for c in contacts]


def _file_tags(i: int) -> tuple:
    from mule.kad.opcodes import TagName
    from mule.kad.tags import IntTag, StringTag

    return (
        StringTag(TagName.FILENAME, f"some artist - track {i:02d} (live).ogg"),
        IntTag(TagName.FILESIZE, 4_000_000 + i * 7919),
        IntTag(TagName.SOURCES, i + 1),
        IntTag(TagName.COMPLETE_SOURCES, i // 2),
        StringTag(TagName.FILETYPE, "Audio"),
    )


def _plain_tags(tags: tuple) -> list:
    return [(tag.name, tag.value) for tag in tags]


def _kademlia_req(rng):
    from mule.kad.messages import KademliaReq

    return KademliaReq(0x0B, _kad_id(rng), _kad_id(rng), _kad_id(rng))


def _kademlia_res(rng):
    from mule.kad.messages import KademliaRes

    return KademliaRes(_kad_id(rng), _contacts(rng, 10))


def _bootstrap_res(rng):
    from mule.kad.messages import BootstrapRes

    return BootstrapRes(_kad_id(rng), 8, _dest(rng), _contacts(rng, 20))


def _hello_res(rng):
    from mule.kad.messages import HelloRes
    from mule.kad.opcodes import TagName
    from mule.kad.tags import IntTag

    return HelloRes(_contacts(rng, 1)[0], (IntTag(TagName.KADMISCOPTIONS, 0x04),))


def _search_res(rng):
    from mule.kad.message import Entry
    from mule.kad.messages import SearchRes

    return SearchRes(_kad_id(rng), _kad_id(rng), tuple(Entry(_kad_id(rng), _file_tags(i)) for i in range(50)))


def _publish_key_req(rng):
    from mule.kad.message import Entry
    from mule.kad.messages import PublishKeyReq

    return PublishKeyReq(_kad_id(rng), tuple(Entry(_kad_id(rng), _file_tags(i)) for i in range(10)))


def _publish_source_req(rng):
    from mule.kad.messages import PublishSourceReq
    from mule.kad.opcodes import TagName
    from mule.kad.tags import AddressTag, IntTag

    tags = (
        AddressTag(TagName.SOURCEDEST, _dest(rng)),
        IntTag(TagName.SOURCETYPE, 3),
        IntTag(TagName.FILESIZE, 7 << 30),
    )
    return PublishSourceReq(_kad_id(rng), _kad_id(rng), tags)


def _publish_res(rng):
    from mule.kad.messages import PublishRes

    return PublishRes(_kad_id(rng), 42)


_B = baselines
CODEC = {
    "kademlia2_req": (
        "KADEMLIA2_REQ",
        _kademlia_req,
        lambda: (
            _B.decode_kademlia_req,
            _B.encode_kademlia_req,
            lambda m: (m.type, m.target, m.receiver_id, m.sender_id),
        ),
    ),
    "kademlia2_res": (
        "KADEMLIA2_RES, 10 contacts",
        _kademlia_res,
        lambda: (_B.decode_kademlia_res, _B.encode_kademlia_res, lambda m: (m.target, _plain(m.contacts))),
    ),
    "hello_res": (
        "HELLO_RES with its options tag",
        _hello_res,
        lambda: (
            _B.decode_hello,
            lambda *a: _B.encode_hello(0x10, *a),
            lambda m: (_plain((m.contact,))[0], _plain_tags(m.tags)),
        ),
    ),
    "bootstrap_res": (
        "BOOTSTRAP_RES, 20 contacts",
        _bootstrap_res,
        lambda: (
            _B.decode_bootstrap_res,
            _B.encode_bootstrap_res,
            lambda m: (m.kad_id, m.version, m.tcp_dest, _plain(m.contacts)),
        ),
    ),
    "search_res": (
        "SEARCH_RES, 50 results, entries built",
        _search_res,
        lambda: (
            _B.decode_search_res,
            _B.encode_search_res,
            lambda m: (m.sender_id, m.target, [(e.kad_id, _plain_tags(e.tags)) for e in m.results]),
        ),
    ),
    "publish_key_req": (
        "PUBLISH_KEY_REQ, 10 files, entries built",
        _publish_key_req,
        lambda: (
            _B.decode_publish_key_req,
            _B.encode_publish_key_req,
            lambda m: (m.target, [(e.kad_id, _plain_tags(e.tags)) for e in m.entries]),
        ),
    ),
    "publish_source_req": (
        "PUBLISH_SOURCE_REQ",
        _publish_source_req,
        lambda: (
            _B.decode_publish_source_req,
            _B.encode_publish_source_req,
            lambda m: (m.target, m.source_id, _plain_tags(m.tags)),
        ),
    ),
    "publish_res": (
        "PUBLISH_RES",
        _publish_res,
        lambda: (_B.decode_publish_res, _B.encode_publish_res, lambda m: (m.target, m.load)),
    ),
}

if baselines is not None:
    for _key, (_title, _message, _baseline) in CODEC.items():
        _decode, _encode = _codec_case(_title, _message, _baseline)
        case(f"decode_{_key}")(_decode)
        case(f"encode_{_key}")(_encode)


@case("zlib_trial")
def _zlib_trial(quick: bool) -> Case:
    """What iMule's packing trial costs on a KADEMLIA2_RES (random destinations: it never shrinks)."""
    message = _kademlia_res(random.Random(1))
    payload = message.encode()[2:]
    packed = zlib.compress(payload, 9)
    return Case(
        "zlib level-9 trial on a KADEMLIA2_RES payload vs the whole encode",
        {
            "encode (compiled twin)": lambda: message.encode(),
            "zlib.compress(payload, 9)": lambda: zlib.compress(payload, 9),
        },
        "encode (compiled twin)",
        {"payload bytes": len(payload), "compressed bytes": len(packed), "sent packed": len(packed) < len(payload)},
    )


# --- closest-k ---------------------------------------------------------------------------------------------------


@case("closest_k")
def _closest_k(quick: bool) -> Case:
    from mule._core.columns import id_columns
    from mule.routing.columns import ContactColumns

    rng = random.Random(7)
    ids = [rng.getrandbits(128) for _ in range(100_000)]
    hi, lo = id_columns(ids)
    target = rng.getrandbits(128)
    truth = sorted(ids, key=lambda i: i ^ target)[:10]
    contenders: dict[str, Callable[[], object]] = {
        "one XOR pass over the ID column (numpy)": lambda: baselines.xor_pass(hi, lo, target)
    }
    for twin, modules in _twins().items():
        closest = modules["_kadid"].closest_k
        if [ids[i] for i in closest(hi, lo, target, 10).tolist()] != truth:
            raise AssertionError(f"{twin} closest_k is wrong")
        contenders[f"closest_k, {twin} twin"] = lambda closest=closest: closest(hi, lo, target, 10)
        columns = ContactColumns(10, closest)
        for n, kad_id in enumerate(ids):
            columns.put(kad_id, n % 10)
        if columns.closest(target, 10, range(10)) != truth:
            raise AssertionError("routing columns are wrong")
        contenders[f"routing columns, all classes, {twin}"] = lambda c=columns: c.closest(target, 10, range(10))
        contenders[f"routing columns, verified type<=2, {twin}"] = lambda c=columns: c.closest(target, 10, [5, 6, 7])
    found = [ids[i] for i in baselines.argpartition_closest(hi, lo, target, 10).tolist()]
    if found != truth:
        raise AssertionError("argpartition baseline is wrong")
    contenders["numpy argpartition + exact tie sort"] = lambda: baselines.argpartition_closest(hi, lo, target, 10)
    notes = {"ids": len(ids), "k": 10}
    try:
        fed = ids[: QUICK_KADEMLIA_IDS if quick else len(ids)]
        table = baselines.KademliaTable(rng.getrandbits(128), fed)
        query = table.query(target)
        returned = table.closest(query, 10)
        true_fed = sorted(fed, key=lambda i: i ^ target)[:10]
        notes["kademlia (PyPI): contacts fed / held"] = f"{len(fed)} / {table.held}"
        notes["kademlia: share of the true closest 10 it returns"] = f"{len(set(returned) & set(true_fed))}/10"
        contenders["kademlia (PyPI) find_neighbors"] = lambda: table.closest(query, 10)
    except ImportError:
        notes["kademlia (PyPI)"] = "not installed (pip install kademlia)"
    return Case("closest-10 among 100,000 IDs", contenders, "one XOR pass over the ID column (numpy)", notes)


# --- start-up ----------------------------------------------------------------------------------------------------


def _child_cpu(command: list[str]) -> Callable[[], float]:
    def run() -> float:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime

    return run


@case("startup")
def _startup(quick: bool) -> Case:
    """Whole-process CPU (user + system) of each command, measured through the child's rusage."""
    return Case(
        "start-up, CPU of the whole process",
        {
            "python -c pass": _child_cpu([sys.executable, "-c", "pass"]),
            "python -m mule version": _child_cpu([sys.executable, "-m", "mule", "version"]),
        },
        "python -c pass",
        {"MULE_NO_EXTENSIONS": os.environ.get("MULE_NO_EXTENSIONS", "")},
        self_timed=True,
    )
