"""Random streams: one ``numpy.random.Generator`` per (catalog, seed, unit, attribute).

Every draw in the sampler comes from a generator built here from a ``SeedSequence`` over

    [4 words of the catalog hash, SAMPLER_VERSION, seed, scope, unit index, crc32(stream name), attempt]

so a value depends only on what it should: an identity attribute on the identity index,
an image attribute on the image index, never on the order samples are resolved in, the
process, or the other attributes (each has its own stream name). There is no global RNG.

The compositor's identity-level detail (skin tone patches, wrinkles, blemishes, hair growth)
draws from :func:`identity_stream` by name; :data:`IDENTITY_STREAMS` is the one list of those
names, so two uses can never share random numbers by accident.
"""

from __future__ import annotations

import zlib

import numpy as np

#: Bump when a change to the sampler alters what a given (catalog, seed, index) resolves to.
SAMPLER_VERSION = 1

_SCOPES = {"identity": 1, "image": 2, "plan": 3}


def hash_words(catalog_hash: str) -> tuple[int, ...]:
    """The first 128 bits of a hex catalog hash as four uint32 words."""
    return tuple(int(catalog_hash[i : i + 8], 16) for i in range(0, 32, 8))


def stream(
    words: tuple[int, ...], seed: int, scope: str, unit: int, name: str, attempt: int = 0
) -> np.random.Generator:
    """The generator of one named stream; ``scope`` is "identity", "image" or "plan"."""
    if seed < 0 or unit < 0 or attempt < 0:
        raise ValueError(f"seed, unit and attempt must be >= 0 (got {seed}, {unit}, {attempt})")
    entropy = [
        *words,
        SAMPLER_VERSION,
        int(seed),
        _SCOPES[scope],
        int(unit),
        zlib.crc32(name.encode("utf-8")),
        int(attempt),
    ]
    return np.random.default_rng(np.random.SeedSequence(entropy))


#: Identity-level streams of the compositor by name -> the word that keys each (the words are the
#: ids these streams had before they were named, so every image stays the same). Every image of
#: an identity gets the same numbers; each use has its own stream, so adding or skipping one
#: (a beard, a kind of fold) moves no other.
IDENTITY_STREAMS: dict[str, int] = {
    "skin.tone": 7001,
    "skin.wrinkles.forehead": 7020,
    "skin.wrinkles.frown": 7021,
    "skin.wrinkles.crows_feet": 7022,
    "skin.wrinkles.under_eye": 7023,
    "skin.wrinkles.nasolabial": 7024,
    "skin.wrinkles.neck": 7025,
    "skin.blemishes": 7030,
    "skin.maps": 7040,
    "hair.scalp": 9101,  # the hairline: the scalp strands and the skin painted under them agree
    "hair.scalp.colour": 9102,
    "hair.brows": 9103,
    "hair.brows.colour": 9104,
    "hair.beard": 9105,
    "hair.beard.colour": 9106,
    "hair.brows.shape": 9107,  # the identity's brow height, arch and thickness spread
}


def identity_stream(sample, name: str) -> np.random.Generator:
    """The generator of the identity-level stream ``name`` (a key of :data:`IDENTITY_STREAMS`)
    for a resolved sample: keyed by its catalog hash, seed and identity index, so every image of
    one identity draws the same numbers."""
    h = int(sample.catalog_hash[:15], 16)
    return np.random.default_rng(
        np.random.SeedSequence([h, int(sample.seed), int(sample.identity_index), IDENTITY_STREAMS[name]])
    )
