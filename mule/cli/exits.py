"""The exit codes every ``python -m mule`` command uses (the table is in docs/deploy.md).

One condition, one code, whichever command meets it: scripts and systemd can act on the
code alone (``RestartPreventExitStatus`` lists the ones a restart cannot fix).
"""

from __future__ import annotations

import enum


class Exit(enum.IntEnum):
    OK = 0
    """Done; for ``run`` also: stopped by SIGINT/SIGTERM, at any phase."""
    FAILED = 1
    """The command ran and its answer is no: selftest datagrams not delivered, a file that is not a nodes.dat."""
    USAGE = 2
    """The command line cannot be parsed (argparse's own code): unknown option, missing argument."""
    CONFIG = 3
    """A setting (config file, environment or flag) or the data dir is unusable, a state file is corrupt, or the
    compiled core was required and is missing: an operator must fix something before a restart can help."""
    NO_ROUTER = 4
    """No SAM bridge answers, or the router refused or did not finish the session."""
    LOCKED = 5
    """Another mule process holds the data dir."""
    INTERNAL = 70
    """A bug in mule (sysexits' EX_SOFTWARE): one line on stderr, the traceback in the log."""
    INTERRUPTED = 130
    """A one-shot command (selftest, config check, ...) stopped by SIGINT/SIGTERM (the shell's 128 + SIGINT)."""


class CommandError(Exception):
    """Ends a command with a one-line message on stderr and an exit code; raised anywhere below a handler."""

    def __init__(self, message: str, code: Exit) -> None:
        super().__init__(message)
        self.code = code
