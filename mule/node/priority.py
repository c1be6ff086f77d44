"""The CPU priority a node runs at: it takes the deployed one when the OS lets it, and says so when it cannot.

mule hands each message off at an instant it drew; a node that must wait for a busy CPU hands off late, and an
observer with a clock sees lateness (docs/constancy.md). Measured on a 2-core host with every core saturated: at
equal priority 4.5 % of hand-offs were more than 2 ms late and the constancy bench told that node from an idle
one; at ``Nice=-10`` 0.2 % were, and it could not. So the node raises itself to ``Nice=-10`` when it already may
(root, CAP_SYS_NICE, or an RLIMIT_NICE that allows it); it never asks for more. Otherwise docs/deploy.md's unit
sets ``Nice=``, and ``mule run`` says so when it is missing.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

DEPLOYED_NICE = -10
"""The niceness the node takes when it may, the one docs/deploy.md's systemd unit sets, and the bench measures."""


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
