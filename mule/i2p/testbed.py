"""Offline I2P test bed: real i2pd routers that can only ever talk to each other.

Routers run only inside a network namespace whose sole interface is loopback (``unshare -n``): the
interlock :func:`require_loopback_only` refuses to start anything otherwise, so nothing can reach the
live I2P network whatever i2pd's configuration says.

Why the routers' transport addresses are in 198.18.0.0/15 and not 127.x: i2pd 2.45.1 refuses every
NTCP2/SSU2 peer in a reserved range (``NTCP2: Incoming connection from invalid IP 127.0.0.1``), and
``reservedrange = false`` only lifts the check for outgoing connections. Its reserved list spells the
RFC 2544 benchmarking range as 198.18.0.0-192.19.255.255 (an empty range), so that range is accepted.
The addresses are added to ``lo`` inside the namespace only: they are never routed anywhere.

The SAM bridges stay on 127.0.0.1: ports 7656, 7666, ... for slot 0 (8656, ... for slot 1, which the test
fixtures use); each bridge's UDP port is its TCP port - 1.
"""

from __future__ import annotations

import asyncio
import ctypes
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mule.i2p.errors import SamFailure
from mule.i2p.sam_client import SamConnection
from mule.i2p.session import DatagramPath, DatagramSession, SessionSpec
from mule.kad.destination import to_base64
from mule.node.config import SamAddress

SAM_HOST = "127.0.0.1"
FIRST_SAM_PORT = 7656  # slot 0's first router: where mule looks for a router by default
SAM_PORT_STEP = 10
SLOT_PORT_STEP = 1000  # each slot is a separate bed that can run beside the others in one namespace
FIRST_TRANSPORT_PORT = 12301
TRANSPORT_NET = "198.18"  # slot s, router i: 198.18.s.(i + 1); see the module docstring
PRIVATE_NETID = 99  # not the main net's 2: even a leaked packet would be refused by every live router
ISOLATED_ENV = "MULE_TESTBED_ISOLATED"  # set in a process this module re-executed into a namespace
_ISOLATE_SCRIPT = 'ip link set lo up && exec "$@"'
_STOP_GRACE_S = 10.0
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="i2pd-spawner")  # lives as long as the process


class NotIsolatedError(RuntimeError):
    """The process is not in a loopback-only network namespace, so no router may start."""


class TestbedError(RuntimeError):
    """A router did not come up (or the bed is unusable); the message carries the router's last log lines."""

    __test__ = False  # not a pytest test class, despite the name


# --- the safety interlock ---------------------------------------------------------------------------------


def network_interfaces() -> list[str]:
    """Names of the network interfaces in this process's network namespace.

    Asked of the kernel through a socket: /sys/class/net would show the namespace sysfs was mounted in.
    """
    return sorted(name for _, name in socket.if_nameindex())


def is_loopback_only(interfaces: Callable[[], Sequence[str]] = network_interfaces) -> bool:
    return list(interfaces()) == ["lo"]


def require_loopback_only(check: Callable[[], bool] | None = None) -> None:
    """The interlock: refuse unless the only network interface is ``lo`` (``check`` replaces the test)."""
    if not (check or is_loopback_only)():
        raise NotIsolatedError(
            "refusing to start i2pd: this process's network namespace has interfaces other than 'lo' "
            f"({', '.join(network_interfaces())}); run it inside `unshare -n` (see scripts/i2p-testbed)"
        )


def isolated_command(argv: Sequence[str]) -> list[str]:
    """``argv`` wrapped to run in a fresh loopback-only network namespace (a user namespace too, when not root)."""
    unshare = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-r", "-n"]
    return [*unshare, "sh", "-c", _ISOLATE_SCRIPT, "sh", *argv]


def reexec_isolated(argv: Sequence[str] | None = None) -> None:
    """Replace this process by itself (its original command line, ``-m mule ...`` included) or by ``argv``,
    inside a new loopback-only namespace. No-op when already isolated; ``ISOLATED_ENV`` stops a loop if
    ``unshare`` left interfaces behind."""
    if is_loopback_only():
        return
    if os.environ.get(ISOLATED_ENV):
        raise NotIsolatedError("re-executed into a namespace that still has interfaces other than 'lo'")
    command = isolated_command(list(argv) if argv is not None else [sys.executable, *sys.orig_argv[1:]])
    os.environ[ISOLATED_ENV] = "1"
    os.execvp(command[0], command)


def i2pd_binary() -> str | None:
    return shutil.which("i2pd")


# --- router configuration ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BedOptions:
    """What varies between test-bed recipes. The defaults are the recipe docs/testing.md settles on: one
    router, 0-hop tunnels; the other knobs reproduce the recorded experiments."""

    routers: int = 1
    transports: Literal["both", "ntcp2", "ssu2"] = "both"
    netid: int | None = PRIVATE_NETID
    hops: int | None = None  # None: 0 for one router, 1 for several
    loglevel: str = "info"
    private_addresses: bool = False  # True: 127.0.0.x transport addresses (i2pd refuses them; for the record)
    slot: int = 0  # which ports and addresses: the test fixtures use slot 1 so they never meet a bed on slot 0

    @property
    def tunnel_hops(self) -> int:
        """Tunnel length that works: one router has no peers to build hops through."""
        if self.hops is not None:
            return self.hops
        return 0 if self.routers == 1 else 1

    @property
    def session_options(self) -> dict[str, str]:
        """Options a SAM DATAGRAM session needs on this bed.

        ``i2cp.leaseSetType=1``: with i2pd 2.45.1's default LeaseSet2 no datagram was ever delivered offline
        (``LeaseSet: 771 exceeds buffer size 739``, then ``ElGamal decrypt hash doesn't match`` at the receiver);
        with the original LeaseSet every run delivered.
        """
        hops = str(self.tunnel_hops)
        return {
            "i2cp.leaseSetType": "1",
            "inbound.length": hops,
            "outbound.length": hops,
            "inbound.quantity": "2",
            "outbound.quantity": "2",
        }


@dataclass(frozen=True, slots=True)
class RouterSpec:
    index: int
    root: Path
    transport_host: str
    transport_port: int
    sam_port: int

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def conf_path(self) -> Path:
        return self.root / "i2pd.conf"

    @property
    def log_path(self) -> Path:
        return self.root / "i2pd.log"

    @property
    def router_info(self) -> Path:
        return self.data_dir / "router.info"


def router_specs(root: Path, options: BedOptions) -> list[RouterSpec]:
    net = f"127.0.{options.slot}." if options.private_addresses else f"{TRANSPORT_NET}.{options.slot}."
    ports = SLOT_PORT_STEP * options.slot
    return [
        RouterSpec(
            index=i,
            root=root / f"router{i}",
            transport_host=f"{net}{i + 1}",
            transport_port=FIRST_TRANSPORT_PORT + ports + i,
            sam_port=FIRST_SAM_PORT + ports + SAM_PORT_STEP * i,
        )
        for i in range(options.routers)
    ]


def render_config(spec: RouterSpec, options: BedOptions) -> str:
    """An i2pd.conf that cannot leave the bed: no reseed, UPnP, time sync, subscriptions or proxies."""
    netid = f"netid = {options.netid}\n" if options.netid is not None else ""
    hops = options.tunnel_hops
    return f"""\
log = file
logfile = {spec.log_path}
loglevel = {options.loglevel}
daemon = false
ipv4 = true
ipv6 = false
host = {spec.transport_host}
address4 = {spec.transport_host}
port = {spec.transport_port}
nat = false
floodfill = true
reservedrange = false
{netid}
[ntcp2]
enabled = {str(options.transports in ("both", "ntcp2")).lower()}
published = true
port = {spec.transport_port}

[ssu2]
enabled = {str(options.transports in ("both", "ssu2")).lower()}
published = true
port = {spec.transport_port}

[sam]
enabled = true
address = {SAM_HOST}
port = {spec.sam_port}

[http]
enabled = false
[httpproxy]
enabled = false
[socksproxy]
enabled = false
[bob]
enabled = false
[i2cp]
enabled = false
[i2pcontrol]
enabled = false
[upnp]
enabled = false

[nettime]
enabled = false
frompeers = false

[reseed]
verify = false
urls = http://127.0.0.1:1/
yggurls = http://127.0.0.1:1/
threshold = 0

[addressbook]
# on, but with nothing to fetch: i2pd 2.45.1 crashes on a b32 NAMING LOOKUP when the address book is off
enabled = true
defaulturl =
subscriptions =

[exploratory]
inbound.length = {hops}
outbound.length = {hops}
inbound.quantity = 2
outbound.quantity = 2
"""


def router_hash_b64(router_info: bytes) -> str:
    """The router's ident hash (SHA-256 of its identity: 387 bytes + certificate payload), I2P base64."""
    cert_len = int.from_bytes(router_info[385:387], "big")
    return to_base64(hashlib.sha256(router_info[: 387 + cert_len]).digest())


_SIGNATURE_LEN = {0: 40, 1: 64, 2: 96, 3: 132, 7: 64}  # by signing key type (DSA, ECDSA-P256/384/521, EdDSA)


def router_info_complete(router_info: bytes) -> bool:
    """Whether a router.info is whole: its fields add up to exactly its length (i2pd writes it in place,
    so a copy taken while it is being written can be cut short)."""
    try:
        cert_len = int.from_bytes(router_info[385:387], "big")
        sig_type = int.from_bytes(router_info[387:389], "big") if router_info[384] == 5 else 0
        offset = 387 + cert_len + 8  # identity, published date
        addresses = router_info[offset]
        offset += 1
        for _ in range(addresses):
            offset += 1 + 8  # cost, expiration
            offset += 1 + router_info[offset]  # transport style
            offset += 2 + int.from_bytes(router_info[offset : offset + 2], "big")  # options
        offset += 1 + 32 * router_info[offset]  # peers
        offset += 2 + int.from_bytes(router_info[offset : offset + 2], "big")  # options
        return sig_type in _SIGNATURE_LEN and offset + _SIGNATURE_LEN[sig_type] == len(router_info)
    except IndexError:
        return False


def seed_netdb(data_dir: Path, router_info: bytes) -> None:
    """Put a peer's router.info where i2pd's netDb loads it at start."""
    b64 = router_hash_b64(router_info)
    bucket = data_dir / "netDb" / f"r{b64[0]}"
    bucket.mkdir(parents=True, exist_ok=True)
    (bucket / f"routerInfo-{b64}.dat").write_bytes(router_info)


def _die_with_parent() -> None:
    """In the forked child: be killed when the process that started us dies (a crashed test run must not
    leave routers behind; i2pd 2.45.1 can also hang on SIGTERM, so this is SIGKILL)."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


# --- one router -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Router:
    """One i2pd process with its own config, data dir and log; restarts keep the data dir (same identity)."""

    spec: RouterSpec
    options: BedOptions
    binary: str
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def sam_host(self) -> str:
        return SAM_HOST

    @property
    def sam_port(self) -> int:
        return self.spec.sam_port

    @property
    def sam_address(self) -> SamAddress:
        return SamAddress(SAM_HOST, self.spec.sam_port)

    def prepare(self) -> None:
        self.spec.data_dir.mkdir(parents=True, exist_ok=True)
        (self.spec.root / "tunnels.d").mkdir(exist_ok=True)
        (self.spec.root / "tunnels.conf").write_text("")
        self.spec.conf_path.write_text(render_config(self.spec, self.options))

    def start(self) -> None:
        require_loopback_only()
        if self.running:
            return
        # Spawned from one long-lived thread: the kernel's parent-death signal follows the *thread* that
        # forked, and a start from a short-lived worker (asyncio.to_thread) would kill the router with it.
        self.process = _SPAWNER.submit(
            subprocess.Popen,
            [
                self.binary,
                f"--conf={self.spec.conf_path}",
                f"--datadir={self.spec.data_dir}",
                f"--tunconf={self.spec.root / 'tunnels.conf'}",
                f"--tunnelsdir={self.spec.root / 'tunnels.d'}",
                f"--pidfile={self.spec.root / 'i2pd.pid'}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C in the terminal goes to the test runner, which stops us in order
            preexec_fn=_die_with_parent,
        ).result()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM (i2pd's immediate stop; SIGINT would wait for transit tunnels), SIGKILL if it lingers."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    def restart(self, timeout: float = 60.0) -> None:
        self.stop()
        self.start()
        self.wait_sam(timeout)

    def wait_sam(self, timeout: float = 60.0) -> float:
        """Seconds until the SAM bridge answers HELLO; TestbedError with the log tail if it never does."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if not self.running:
                raise TestbedError(f"router {self.spec.index} exited: {self.failure_report()}")
            try:
                sam_hello(SAM_HOST, self.spec.sam_port, timeout=2.0)
                return time.monotonic() - started
            except SamFailure:
                time.sleep(0.1)
        raise TestbedError(f"router {self.spec.index} SAM did not answer in {timeout:.0f}s: {self.failure_report()}")

    def log_lines(self) -> list[str]:
        try:
            return self.spec.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []

    def failure_report(self, lines: int = 20) -> str:
        stderr = b""
        if self.process is not None and self.process.poll() is not None and self.process.stderr is not None:
            stderr = self.process.stderr.read()
        wanted = [line for line in self.log_lines() if "error" in line.lower() or "warn" in line.lower()]
        tail = "\n".join((wanted or self.log_lines())[-lines:])
        return f"{stderr.decode(errors='replace').strip()}\n{tail}".strip() or "(no log output)"


# --- the bed ----------------------------------------------------------------------------------------------


class Testbed:
    """N routers that know each other, SAM up on each. Use as a context manager; ``stop()`` is idempotent.

    ``with Testbed(BedOptions(routers=3)) as bed: bed.sam_addresses`` ...
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, options: BedOptions | None = None, root: Path | None = None) -> None:
        self.options = options or BedOptions()
        if not 1 <= self.options.routers <= 9 or not 0 <= self.options.slot <= 9:
            raise ValueError("the test bed runs 1 to 9 routers, in slots 0 to 9")
        binary = i2pd_binary()
        if binary is None:
            raise TestbedError("i2pd is not installed (Debian: apt-get install i2pd, after a policy-rc.d no-op)")
        self._own_root = root is None
        self.root = root or Path(tempfile.mkdtemp(prefix="mule-i2p-testbed-"))
        self.routers = [Router(spec, self.options, binary) for spec in router_specs(self.root, self.options)]
        self.startup_s: float | None = None  # cold start -> every SAM bridge answers, for the probe's figures

    @property
    def sam_addresses(self) -> list[SamAddress]:
        return [router.sam_address for router in self.routers]

    @property
    def session_options(self) -> dict[str, str]:
        """Options every SAM DATAGRAM session on this bed needs (see BedOptions.session_options)."""
        return self.options.session_options

    def pair(self) -> tuple[Router, Router]:
        """The routers a two-session delivery test puts its sessions on: the first and the last (with the
        one-router recipe, both sessions share it)."""
        return self.routers[0], self.routers[-1]

    def start(self, timeout: float = 60.0) -> None:
        require_loopback_only()
        begun = time.monotonic()
        for address in self.sam_addresses:
            if _answers(address):
                raise TestbedError(f"{address} is taken: another bed on slot {self.options.slot} in this namespace?")
        try:
            self._add_transport_addresses()
            for router in self.routers:
                router.prepare()
            if len(self.routers) > 1:
                self._cross_seed(timeout)
            for router in self.routers:
                router.start()
            for router in self.routers:
                router.wait_sam(timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - begun

    def stop(self) -> None:
        for router in self.routers:
            router.stop()

    def cleanup(self) -> None:
        self.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Testbed:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def _add_transport_addresses(self) -> None:
        for router in self.routers:
            host = router.spec.transport_host
            if host.startswith("127."):
                continue  # already on lo
            subprocess.run(["ip", "addr", "replace", f"{host}/32", "dev", "lo"], check=True)

    def _cross_seed(self, timeout: float) -> None:
        """First start of a fresh bed: let every router write its router.info, then give each the others'."""
        fresh = [router for router in self.routers if not router.spec.router_info.exists()]
        for router in fresh:
            router.start()
        for router in fresh:
            router.wait_sam(timeout)  # by then the router has written its router.info
            router.stop()
        for router in self.routers:
            info = router.spec.router_info.read_bytes()
            if not router_info_complete(info):
                raise TestbedError(
                    f"router {router.spec.index} left an incomplete router.info: {router.failure_report()}"
                )
            for peer in self.routers:
                if peer is not router:
                    seed_netdb(peer.spec.data_dir, info)


# --- probing the bed with mule's own SAM client --------------------------------------------------------


def sam_hello(host: str, port: int, timeout: float = 5.0) -> str:
    """The SAM version the bridge agrees on. Blocking, for the bed's synchronous callers (never from inside a
    running event loop); ``SamFailure`` if nothing answers or the bridge refuses."""

    async def hello() -> str:
        connection = await SamConnection.open(host, port, timeout=timeout)
        await connection.close()
        return connection.version

    return asyncio.run(hello())


def _answers(address: SamAddress) -> bool:
    try:
        socket.create_connection((address.host, address.port), 1.0).close()
    except OSError:
        return False
    return True


@dataclass(slots=True)
class _ProbeInbox:
    """What one probe session received from the other one (datagrams from anyone else do not count)."""

    peer: bytes = b""  # set once both sessions exist, before anything is sent
    first_hail_at: float | None = None  # time.monotonic() of the first hail
    burst: int = 0

    def receive(self, source: bytes, payload: bytes) -> None:
        if source != self.peer:
            return
        if payload.startswith(b"probe"):
            if self.first_hail_at is None:
                self.first_hail_at = time.monotonic()
        elif payload.startswith(b"burst"):
            self.burst += 1


@dataclass(frozen=True, slots=True)
class ProbeResult:
    delivered: bool
    sessions_ready_s: float  # SESSION CREATE sent -> both sessions OK
    first_datagram_s: float | None  # both sessions OK -> first datagram received (either way)
    both_ways_s: float | None  # both sessions OK -> a datagram received in each direction
    burst_sent: int  # datagrams sent each way after both ways worked
    burst_received: tuple[int, int]  # of those, received (a->b, b->a)


async def probe_delivery(
    a: SamAddress,
    b: SamAddress,
    session_options: Mapping[str, str] | None = None,
    timeout: float = 120.0,
    interval: float = 1.0,
    burst: int = 0,
) -> ProbeResult:
    """Two transient DSA-SHA1 sessions (on bridges ``a`` and ``b``, forwarded-UDP path) send to each other
    every ``interval`` until each has received one datagram or ``timeout`` passes; then, if asked, ``burst``
    more each way, counted. ``SamFailure`` if a session cannot be created or dies."""
    options = dict(session_options or BedOptions().session_options)
    tag = f"{os.getpid()}x{int(time.monotonic() * 1000) % 100000}"
    inboxes = (_ProbeInbox(), _ProbeInbox())
    specs = [
        SessionSpec(address.host, address.port, f"probe{side}{tag}", None, path=DatagramPath.UDP, options=options)
        for side, address in (("A", a), ("B", b))
    ]
    begun = time.monotonic()
    first, second = await DatagramSession.create_all(
        [(spec, inbox.receive) for spec, inbox in zip(specs, inboxes, strict=True)]
    )
    ready = time.monotonic()
    inboxes[0].peer, inboxes[1].peer = second.destination, first.destination

    def send_both_ways(kind: bytes, number: int) -> None:
        first.send(second.destination, b"%s a->b %d" % (kind, number))
        second.send(first.destination, b"%s b->a %d" % (kind, number))

    async def hail() -> None:
        sent = 0
        while any(inbox.first_hail_at is None for inbox in inboxes):
            send_both_ways(b"probe", sent)
            sent += 1
            await asyncio.sleep(interval)

    async def burst_both_ways() -> None:
        for number in range(burst):
            send_both_ways(b"burst", number)
            await asyncio.sleep(0.02)
        await asyncio.sleep(5.0)  # stragglers

    try:
        await asyncio.wait_for(hail(), timeout)
        if burst:
            await burst_both_ways()
    except TimeoutError:
        pass
    finally:
        await asyncio.gather(first.close(), second.close())
    times = sorted(inbox.first_hail_at for inbox in inboxes if inbox.first_hail_at is not None)
    return ProbeResult(
        delivered=bool(times),
        sessions_ready_s=ready - begun,
        first_datagram_s=times[0] - ready if times else None,
        both_ways_s=times[1] - ready if len(times) == 2 else None,
        burst_sent=burst if len(times) == 2 else 0,
        burst_received=(inboxes[1].burst, inboxes[0].burst),
    )


@dataclass(frozen=True, slots=True)
class DeliveryCheck:
    """Whether two SAM sessions on a bed exchanged datagrams both ways, with the evidence."""

    available: bool
    reason: str
    result: ProbeResult | None

    def __bool__(self) -> bool:
        return self.available


def check_delivery(bed: Testbed, timeout: float = 60.0, burst: int = 20) -> DeliveryCheck:
    """One delivery probe between the sessions ``bed.pair()`` names, on the bed's session options."""
    first, last = bed.pair()
    try:
        result = asyncio.run(
            probe_delivery(first.sam_address, last.sam_address, bed.session_options, timeout=timeout, burst=burst)
        )
    except SamFailure as exc:
        return DeliveryCheck(False, f"probe sessions failed: {exc!r}", None)
    if result.both_ways_s is None:
        logs = "\n".join(router.failure_report() for router in bed.routers)
        return DeliveryCheck(False, f"no datagram delivered both ways within {timeout:.0f} s: {result}\n{logs}", result)
    return DeliveryCheck(True, "delivered both ways", result)
