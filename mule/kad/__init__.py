"""The Kad2 wire codec and on-disk formats, byte-compatible with iMule (sans-IO: bytes in, typed values out)."""
