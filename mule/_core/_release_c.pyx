# cython: language_level=3
"""The release queue, compiled: datagrams handed to UDP sockets at given instants by a thread that holds no GIL.

The pure-Python twin (``_release_py``) sends the same bytes to the same sockets in the same order; only how close to
each instant it gets differs. ``run`` is the release thread's body: with ``realtime`` it takes SCHED_FIFO where the OS
allows (``mule.node.priority.take_release_priority``), then it sleeps on a condition variable of
CLOCK_MONOTONIC (the clock ``time.monotonic()`` reads) until ``spin`` seconds before the earliest instant, then spins
to the instant itself and sends. Sleeping up to the instant would make every hand-off as late as the host's wake-up
(a halted vCPU, a C-state, a busy core), which differs between an idle and a loaded host; the spin takes that wake-up
out of the hand-off. The queue holds what falls due within the caller's lead (a few ms), so a linear scan for the
earliest entry is cheaper than a heap.
"""

import socket
import struct

from mule.node.priority import take_release_priority

from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec


cdef extern from "<pthread.h>" nogil:
    ctypedef struct pthread_mutex_t:
        pass
    ctypedef struct pthread_cond_t:
        pass
    ctypedef struct pthread_condattr_t:
        pass
    int pthread_mutex_init(pthread_mutex_t*, void*)
    int pthread_mutex_destroy(pthread_mutex_t*)
    int pthread_mutex_lock(pthread_mutex_t*)
    int pthread_mutex_unlock(pthread_mutex_t*)
    int pthread_condattr_init(pthread_condattr_t*)
    int pthread_condattr_setclock(pthread_condattr_t*, int)
    int pthread_condattr_destroy(pthread_condattr_t*)
    int pthread_cond_init(pthread_cond_t*, pthread_condattr_t*)
    int pthread_cond_destroy(pthread_cond_t*)
    int pthread_cond_signal(pthread_cond_t*)
    int pthread_cond_broadcast(pthread_cond_t*)
    int pthread_cond_timedwait(pthread_cond_t*, pthread_mutex_t*, const timespec*)
    int pthread_cond_wait(pthread_cond_t*, pthread_mutex_t*)


cdef extern from "<sys/socket.h>" nogil:
    ctypedef unsigned int socklen_t
    cdef struct sockaddr:
        pass


cdef extern from "<sys/socket.h>" nogil:
    ssize_t send(int, const void*, size_t, int)
    ssize_t sendto(int, const void*, size_t, int, const sockaddr*, socklen_t)


cdef struct Entry:
    double at
    int fd
    char* data
    Py_ssize_t length
    socklen_t address_length  # 0: the socket's peer
    char address[28]  # a sockaddr_in or sockaddr_in6, as the kernel reads it
    Py_ssize_t order


def _sockaddr(object address):
    """The kernel's sockaddr for (numeric IPv4 or IPv6 host, port); OSError for anything else, as the twin."""
    host, port = str(address[0]), int(address[1])
    if ":" in host:
        return (
            struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", port, 0)
            + socket.inet_pton(socket.AF_INET6, host) + struct.pack("=I", 0)
        )
    return struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + socket.inet_pton(socket.AF_INET, host) + bytes(8)


DEF RECORD_CHUNK = 256  # (order, instant) pairs handed back to Python at a time when recording
DEF LATE_SAMPLES = 1024  # the most recent sends' lateness kept for the node's status


cdef inline double _now() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + ts.tv_nsec * 1e-9


cdef class ReleaseQueue:
    """At most ``capacity`` datagrams waiting for their instants, sent no closer together than ``gap`` seconds;
    ``record`` keeps each one's hand-off instant; ``realtime``: the sending thread takes SCHED_FIFO where allowed."""

    cdef pthread_mutex_t _mutex
    cdef pthread_cond_t _wake
    cdef pthread_cond_t _sent_one
    cdef int _sending_fd
    cdef Entry* _entries
    cdef Py_ssize_t _count
    cdef Py_ssize_t _capacity
    cdef double _spin
    cdef double _gap
    cdef double _last  # when the last send began (the serving thread's alone)
    cdef bint _closed
    cdef bint _record
    cdef Py_ssize_t _scheduled
    cdef Py_ssize_t _failed
    cdef list _sent
    cdef double* _handed
    cdef double* _late  # a ring of the last LATE_SAMPLES sends' lateness
    cdef Py_ssize_t _late_count
    cdef object _realtime
    cdef bint _want_realtime

    def __cinit__(
        self, double spin, Py_ssize_t capacity=1024, bint record=False, double gap=0.0, bint realtime=False
    ):
        cdef pthread_condattr_t attr
        if not (spin >= 0.0) or not (gap >= 0.0) or capacity < 1:
            raise ValueError("a release queue needs spin >= 0, gap >= 0 and capacity >= 1")
        self._entries = <Entry*>malloc(capacity * sizeof(Entry))
        self._handed = <double*>malloc(2 * RECORD_CHUNK * sizeof(double))
        self._late = <double*>malloc(LATE_SAMPLES * sizeof(double))
        if self._entries == NULL or self._handed == NULL or self._late == NULL:
            raise MemoryError()
        self._capacity = capacity
        self._spin = spin
        self._gap = gap
        self._last = -1e300
        self._record = record
        self._sent = []
        self._realtime = None
        self._want_realtime = realtime
        pthread_mutex_init(&self._mutex, NULL)
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(&self._wake, &attr)
        pthread_cond_init(&self._sent_one, &attr)
        pthread_condattr_destroy(&attr)
        self._sending_fd = -1

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self._entries != NULL:
            for i in range(self._count):
                free(self._entries[i].data)
            free(self._entries)
        free(self._handed)
        free(self._late)
        pthread_cond_destroy(&self._wake)
        pthread_cond_destroy(&self._sent_one)
        pthread_mutex_destroy(&self._mutex)

    def release_at(self, double at, int fd, bytes data, object address=None):
        """Queue ``data`` for socket ``fd`` at monotonic instant ``at`` (to ``address`` = (numeric host, port), else
        to the socket's peer); False when the queue is full or closed."""
        cdef Entry entry
        cdef const char* source = data
        cdef bytes raw = _sockaddr(address) if address is not None else b""
        cdef bint taken = False
        entry.at = at
        entry.fd = fd
        entry.length = len(data)
        entry.address_length = len(raw)
        memset(entry.address, 0, sizeof(entry.address))
        memcpy(entry.address, <const char*>raw, len(raw))
        entry.data = <char*>malloc(entry.length if entry.length > 0 else 1)
        if entry.data == NULL:
            raise MemoryError()
        memcpy(entry.data, source, entry.length)
        with nogil:
            pthread_mutex_lock(&self._mutex)
            if not self._closed and self._count < self._capacity:
                entry.order = self._scheduled
                self._scheduled += 1
                self._entries[self._count] = entry
                self._count += 1
                taken = True
                pthread_cond_signal(&self._wake)
            pthread_mutex_unlock(&self._mutex)
        if not taken:
            free(entry.data)
        return taken

    def discard(self, int fd):
        """Drop what waits for socket ``fd`` (it is about to close, and its number may be reused), and wait for a
        send to it already under way (at most ``spin`` away); how many were dropped."""
        cdef Py_ssize_t i = 0
        cdef Py_ssize_t dropped = 0
        with nogil:
            pthread_mutex_lock(&self._mutex)
            while self._sending_fd == fd:
                pthread_cond_wait(&self._sent_one, &self._mutex)
            while i < self._count:
                if self._entries[i].fd == fd:
                    free(self._entries[i].data)
                    self._count -= 1
                    self._entries[i] = self._entries[self._count]
                    dropped += 1
                else:
                    i += 1
            pthread_mutex_unlock(&self._mutex)
        return dropped

    def close(self):
        """Let ``run`` return once everything queued has left at its instant; nothing more is accepted."""
        with nogil:
            pthread_mutex_lock(&self._mutex)
            self._closed = True
            pthread_cond_signal(&self._wake)
            pthread_mutex_unlock(&self._mutex)

    @property
    def failed(self):
        """Datagrams the kernel refused (a full socket buffer, a closed socket): lost, as I2P may lose any."""
        return self._failed

    @property
    def realtime(self):
        """Whether the thread that sends runs under SCHED_FIFO (None until ``run`` has begun)."""
        return self._realtime

    def lateness_samples(self):
        """How late each of the most recent sends (up to 1,024) began after its instant, in seconds."""
        cdef Py_ssize_t kept
        cdef double* copy = <double*>malloc(LATE_SAMPLES * sizeof(double))
        if copy == NULL:
            raise MemoryError()
        with nogil:  # a copy of 8 KiB under the lock: the sending thread never waits on Python
            pthread_mutex_lock(&self._mutex)
            kept = min(self._late_count, LATE_SAMPLES)
            memcpy(copy, self._late, kept * sizeof(double))
            pthread_mutex_unlock(&self._mutex)
        try:
            return [copy[i] for i in range(kept)]
        finally:
            free(copy)

    def sent_instants(self):
        """With ``record``: each handed datagram's order of scheduling and the instant its send began (-1.0: the
        kernel refused it)."""
        return list(self._sent)

    def run(self, started=None):
        """The release thread's body: takes SCHED_FIFO (with ``realtime``, where allowed), calls ``started()``,
        and returns after ``close`` once the queue is empty."""
        cdef Py_ssize_t handed
        self._realtime = self._want_realtime and take_release_priority()  # for this thread, which keeps instants
        if started is not None:
            started()
        while True:
            with nogil:
                handed = self._serve()
            if self._record:
                self._sent.extend(
                    (int(self._handed[2 * i]), self._handed[2 * i + 1]) for i in range(handed // 2)
                )
            if handed == 0 and self._closed:
                with nogil:
                    pthread_mutex_lock(&self._mutex)
                    handed = self._count
                    pthread_mutex_unlock(&self._mutex)
                if handed == 0:
                    return

    cdef Py_ssize_t _serve(self) noexcept nogil:
        """Hand off due entries until the queue is closed and empty (or, recording, until there is something to
        record and nothing due, or ``_handed`` is full); returns the number of values written to ``_handed``."""
        cdef Py_ssize_t i, best, written = 0
        cdef double aim, wake
        cdef timespec until
        cdef Entry entry
        cdef ssize_t result
        pthread_mutex_lock(&self._mutex)
        while not self._record or written < 2 * RECORD_CHUNK:
            if self._count == 0:
                if self._closed or written:
                    break
                pthread_cond_wait(&self._wake, &self._mutex)
                continue
            best = 0
            for i in range(1, self._count):  # the earliest instant, then the earliest scheduled (as the twin)
                if self._entries[i].at < self._entries[best].at or (
                    self._entries[i].at == self._entries[best].at and self._entries[i].order < self._entries[best].order
                ):
                    best = i
            aim = self._entries[best].at
            if aim < self._last + self._gap:  # never two sends closer than ``gap``, whatever a send costs here
                aim = self._last + self._gap
            wake = aim - self._spin
            if _now() < wake:
                until.tv_sec = <long>wake
                until.tv_nsec = <long>((wake - until.tv_sec) * 1e9)
                pthread_cond_timedwait(&self._wake, &self._mutex, &until)
                continue  # an earlier entry may have come meanwhile
            entry = self._entries[best]
            self._count -= 1
            self._entries[best] = self._entries[self._count]
            self._sending_fd = entry.fd
            pthread_mutex_unlock(&self._mutex)
            self._last = _now()
            while self._last < aim:
                self._last = _now()
            if entry.address_length:
                result = sendto(entry.fd, entry.data, entry.length, 0, <sockaddr*>entry.address, entry.address_length)
            else:
                result = send(entry.fd, entry.data, entry.length, 0)
            free(entry.data)
            pthread_mutex_lock(&self._mutex)
            self._sending_fd = -1
            pthread_cond_broadcast(&self._sent_one)
            if result < 0:
                self._failed += 1
            else:
                self._late[self._late_count % LATE_SAMPLES] = self._last - entry.at
                self._late_count += 1
            if self._record:
                self._handed[written] = entry.order
                self._handed[written + 1] = self._last if result >= 0 else -1.0
                written += 2
        pthread_mutex_unlock(&self._mutex)
        return written
