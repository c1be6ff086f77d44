"""The routing table: iMule's routing zone tree, kept sans-IO (time is an argument, randomness injected)."""

from mule.routing.contact import Contact
from mule.routing.table import RoutingTable
from mule.routing.zone import ZoneSummary

__all__ = ["Contact", "RoutingTable", "ZoneSummary"]
