"""Lookups as sans-IO state machines (iMule's ``CSearch``), and the slots that start them (participation symmetry).

docs/lookups.md describes the walk, the slots, the cover lookups and the user API.
"""

from __future__ import annotations

from mule.lookup.handle import LookupHandle, State
from mule.lookup.kinds import LookupKind
from mule.lookup.manager import LookupManager
from mule.lookup.requests import SharedFile, Spec
from mule.lookup.results import KeywordResult, NodeResult, NoteResult, PublishAck, Result, SourceResult

__all__ = [
    "KeywordResult",
    "LookupHandle",
    "LookupKind",
    "LookupManager",
    "NodeResult",
    "NoteResult",
    "PublishAck",
    "Result",
    "SharedFile",
    "SourceResult",
    "Spec",
    "State",
]
