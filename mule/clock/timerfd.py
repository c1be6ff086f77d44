"""A Linux timerfd on CLOCK_MONOTONIC: a kernel timer, aimed to the nanosecond, that the event loop polls like a socket.

``time.monotonic()`` reads the same clock, so an instant the shaper computes is the instant the kernel
wakes the loop for. Python gains ``os.timerfd_create`` only in 3.13; on 3.11 the two calls go through libc.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import weakref

_CLOCK_MONOTONIC = 1
_TFD_TIMER_ABSTIME = 1
_NS = 1_000_000_000


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


_libc = ctypes.CDLL(None, use_errno=True)
_timerfd_create = _libc.timerfd_create
_timerfd_create.argtypes = (ctypes.c_int, ctypes.c_int)
_timerfd_settime = _libc.timerfd_settime
_timerfd_settime.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Itimerspec), ctypes.c_void_p)


def _checked(result: int, call: str) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{call}: {os.strerror(errno)}")
    return result


class TimerFd:
    """One-shot absolute timer; readable once it has expired. The descriptor closes with the object."""

    __slots__ = ("__weakref__", "_value", "fd")

    def __init__(self) -> None:
        flags = os.O_NONBLOCK | os.O_CLOEXEC  # TFD_NONBLOCK and TFD_CLOEXEC share these values
        self.fd = _checked(_timerfd_create(_CLOCK_MONOTONIC, flags), "timerfd_create")
        self._value = _Itimerspec()  # reused: a wake-up is armed for every hand-off, so no allocation per call
        weakref.finalize(self, os.close, self.fd)

    def arm(self, when: float) -> None:
        """Expire at ``when`` (seconds on ``time.monotonic()``); an instant already past expires at once."""
        ns = max(1, round(when * _NS))  # zero would disarm it
        value = self._value
        value.it_value.tv_sec, value.it_value.tv_nsec = divmod(ns, _NS)
        _checked(_timerfd_settime(self.fd, _TFD_TIMER_ABSTIME, value, None), "timerfd_settime")

    def clear(self) -> None:
        """Consume the expiry, so the descriptor stops polling readable."""
        with contextlib.suppress(BlockingIOError):
            os.read(self.fd, 8)
