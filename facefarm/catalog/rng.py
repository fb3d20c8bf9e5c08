"""Random streams: one ``numpy.random.Generator`` per (catalog, seed, unit, attribute).

Every draw in the sampler comes from a generator built here from a ``SeedSequence`` over

    [4 words of the catalog hash, SAMPLER_VERSION, seed, scope, unit index, crc32(stream name), attempt]

so a value depends only on what it should: an identity attribute on the identity index,
an image attribute on the image index, never on the order samples are resolved in, the
process, or the other attributes (each has its own stream name). There is no global RNG.
"""

from __future__ import annotations

import zlib

import numpy as np

#: Bump when a change to the sampler alters what a given (catalog, seed, index) resolves to.
SAMPLER_VERSION = 1

_SCOPES = {"identity": 1, "image": 2, "plan": 3}


def hash_words(catalog_hash: str) -> tuple[int, ...]:
    """The first 128 bits of a hex catalog hash as four uint32 words."""
    return tuple(int(catalog_hash[i:i + 8], 16) for i in range(0, 32, 8))


def stream(words: tuple[int, ...], seed: int, scope: str, unit: int, name: str,
           attempt: int = 0) -> np.random.Generator:
    """The generator of one named stream; ``scope`` is "identity", "image" or "plan"."""
    if seed < 0 or unit < 0 or attempt < 0:
        raise ValueError(f"seed, unit and attempt must be >= 0 (got {seed}, {unit}, {attempt})")
    entropy = [*words, SAMPLER_VERSION, int(seed), _SCOPES[scope], int(unit),
               zlib.crc32(name.encode("utf-8")), int(attempt)]
    return np.random.default_rng(np.random.SeedSequence(entropy))
