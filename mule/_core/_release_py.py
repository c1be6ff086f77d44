"""The release queue, pure Python: the twin of ``_release_c`` (same bytes, same sockets, same order, same gaps).

A Python thread cannot keep an instant to the microsecond: after each sleep it must win the GIL back from the
event loop's thread, which costs up to the interpreter's switch interval (measured: p99 0.36 ms late, against
0.04 ms for the compiled twin, and the bench told the two apart). So this twin keeps its clock in a helper process
of its own (``python -m mule._core._release_py``), with a GIL of its own: ``release_at`` hands the datagram over at
once (with the socket itself, by SCM_RIGHTS, the first time), and the helper sleeps, spins and sends as the compiled
twin's thread does (with ``realtime``, under SCHED_FIFO where allowed: the helper takes it and says whether it did).
``run`` is the caller's thread reading the helper's reports (what was sent, when, and what ``discard`` dropped);
``discard`` waits for it, so call ``run`` before ``discard``.
"""

from __future__ import annotations

import collections
import contextlib
import select
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_ENTRY = struct.Struct("<dqiH")  # at, order, the caller's descriptor number, port (0: the socket's peer)
_FD = struct.Struct("<i")
_SENT = struct.Struct("<qdd?")  # order, its instant, the instant the send began, whether the kernel took it
_DROPPED = struct.Struct("<q")
_QUEUE, _DISCARD, _CLOSE = b"Q", b"D", b"C"
_REPORT_READY, _REPORT_SENT, _REPORT_DROPPED, _REPORT_DONE = b"r", b"S", b"d", b"c"
_MESSAGE = 1 << 16  # larger than any datagram mule sends (10,240 bytes of payload and a SAM header)
_BUFFER = 4 << 20
_DISCARD_TIMEOUT = 2.0
_START_TIMEOUT = 10.0
_LATE_SAMPLES = 1024  # the most recent sends' lateness kept for the node's status, as the compiled twin


class ReleaseQueue:
    """At most ``capacity`` datagrams waiting for their instants, sent no closer together than ``gap`` seconds;
    ``record`` keeps each one's hand-off instant; ``realtime``: the sending helper takes SCHED_FIFO where allowed."""

    __slots__ = (
        "_capacity",
        "_closed",
        "_control",
        "_dropped",
        "_failed",
        "_helper",
        "_helper_realtime",
        "_known",
        "_late",
        "_pending",
        "_realtime",
        "_record",
        "_scheduled",
        "_sent",
        "_state",
    )

    def __init__(
        self, spin: float, capacity: int = 1024, record: bool = False, gap: float = 0.0, realtime: bool = False
    ) -> None:
        if not spin >= 0.0 or not gap >= 0.0 or capacity < 1:
            raise ValueError("a release queue needs spin >= 0, gap >= 0 and capacity >= 1")
        self._capacity = capacity
        self._record = record
        self._state = threading.Condition()
        self._closed = False
        self._scheduled = 0
        self._pending = 0
        self._failed = 0
        self._dropped: int | None = None
        self._sent: list[tuple[int, float]] = []
        self._late: collections.deque[float] = collections.deque(maxlen=_LATE_SAMPLES)
        self._realtime: bool | None = None
        self._known: set[int] = set()
        """Descriptor numbers the helper holds a copy of."""
        self._control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        for end in (self._control, theirs):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _BUFFER)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _BUFFER)
        arguments = (str(theirs.fileno()), repr(spin), repr(gap), str(int(realtime)))
        with theirs:
            self._helper = subprocess.Popen(
                [sys.executable, "-m", "mule._core._release_py", *arguments],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        self._control.settimeout(_START_TIMEOUT)
        ready = self._control.recv(_MESSAGE)
        if ready[:1] != _REPORT_READY or len(ready) != 2:  # the helper keeps instants only once it is up
            raise OSError("the release helper did not start")
        self._helper_realtime = bool(ready[1])
        self._control.setblocking(False)

    def release_at(self, at: float, fd: int, data: bytes, address: tuple[str, int] | None = None) -> bool:
        """Queue ``data`` for socket ``fd`` at monotonic instant ``at`` (to ``address`` = (numeric host, port), else
        to the socket's peer); False when the queue is full or closed."""
        host, port = "", 0
        if address is not None:  # the compiled twin's check: a numeric host, else OSError
            host, port = str(address[0]), int(address[1])
            socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        with self._state:
            if self._closed or self._pending == self._capacity:
                return False
            encoded = host.encode("ascii")
            message = _QUEUE + _ENTRY.pack(at, self._scheduled, fd, port) + bytes((len(encoded),)) + encoded + data
            try:
                if fd in self._known:
                    self._control.send(message)
                else:
                    socket.send_fds(self._control, [message], [fd])
                    self._known.add(fd)
            except OSError:  # the helper's inbox is full, or the helper is gone
                return False
            self._scheduled += 1
            self._pending += 1
        return True

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # the helper ends when its end of the socket pair does
            self._control.close()
            self._helper.wait(1.0)

    def discard(self, fd: int) -> int:
        """Drop what waits for socket ``fd`` (it is about to close, and its number may be reused), and wait for a
        send to it already under way (at most ``spin`` away); how many were dropped. After ``close`` nothing is
        dropped: what is queued leaves on the helper's own copy of the socket."""
        with self._state:
            if fd not in self._known or self._closed:
                return 0
            self._known.discard(fd)
            self._dropped = None
            try:
                self._control.send(_DISCARD + _FD.pack(fd))
            except OSError:
                return 0
            self._state.wait_for(lambda: self._dropped is not None, _DISCARD_TIMEOUT)
            return self._dropped or 0

    def close(self) -> None:
        """Let ``run`` return once everything queued has left at its instant; nothing more is accepted."""
        with self._state:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(OSError):
                self._control.send(_CLOSE)

    @property
    def failed(self) -> int:
        """Datagrams the kernel refused (a full socket buffer, a closed socket): lost, as I2P may lose any."""
        return self._failed

    @property
    def realtime(self) -> bool | None:
        """Whether what sends (here the helper) runs under SCHED_FIFO (None until ``run`` has begun)."""
        return self._realtime

    def lateness_samples(self) -> list[float]:
        """How late each of the most recent sends (up to 1,024) began after its instant, in seconds."""
        with self._state:
            return list(self._late)

    def sent_instants(self) -> list[tuple[int, float]]:
        """With ``record``: each handed datagram's order of scheduling and the instant its send began (-1.0: the
        kernel refused it)."""
        return list(self._sent)

    def run(self, started: Callable[[], None] | None = None) -> None:
        """The reporting thread's body: calls ``started()``, and returns after ``close`` once the helper has sent
        everything queued."""
        self._realtime = self._helper_realtime
        if started is not None:
            started()
        while True:
            select.select([self._control], [], [], 0.1)
            try:
                message = self._control.recv(_MESSAGE)
            except BlockingIOError:
                if self._helper.poll() is None:
                    continue
                message = b""
            with self._state:
                if message[:1] == _REPORT_SENT:
                    order, at, instant, taken = _SENT.unpack(message[1:])
                    self._pending -= 1
                    self._failed += not taken
                    if taken:
                        self._late.append(instant - at)
                    if self._record:
                        self._sent.append((order, instant if taken else -1.0))
                elif message[:1] == _REPORT_DROPPED:
                    (dropped,) = _DROPPED.unpack(message[1:])
                    self._pending -= dropped
                    self._dropped = dropped
                    self._state.notify_all()
                else:  # done, or the helper is gone
                    self._closed = True
                    self._dropped = self._dropped if self._dropped is not None else 0
                    self._state.notify_all()
                    self._control.close()
                    self._helper.wait()
                    return


@dataclass(slots=True)
class _Entry:
    at: float
    order: int
    fd: int
    address: tuple[str, int] | None
    data: bytes


def _serve(control: socket.socket, spin: float, gap: float, realtime: bool) -> None:
    """The helper's loop: keep what the parent hands over, send each at its instant, report each send."""
    from mule.node.priority import take_release_priority

    control.send(_REPORT_READY + bytes((realtime and take_release_priority(),)))
    entries: list[_Entry] = []
    sockets: dict[int, socket.socket] = {}
    closing = False
    last = -1e300  # when the last send began
    while True:
        aim = None
        if entries:
            entry = min(entries, key=lambda e: (e.at, e.order))
            aim = max(entry.at, last + gap)  # never two sends closer than ``gap``
        if closing and aim is None:
            control.send(_REPORT_DONE)
            return
        now = time.monotonic()
        due = aim is not None and now >= aim - spin
        if not closing and not due and select.select([control], [], [], 0.0)[0]:
            # Take every message already there before choosing what to send, but never once a send is due: taking
            # one costs tens of µs here, which would push the send past its instant (or a gap past ``gap``) as the
            # compiled twin, whose queue takes a hand-over under a lock in a few hundred ns, never is. What is handed
            # over then has an instant at least the lead away (unless the loop was that late), so it still leaves
            # in instant order.
            aim = None
        if aim is None or now < aim - spin:
            timeout = None if aim is None else aim - spin - now
            if closing:  # nothing more comes: sleep to the next one
                time.sleep(timeout or 0.0)
            elif select.select([control], [], [], timeout)[0]:
                message, fds, _flags, _address = socket.recv_fds(control, _MESSAGE, 1)
                if not message:
                    return  # the parent is gone
                closing = _take(message, fds, entries, sockets, control)
            continue
        entries.remove(entry)
        last = time.monotonic()
        while last < aim:
            last = time.monotonic()
        taken = _send(sockets.get(entry.fd), entry)
        control.send(_REPORT_SENT + _SENT.pack(entry.order, entry.at, last, taken))


def _take(
    message: bytes, fds: list[int], entries: list[_Entry], sockets: dict[int, socket.socket], control: socket.socket
) -> bool:
    """Apply one message from the parent; whether it was the close."""
    kind, body = message[:1], message[1:]
    if kind == _QUEUE:
        at, order, fd, port = _ENTRY.unpack_from(body)
        length = body[_ENTRY.size]
        start = _ENTRY.size + 1
        host = body[start : start + length].decode("ascii")
        if fds:
            sockets[fd] = socket.socket(fileno=fds[0])
        entries.append(_Entry(at, order, fd, (host, port) if host else None, body[start + length :]))
    elif kind == _DISCARD:
        (fd,) = _FD.unpack(body)
        kept = [entry for entry in entries if entry.fd != fd]
        dropped = len(entries) - len(kept)
        entries[:] = kept
        held = sockets.pop(fd, None)
        if held is not None:
            held.close()
        control.send(_REPORT_DROPPED + _DROPPED.pack(dropped))
    return kind == _CLOSE


def _send(sock: socket.socket | None, entry: _Entry) -> bool:
    """Whether the kernel took the datagram."""
    if sock is None:
        return False
    try:
        if entry.address is None:
            sock.send(entry.data)
        else:
            sock.sendto(entry.data, entry.address)
    except OSError:
        return False
    return True


if __name__ == "__main__":
    _serve(socket.socket(fileno=int(sys.argv[1])), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "1")
