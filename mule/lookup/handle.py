"""What a user holds for one lookup: its identity, state and results, a way to hear of new results, and cancel()."""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import Enum

from mule.lookup.kinds import LookupKind
from mule.lookup.requests import Spec
from mule.lookup.results import Result

log = logging.getLogger(__name__)


class State(Enum):
    QUEUED = "queued"
    """Waiting for a slot of its kind (a republish also waits here until it is due)."""
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"


Listener = Callable[["LookupHandle", Result], None]


class LookupHandle:
    """One user lookup. Results arrive in ``results`` as answers come in, each once; listeners hear each one."""

    __slots__ = ("_cancel", "_finish_listeners", "_listeners", "id", "not_before", "results", "spec", "state")

    def __init__(self, handle_id: int, spec: Spec, cancel: Callable[[LookupHandle], None]) -> None:
        self.id = handle_id
        self.spec = spec
        self.state = State.QUEUED
        self.results: list[Result] = []
        self.not_before = float("-inf")
        """A queued republish waits until then (and a keyword store while its nodes asked us to back off)."""
        self._listeners: list[Listener] = []
        self._finish_listeners: list[Callable[[LookupHandle], None]] = []
        self._cancel = cancel

    @property
    def kind(self) -> LookupKind:
        return self.spec.kind

    @property
    def target(self) -> int:
        return self.spec.target

    @property
    def finished(self) -> bool:
        return self.state in (State.DONE, State.CANCELLED)

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(handle, result)`` for every new result from now on (results so far are in ``results``)."""
        self._listeners.append(listener)

    def on_finished(self, listener: Callable[[LookupHandle], None]) -> None:
        """Call ``listener(handle)`` once it is done or cancelled."""
        self._finish_listeners.append(listener)

    def cancel(self) -> None:
        """Stop it for its user: a queued lookup leaves the queue; a running one stops reporting and runs on, to its
        natural end, as a cover lookup (stopping short would show on the wire); a publish stops republishing."""
        if not self.finished:
            self._cancel(self)

    def finish(self, state: State) -> None:
        self.state = state
        for listener in self._finish_listeners:
            try:
                listener(self)
            except Exception:
                log.warning("a lookup end listener failed", exc_info=True)

    def emit(self, results: list[Result]) -> None:
        if self.state is State.CANCELLED:
            return
        for result in results:
            self.results.append(result)
            for listener in self._listeners:
                try:
                    listener(self, result)
                except Exception:  # a listener's bug must never reach the node core
                    log.warning("a lookup result listener failed", exc_info=True)

    def __repr__(self) -> str:
        return f"LookupHandle(id={self.id}, kind={self.kind.name}, target={self.target:032x}, state={self.state.value})"
