"""The CPU priority a node is deployed at, and the one line that tells an operator when it runs below it.

mule hands each message off at an instant it drew; a node that must wait for a busy CPU hands off late, and an
observer with a clock sees lateness (docs/constancy.md). Measured on a 2-core host with every core saturated: at
equal priority 4.5 % of hand-offs were more than 2 ms late and the constancy bench told that node from an idle
one; at ``Nice=-10`` 0.2 % were, and it could not. The node does not renice itself (that needs privileges it
should not hold); docs/deploy.md's unit sets ``Nice=``, and ``mule run`` says so when it is missing.
"""

from __future__ import annotations

import os

DEPLOYED_NICE = -10
"""The niceness docs/deploy.md's systemd unit gives the node, and the one the constancy bench measures."""


def priority_advice(niceness: int | None = None) -> str | None:
    """One line for the log when the node runs at a lower priority than deployed (None when it does not)."""
    current = os.getpriority(os.PRIO_PROCESS, 0) if niceness is None else niceness
    if current <= DEPLOYED_NICE:
        return None
    return (
        f"running at niceness {current}: when this host's CPUs are busy, messages can leave milliseconds late, "
        f"which an observer can measure; run the node at Nice={DEPLOYED_NICE} (docs/deploy.md)"
    )
