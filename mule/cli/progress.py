"""What the operator sees while a node starts and runs: one line per start-up phase, waits counted, then a
periodic status line. Kad IDs are always hex and our own node is marked; destinations are shortened."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

from mule.cli.sdnotify import sd_notify
from mule.i2p.address import b32_address

log = logging.getLogger("mule.progress")

T = TypeVar("T")
WAIT_REPORT_S = 10.0
"""A wait longer than this gets a "still ..." line every so often, so silence never means "hung"."""


def short_b32(destination: bytes) -> str:
    """Enough of the b32 address to recognise a node; the full one is logged at DEBUG only."""
    address = b32_address(destination)
    return f"{address[:8]}….b32.i2p"


def ours(kad_id: int) -> str:
    return f"{kad_id:032x} (ours)"


def status_line(status: Any) -> str:
    """One line from ``NodeService.status()`` (fields are read by name: newer ones such as ``faults`` show up)."""
    fields = ("contacts", "verified", "seeds", "queued", "sent", "admitted", "dropped_inputs", "faults")
    values = " ".join(f"{name}={getattr(status, name)}" for name in fields if hasattr(status, name))
    return f"status: node {ours(status.kad_id)} {values}"


async def counting(step: Awaitable[T], what: str) -> T:
    """``await step``, logging "still <what> (N s)" every ``WAIT_REPORT_S``; the caller logs the outcome."""
    task = asyncio.ensure_future(step)
    started = time.monotonic()
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=WAIT_REPORT_S)
            if done:
                return task.result()
            log.info("still %s (%.0f s)", what, time.monotonic() - started)
    except asyncio.CancelledError:
        task.cancel()  # the step itself must stop too, and get to close what it opened
        await asyncio.wait({task})
        raise


class RunProgress:
    """Reports the phases after the session is up: bootstrapping, first verified contact, periodic status."""

    def __init__(self, started: float) -> None:
        self._started = started
        self._verified_seen = False

    def up(self, status: Any, destination: bytes, session_s: float) -> None:
        log.info("session created after %.1f s: node %s as %s", session_s, ours(status.kad_id), short_b32(destination))
        log.debug("our destination: %s", b32_address(destination))
        log.info("bootstrapping from %d seed contacts (%d in the routing table)", status.seeds, status.contacts)
        sd_notify("READY=1", f"STATUS=bootstrapping, {status.contacts} contacts")

    def check(self, status: Any) -> None:
        """Called often (every second): reports the first verified contact as soon as there is one."""
        if not self._verified_seen and status.verified:
            self._verified_seen = True
            log.info(
                "first contact verified after %.0f s (%d in the routing table)",
                time.monotonic() - self._started,
                status.contacts,
            )

    def periodic(self, status: Any) -> None:
        line = status_line(status)
        log.info("%s", line)
        sd_notify(f"STATUS={line}")
