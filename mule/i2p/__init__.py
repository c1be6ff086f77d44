"""I2P: SAM v3 client, SAM datagram transport and the offline test bed."""
