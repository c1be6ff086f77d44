"""Our UDP verify key for each peer (iMule's ``GetUDPVerifyKey``), cached so a flood costs no MD5 per datagram.

The key is derived from the peer destination's ``hashCode`` and our persistent secret
(iMule's ``CryptoKadUDPKey``), so it is the same every time we meet the peer, across
restarts too. The cache is bounded: when full, the oldest entry goes.
"""

from __future__ import annotations

from mule.kad.destination import hash_code
from mule.kad.obfuscation import verify_key

CACHED_PEERS = 4096


class VerifyKeys:
    __slots__ = ("_cache", "_secret")

    def __init__(self, secret: int) -> None:
        self._secret = secret
        self._cache: dict[int, int] = {}

    def for_peer(self, destination: bytes) -> int:
        peer = hash_code(destination)
        key = self._cache.get(peer)
        if key is None:
            key = verify_key(peer, self._secret)
            if len(self._cache) >= CACHED_PEERS:
                del self._cache[next(iter(self._cache))]
            self._cache[peer] = key
        return key
