"""The routing table: which peers we know, kept sans-IO (time is an argument)."""
