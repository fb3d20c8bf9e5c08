"""Train/val/test splits by identity: every image of one identity lands in the same split.

Assignment is a pure function of the ``identity_id`` string (and an optional salt): a
SHA-256 of it gives a uniform number ``u`` in [0, 1), and ``u`` falls into one of the
cumulative fraction intervals. So a split never depends on dataset order or size, and
growing a dataset (more identities, more images per identity) never moves an identity
that was already assigned. The realised fractions approach the requested ones as the
number of identities grows; with few identities a split can come out empty.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")
DEFAULT_FRACTIONS: tuple[float, ...] = (0.8, 0.1, 0.1)


def parse_fractions(text: str | Sequence[float]) -> tuple[float, ...]:
    """``"0.8,0.1,0.1"`` (or a sequence) -> validated fractions for train[, val[, test]].

    Fractions must be >= 0, at most three, and sum to 1 (within 1e-6).
    """
    if isinstance(text, str):
        try:
            values = tuple(float(x) for x in text.split(",") if x.strip())
        except ValueError:
            raise ValueError(f"splits must be comma-separated numbers like 0.8,0.1,0.1 (got {text!r})") from None
    else:
        values = tuple(float(x) for x in text)
    if not 1 <= len(values) <= len(SPLIT_NAMES):
        raise ValueError(f"give 1 to {len(SPLIT_NAMES)} fractions for {', '.join(SPLIT_NAMES)} (got {len(values)})")
    if any(v < 0 for v in values):
        raise ValueError(f"split fractions must be >= 0 (got {values})")
    if abs(sum(values) - 1.0) > 1e-6:
        raise ValueError(f"split fractions must sum to 1 (got {values}, sum {sum(values):g})")
    return values


def identity_unit(identity_id: str, salt: str = "") -> float:
    """A uniform number in [0, 1) fixed by ``identity_id`` (first 64 bits of SHA-256)."""
    digest = hashlib.sha256(f"{salt}\x00{identity_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign_split(identity_id: str, fractions: Sequence[float] = DEFAULT_FRACTIONS, salt: str = "") -> str:
    """The split name (``train``/``val``/``test``) of one identity."""
    u = identity_unit(identity_id, salt)
    edge = 0.0
    names = SPLIT_NAMES[: len(fractions)]
    for name, f in zip(names, fractions):
        edge += f
        if u < edge:
            return name
    # u sits above the last edge only through float rounding of the sum: give it to the
    # last split that can hold anything.
    return next(n for n, f in zip(reversed(names), reversed(fractions)) if f > 0)


def split_records(
    records: Iterable[dict], fractions: Sequence[float] = DEFAULT_FRACTIONS, salt: str = ""
) -> dict[str, list[dict]]:
    """Group label records by split (key ``identity_id``); every split name is present, maybe empty.

    Order inside a split is the input order (the manifest's, i.e. by index).
    """
    fractions = parse_fractions(fractions)
    out: dict[str, list[dict]] = {name: [] for name in SPLIT_NAMES[: len(fractions)]}
    cache: dict[str, str] = {}
    for r in records:
        ident = str(r["identity_id"])
        if ident not in cache:
            cache[ident] = assign_split(ident, fractions, salt)
        out[cache[ident]].append(r)
    return out
