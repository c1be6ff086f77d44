"""The CPU priority a node runs at: it takes the deployed one when the OS lets it, and says so when it cannot.

mule hands each message off at an instant it drew; a node that must wait for a busy CPU hands off late, and an
observer with a clock sees lateness (docs/constancy.md). Measured on a 2-core host with every core saturated: at
equal priority 4.5 % of hand-offs were more than 2 ms late and the constancy bench told that node from an idle
one; at ``Nice=-10`` 0.2 % were, and it could not. So the node raises itself to ``Nice=-10`` when it already may
(root, CAP_SYS_NICE, or an RLIMIT_NICE that allows it); it never asks for more. Otherwise docs/deploy.md's unit
sets ``Nice=``, and ``mule run`` says so when it is missing.

The release thread (``mule.transport.release``), which puts each datagram on the wire at its instant, asks for more
when the OS already allows it: SCHED_FIFO at the lowest real-time priority (root, CAP_SYS_NICE, or an RLIMIT_RTPRIO
of at least 1, which docs/deploy.md's unit sets), so that no ordinary process can delay a hand-off whatever its
niceness.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

DEPLOYED_NICE = -10
"""The niceness the node takes when it may, the one docs/deploy.md's systemd unit sets, and the bench measures."""
RELEASE_PRIORITY = 1
"""The release thread's SCHED_FIFO priority: the lowest, above every ordinary process, below the kernel's own."""


@dataclass(frozen=True, slots=True)
class Priority:
    before: int
    after: int

    @property
    def raised(self) -> bool:
        return self.after < self.before


def take_deployed_priority() -> Priority:
    """Lower this thread's niceness to ``DEPLOYED_NICE`` if it is above it and the OS allows.

    Call it before any thread starts: on Linux niceness is per thread, and threads inherit it when created.
    """
    before = os.getpriority(os.PRIO_PROCESS, 0)
    if before > DEPLOYED_NICE:
        with contextlib.suppress(PermissionError):  # not ours to take: priority_advice says how
            os.setpriority(os.PRIO_PROCESS, 0, DEPLOYED_NICE)
    return Priority(before, os.getpriority(os.PRIO_PROCESS, 0))


def priority_advice(niceness: int) -> str | None:
    """One line for the log when the node runs at a lower priority than deployed (None when it does not)."""
    if niceness <= DEPLOYED_NICE:
        return None
    return (
        f"running at niceness {niceness} (raising it to {DEPLOYED_NICE} needs root, CAP_SYS_NICE or RLIMIT_NICE): "
        f"when this host's CPUs are busy, messages can leave milliseconds late, which an observer can measure; "
        f"run the node at Nice={DEPLOYED_NICE} (docs/deploy.md)"
    )


def take_release_priority() -> bool:
    """Put the calling thread under SCHED_FIFO at ``RELEASE_PRIORITY`` if the OS allows; whether it did."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(RELEASE_PRIORITY))  # 0: the calling thread
    except OSError:  # no CAP_SYS_NICE and no RLIMIT_RTPRIO (or a cgroup without real-time time): not ours to take
        return False
    return True
