"""Datagram transports: SAM v3 over a real I2P router, and an in-memory one for tests."""
