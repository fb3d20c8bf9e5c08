"""Stated and planned marginals of a dataset (catalog, seed, N): what ``facefarm catalog plan`` prints.

For every attribute of :mod:`facefarm.catalog.attributes`, per level (a label, true/false, or a band
of a numeric attribute):

* **planned**: how many of the N samples have it, counted on the N resolved samples, so exactly
  what a full render holds (``resolve`` is what the render draws from);
* **stated**: what the catalog states, in expected samples: a sample the plan forces to a level
  (a stratum, a quota row) counts 1 there (split over the table's levels by the catalog's weights
  when the forced level spans several); a free draw counts the catalog's probability of each
  level. None where the catalog states no share of its own: monk tone, eye colour, hair style and
  facial hair follow ancestry, age and gender priors. Exclude and force rules re-draw samples, so
  they move planned away from stated (the point of the table is to show by how much).

Numeric attributes are counted in the bands ``sampling.stratify_by`` names for them, else in four
equal-width bands over the distribution's range.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from facefarm.catalog.attributes import (
    ATTRIBUTES,
    BoolLevel,
    ChoiceLevel,
    Level,
    RangeLevel,
    band_table,
    level_json,
)
from facefarm.catalog.distributions import cdf, choice_weights, support
from facefarm.catalog.load import catalog_hash, load_catalog
from facefarm.catalog.resolve import attribute_value, resolve, sample_plan

if TYPE_CHECKING:
    from facefarm.catalog.spec import Catalog

#: Numeric attributes without bands of the catalog's are counted in this many equal-width bands.
DEFAULT_BANDS = 4
#: Resolving more samples than this spreads them over worker processes (``workers=None``).
PARALLEL_ABOVE = 20_000


def _number_dist(cat: "Catalog", attribute: str) -> Any:
    return {
        "age": cat.age,
        "gender": cat.gender,
        "muscle": cat.muscle,
        "weight": cat.weight,
        "head_yaw": cat.head_pose.yaw_deg,
        "head_pitch": cat.head_pose.pitch_deg,
    }[attribute]


def _fmt(x: float) -> str:
    return f"{x:g}"


def bands(cat: "Catalog", attribute: str) -> list[RangeLevel]:
    """The bands a numeric attribute is counted in (the catalog's own, else equal-width), low to high."""
    a = ATTRIBUTES[attribute]
    named = band_table(cat, attribute)
    if named:
        return [
            RangeLevel(lo, hi, name, hi >= a.bounds[1]) for name, (lo, hi) in sorted(named.items(), key=lambda x: x[1])
        ]
    lo, hi = support(_number_dist(cat, attribute))
    if not hi > lo:
        return [RangeLevel(lo, hi, _fmt(lo), True)]
    edges = [lo + (hi - lo) * k / DEFAULT_BANDS for k in range(DEFAULT_BANDS + 1)]
    edges = [round(e, 3) for e in edges]
    return [
        RangeLevel(edges[k], edges[k + 1], f"{_fmt(edges[k])}-{_fmt(edges[k + 1])}", k == DEFAULT_BANDS - 1)
        for k in range(DEFAULT_BANDS)
    ]


def levels(cat: "Catalog", attribute: str) -> list[str]:
    """The table's levels of an attribute, as strings ("true"/"false" for glasses, band names for numbers)."""
    a = ATTRIBUTES[attribute]
    if a.kind == "bool":
        return ["true", "false"]
    if a.kind == "range":
        return [b.name or "" for b in bands(cat, attribute)]
    return list(a.labels(cat))


def level_of(cat_bands: list[RangeLevel] | None, kind: str, value: Any) -> str:
    """The table level of one sample's value (``cat_bands`` for numeric attributes; "other" outside them)."""
    if kind == "bool":
        return "true" if value else "false"
    if kind == "range":
        for b in cat_bands or []:
            if b.matches(value):
                return b.name or ""
        return "other"
    return str(value)


def free_shares(cat: "Catalog", attribute: str) -> dict[str, float] | None:
    """P(level) of a free draw of ``attribute`` as the catalog states it, or None where it states none."""
    if attribute == "ancestry":
        anc = cat.ancestry
        pop = {k: float(v) for k, v in (anc.labels or dict.fromkeys(anc.taxonomy.labels, 1.0)).items()}
        total = sum(pop.values())
        p_mix = anc.mixed_probability if anc.mixed_probability > 0 and len(pop) > 1 else 0.0
        out = {k: (1.0 - p_mix) * v / total for k, v in pop.items()}
        return {**out, "mixed": p_mix} if p_mix else out
    if attribute == "glasses":
        return {"true": cat.glasses.probability, "false": 1.0 - cat.glasses.probability}
    if attribute == "glasses_family":
        p = cat.glasses.probability
        return {"none": 1.0 - p, **{k: p * w for k, w in choice_weights(cat.glasses.families).items()}}
    if attribute == "expression":
        ex = cat.expression
        out = {k: (1.0 - ex.random_probability) * w for k, w in choice_weights(ex.presets).items()}
        return {**out, "random": ex.random_probability} if ex.random_probability > 0 else out
    if attribute == "hdri":
        return choice_weights(cat.lighting.hdri)
    if attribute == "headwear":
        hw = cat.headwear
        return {"none": 1.0 - hw.probability, **{k: hw.probability * w for k, w in choice_weights(hw.ids).items()}}
    if attribute == "background":
        return choice_weights(cat.background.kinds)
    if ATTRIBUTES[attribute].kind == "range":
        dist = _number_dist(cat, attribute)
        return {b.name or "": _mass(dist, b.lo, b.hi, b.closed) for b in bands(cat, attribute)}
    return None


def _mass(dist: Any, lo: float, hi: float, closed: bool = False) -> float:
    """P(lo <= X < hi) (``<= hi`` when ``closed``), as a band counts values (:class:`RangeLevel`)."""
    if dist.kind in ("fixed", "categorical"):
        values = [float(dist.value)] if dist.kind == "fixed" else [float(v) for v in dist.values]
        weights = [1.0] * len(values) if dist.kind == "fixed" or dist.weights is None else list(dist.weights)
        inside = sum(w for v, w in zip(values, weights) if lo <= v < hi or (closed and v == hi))
        return inside / sum(weights)
    return max(0.0, cdf(dist, hi) - cdf(dist, lo)) if hi > lo else 0.0


def forced_shares(cat: "Catalog", attribute: str, level: Level, free: dict[str, float] | None) -> dict[str, float]:
    """How a sample forced to ``level`` spreads over the table's levels (shares summing to 1)."""
    if isinstance(level, BoolLevel):
        return {"true" if level.value else "false": 1.0}
    if isinstance(level, ChoiceLevel):
        labels = sorted(level.labels)
        w = {k: (free or {}).get(k, 0.0) for k in labels}
        if sum(w.values()) <= 0:
            w = dict.fromkeys(labels, 1.0)
        total = sum(w.values())
        return {k: v / total for k, v in w.items() if v > 0}
    dist = _number_dist(cat, attribute)
    overlap = {}
    for b in bands(cat, attribute):
        lo, hi = max(b.lo, level.lo), min(b.hi, level.hi)
        if hi > lo:
            overlap[b.name or ""] = (_mass(dist, lo, hi, b.closed and level.closed), hi - lo)
    total_mass = sum(m for m, _ in overlap.values())
    if total_mass > 0:
        return {k: m / total_mass for k, (m, _) in overlap.items() if m > 0}
    total_len = sum(length for _, length in overlap.values()) or 1.0
    return {k: length / total_len for k, (_, length) in overlap.items()} or {"other": 1.0}


@dataclass(frozen=True)
class Cell:
    """One of the plan's cells: the levels it forces (JSON, as in a record's ``stratum``), its quota row, its size."""

    levels: dict[str, Any]
    quota: int | None
    count: int


def cells(cat: "Catalog", seed: int, n: int) -> list[Cell]:
    """The plan's cells (chosen strata/quota intersections) with their exact sizes, largest first; []
    without a plan."""
    planned = sample_plan(cat, seed, n)
    if planned is None:
        return []
    assignments, codes = planned
    counts = Counter(int(c) for c in codes)
    out = [
        Cell({a: level_json(lv) for a, lv in assignments[c].levels}, assignments[c].quota, k) for c, k in counts.items()
    ]
    return sorted(out, key=lambda c: (c.quota is not None, -c.count, sorted(map(str, c.levels.items()))))


def stated_counts(cat: "Catalog", seed: int, n: int) -> dict[str, dict[str, float] | None]:
    """attribute -> level -> expected samples the catalog states (see the module docstring); None: no share stated."""
    planned = sample_plan(cat, seed, n)
    groups: list[tuple[dict[str, Level], int]] = [({}, n)] if planned is None else []
    if planned is not None:
        assignments, codes = planned
        for c, k in Counter(int(c) for c in codes).items():
            groups.append((dict(assignments[c].levels), k))
    out: dict[str, dict[str, float] | None] = {}
    for attribute in ATTRIBUTES:
        free = free_shares(cat, attribute)
        totals: dict[str, float] | None = dict.fromkeys(levels(cat, attribute), 0.0)
        for forced, k in groups:
            level = forced.get(attribute)
            shares = forced_shares(cat, attribute, level, free) if level is not None else free
            glasses = forced.get("glasses")
            if attribute == "glasses_family" and level is None and isinstance(glasses, BoolLevel):
                # the frame family is drawn only for a face with glasses
                shares = choice_weights(cat.glasses.families) if glasses.value else {"none": 1.0}
            if shares is None or totals is None:
                totals = None
                continue
            for name, share in shares.items():
                totals[name] = totals.get(name, 0.0) + k * share
        out[attribute] = totals
    return out


def _count(job: tuple[Any, int, int, int, int]) -> dict[str, Counter]:
    """Level counts of samples start..stop-1; the catalog as itself or, in a worker process, as its
    JSON (pydantic's distribution classes do not pickle), checked to hash the same."""
    spec, seed, n, start, stop = job
    if isinstance(spec, tuple):
        data, want = spec
        cat = load_catalog(data)
        if catalog_hash(cat) != want:
            raise RuntimeError("a worker's copy of the catalog hashes differently; resolve with workers=1")
    else:
        cat = spec
    table_bands = {a: bands(cat, a) for a, x in ATTRIBUTES.items() if x.kind == "range"}
    out: dict[str, Counter] = {a: Counter() for a in ATTRIBUTES}
    for i in range(start, stop):
        s = resolve(cat, seed, i, n)
        for a, x in ATTRIBUTES.items():
            out[a][level_of(table_bands.get(a), x.kind, attribute_value(s, a))] += 1
    return out


def planned_counts(cat: "Catalog", seed: int, n: int, workers: int | None = None) -> dict[str, Counter]:
    """attribute -> level -> samples, from resolving every one of the ``n`` samples.

    ``workers``: processes to spread the samples over (None: one per core, at most 16, above
    :data:`PARALLEL_ABOVE` samples, else this process); the counts do not depend on it.
    """
    lo, hi = 0, n
    total = n
    if workers is None:
        workers = min(os.cpu_count() or 1, 16) if total > PARALLEL_ABOVE else 1
    if workers <= 1 or total < 2 * workers:
        return _count((cat, seed, n, lo, hi))
    step = math.ceil(total / (workers * 4))
    spec = (cat.model_dump(mode="json"), catalog_hash(cat))
    jobs = [(spec, seed, n, s, min(s + step, hi)) for s in range(lo, hi, step)]
    out: dict[str, Counter] = {a: Counter() for a in ATTRIBUTES}
    with ProcessPoolExecutor(workers) as pool:
        for part in pool.map(_count, jobs):
            for a, c in part.items():
                out[a].update(c)
    return out
