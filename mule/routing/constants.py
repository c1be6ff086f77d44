"""iMule 2.3.3.3's routing constants, each with the source it comes from (see docs/routing.md).

Times are seconds. Paths are relative to iMule's ``src/``.
"""

from __future__ import annotations

ID_BITS = 128

# kademlia/kademlia/Defines.h
K = 10  # contacts per bin
KBASE = 4  # zones above this level always split when full
KK = 5  # zones whose index is below this split when full, at any level
LOG_BASE_EXPONENT = 5  # depth of the tree walk that picks bootstrap / nodes.dat contacts

# kademlia/routing/RoutingZone.cpp
MAX_LEVEL = 127  # CanSplit: a zone at this level never splits
REFRESH_FREE_SLOTS = 8  # OnBigTimer: a leaf with >= K * 0.8 free slots is refreshed whatever its index
NODES_DAT_CONTACTS = 200  # WriteFile / exportContacts: GetBootstrapContacts(contacts, 200)

# kademlia/kademlia/Kademlia.cpp (Process)
CONSOLIDATE_INTERVAL = 45 * 60  # m_consolidate: first at start + 45 min, then every 45 min
ZONE_REFRESH_INTERVAL = 60 * 60  # m_nextBigTimer = now + 1 h after a zone's random lookup
REFRESH_GATE = 10  # m_bigTimer = now + 10 s: at most one zone lookup per 10 s
ZONE_FIRST_REFRESH = 10  # RoutingZone::StartTimer: a new zone's first lookup at creation + 10 s
# A zone fires early once no Kad packet arrived for KADEMLIADISCONNECTDELAY - 5 min
# (include/protocol/kad/Constants.h: KADEMLIADISCONNECTDELAY = 20 min).
EARLY_REFRESH_AFTER = 20 * 60 - 5 * 60

# kademlia/routing/Contact.cpp
TYPE_NEW = 3  # initContact
TYPE_DEAD = 4  # CheckingType stops here: the contact is evictable once its expiry passes
PROBE_GUARD = 10  # CheckingType: no type change within 10 s of the previous one (or of creation)
PROBE_GRACE = 2 * 60  # CheckingType: an expired contact gets now + 2 min to answer
HOUR = 60 * 60
# UpdateType: whole hours since creation -> (type, seconds until expiry)
SEEN_ALIVE_AGING = ((2, HOUR), (1, HOUR * 3 // 2), (0, 2 * HOUR))

# kademlia/net/KademliaUDPListener.cpp: KADEMLIA2_REQ answers use GetClosestToTarget(2, ...)
RES_MAX_TYPE = 2
