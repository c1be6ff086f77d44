"""Until the node core answers searches and publishes from its own local index, the simulator plugs one in.

``mule.node.index_answers.IndexAnswers`` (iMule's answers from ``mule.index.LocalIndex``) exists, but
``NodeCore`` does not route SEARCH/PUBLISH requests to it yet: its responder answers every search with an
empty SEARCH_RES and ignores publishes. This fills the core's request table with the index's handlers,
exactly what the core's own wiring will do; once the core has an index of its own it is left alone.
"""

from __future__ import annotations

from mule._core.keystream import substream_seed
from mule._core.shuffle import Shuffler
from mule.index import LocalIndex
from mule.kad import kad1, messages
from mule.node.core import NodeCore
from mule.node.index_answers import IndexAnswers


def answer_from_index(core: NodeCore, now: float, seed: bytes) -> LocalIndex | None:
    """Give ``core`` a fresh local index and route its search and publish requests there; ``None`` if it has one."""
    requests = core._requests
    if messages.PublishKeyReq in requests:  # the core answers from its own index
        return None
    index = LocalIndex(now)
    answers = IndexAnswers(core.me.kad_id, index, Shuffler(substream_seed(seed, b"index-answers")))
    requests.update(
        {
            messages.SearchKeyReq: answers.search_key_req,
            messages.SearchSourceReq: answers.search_source_req,
            messages.SearchNotesReq: answers.search_notes_req,
            messages.PublishKeyReq: answers.publish_key_req,
            messages.PublishSourceReq: answers.publish_source_req,
            messages.PublishNotesReq: answers.publish_notes_req,
            kad1.Kad1SearchReq: answers.kad1_search_req,
            kad1.Kad1SearchNotesReq: answers.kad1_search_notes_req,
            kad1.Kad1PublishReq: answers.kad1_publish_req,
            kad1.Kad1PublishNotesReq: answers.kad1_publish_notes_req,
        }
    )
    return index
