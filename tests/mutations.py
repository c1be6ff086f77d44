"""Seeded mutations of valid inputs: the fuzzers' shared way of making almost-right datagrams."""

from __future__ import annotations

import random


def mutate(rng: random.Random, sample: bytes) -> bytes:
    data = bytearray(sample)
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(data)) if data else 0
        choice = rng.random()
        if choice < 0.4 and data:
            data[at] ^= 1 << rng.randrange(8)
        elif choice < 0.6 and data:
            data[at] = rng.choice((0x00, 0x01, 0x7F, 0x80, 0xFF))
        elif choice < 0.75:
            data[at:at] = rng.randbytes(rng.randint(1, 6))
        elif choice < 0.9 and data:
            del data[at : at + rng.randint(1, 6)]
        else:
            del data[at:]
    return bytes(data)
