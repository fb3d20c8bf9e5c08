"""The sampling plan: which levels each sample is forced to, with exact counts for a given N.

``plan(...)`` is a pure function of (catalog, seed, N) and costs O(N) (a few milliseconds for
100k samples); it is cached, so sample ``i``'s stratum is cheap to look up on its own.

Two stages, so every image of an identity shares its identity-level levels:

1. **Identities** (``ceil(N / images_per_identity)`` of them): quota rows that name
   identity attributes take ``count / images_per_identity`` identities each; the remaining
   identities are split over the cells of the identity-level ``stratify_by`` factors in
   equal counts (the remainder goes to cells picked by a seeded permutation), then all are
   shuffled with a seeded permutation.
2. **Images**: images of a quota identity carry that row's image-level levels; quota rows
   naming only image attributes take exact counts from the other images (seeded), which keep
   their identity cell's levels (so every image of an identity has the same ones); the rest
   of each identity cell is split over the image-level cells in equal counts (seeded shuffle
   within the cell), so the joint counts over all factors are exact as well.

Cells removed by ``exclude`` rules get no samples.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from facefarm.catalog.attributes import ATTRIBUTES, Level, factor_levels, level_json, to_level
from facefarm.catalog.checks import exclude_rules, excluded, quota_amounts, quota_problems
from facefarm.catalog.problems import CatalogError
from facefarm.catalog.rng import stream

if TYPE_CHECKING:
    from facefarm.catalog.spec import Catalog


@dataclass(frozen=True)
class Assignment:
    """What the plan forces on a sample: ``levels`` (attribute -> Level) and its quota row."""

    levels: tuple[tuple[str, Level], ...]
    quota: int | None = None

    def forced(self, scope: str) -> dict[str, Level]:
        return {a: lv for a, lv in self.levels if ATTRIBUTES[a].scope == scope}

    def stratum_json(self) -> dict | None:
        return {a: level_json(lv) for a, lv in self.levels} or None


FREE = Assignment(())


def needs_plan(cat: "Catalog") -> bool:
    return bool(cat.sampling.quotas) or (cat.sampling.mode == "stratified" and bool(cat.sampling.stratify_by))


def _equal_split(n: int, n_cells: int, rng: np.random.Generator) -> list[int]:
    """Counts per cell summing to ``n``: floor(n / cells), +1 for the first ``n % cells`` of a permutation."""
    base, rem = divmod(n, n_cells)
    counts = [base] * n_cells
    for c in rng.permutation(n_cells)[:rem]:
        counts[int(c)] += 1
    return counts


def _cells(cat: "Catalog", factors: list, fixed: dict[str, Level], rules: list) -> list[dict[str, Level]]:
    """Product of the factors' levels, minus cells (together with ``fixed``) an exclude rule removes."""
    if not factors:
        return [{}]
    axes = [factor_levels(cat, f) for f in factors]
    attrs = [f.attribute for f in factors]
    out = []
    for combo in itertools.product(*axes):
        cell = dict(zip(attrs, combo))
        if excluded(rules, {**fixed, **cell}) is None:
            out.append(cell)
    return out


def plan(cat: "Catalog", words: tuple[int, ...], seed: int, n_total: int) -> tuple[list[Assignment], np.ndarray]:
    """Distinct assignments and, per image index, which one applies: ``(assignments, codes)``.

    ``codes`` : (n_total,) int32 index into ``assignments``. ``words`` are the catalog-hash
    words seeding the shuffles (see :mod:`facefarm.catalog.rng`).
    """
    problems = quota_problems(cat, n_total)
    if problems:
        raise CatalogError(problems, "sampling plan")
    ipi = cat.identity.images_per_identity
    n_id = math.ceil(n_total / ipi)
    rules = [r for _, r in exclude_rules(cat)]
    factors = cat.sampling.stratify_by if cat.sampling.mode == "stratified" else []
    id_factors = [f for f in factors if ATTRIBUTES[f.attribute].scope == "identity"]
    img_factors = [f for f in factors if ATTRIBUTES[f.attribute].scope == "image"]

    rows = []  # (row index, identity part, image part, amount)
    for r, (q, k) in enumerate(zip(cat.sampling.quotas, quota_amounts(cat, n_total))):
        levels = {a: to_level(cat, a, raw) for a, raw in q.where.items()}
        id_part = {a: lv for a, lv in levels.items() if ATTRIBUTES[a].scope == "identity"}
        img_part = {a: lv for a, lv in levels.items() if ATTRIBUTES[a].scope == "image"}
        rows.append((r, id_part, img_part, k))

    # Stage 1: identities. A unit is ("quota", row) or ("cell", identity-cell index).
    id_cells = _cells(cat, id_factors, {}, rules)
    units: list[tuple[str, int]] = []
    for r, id_part, _, k in rows:
        if id_part:
            units += [("quota", r)] * (k // ipi)
    n_free = n_id - len(units)
    if n_free < 0:
        raise CatalogError([], f"sampling plan: quotas need more identities than the {n_id} available")
    rng = stream(words, seed, "plan", n_total, "identities")
    for c, count in enumerate(_equal_split(n_free, len(id_cells), rng) if id_factors else [n_free]):
        units += [("cell", c)] * count
    units = [units[int(p)] for p in rng.permutation(len(units))]
    if n_total % ipi and units[-1][0] == "quota":
        # The last identity is short of images; a quota must not land on it.
        j = max(i for i, u in enumerate(units) if u[0] == "cell")
        units[-1], units[j] = units[j], units[-1]

    # Stage 2: images.
    image_unit = [units[i // ipi] for i in range(n_total)]
    image_quota: dict[int, int] = {}
    for i, u in enumerate(image_unit):
        if u[0] == "quota":
            image_quota[i] = u[1]
    pool = [i for i, u in enumerate(image_unit) if u[0] == "cell"]
    img_rows = [(r, k) for r, id_part, _, k in rows if not id_part]
    if img_rows:
        rng = stream(words, seed, "plan", n_total, "image-quotas")
        shuffled = [pool[int(p)] for p in rng.permutation(len(pool))]
        need = sum(k for _, k in img_rows)
        if need > len(shuffled):
            raise CatalogError([], f"sampling plan: image quotas need {need} samples, only {len(shuffled)} are free")
        pos = 0
        for r, k in img_rows:
            for i in shuffled[pos : pos + k]:
                image_quota[i] = r
            pos += k

    assignments: list[Assignment] = []
    index_of: dict[Assignment, int] = {}
    codes = np.zeros(n_total, dtype=np.int32)

    def code(a: Assignment) -> int:
        if a not in index_of:
            index_of[a] = len(assignments)
            assignments.append(a)
        return index_of[a]

    row_levels = {r: {**id_part, **img_part} for r, id_part, img_part, _ in rows}
    for i, r in image_quota.items():
        # an image taken by an image-only row keeps its identity's cell: the identity is drawn once
        # for all its images (with ipi > 1 its other images carry that cell), and the identity
        # factors' counts stay exact
        unit = image_unit[i]
        id_levels = id_cells[unit[1]] if unit[0] == "cell" else {}
        codes[i] = code(Assignment(tuple(sorted({**id_levels, **row_levels[r]}.items())), r))

    members_of: dict[int, list[int]] = {c: [] for c in range(len(id_cells))}
    for i in pool:
        if i not in image_quota:
            members_of[image_unit[i][1]].append(i)
    for c, id_cell in enumerate(id_cells):
        members = members_of[c]
        img_cells = _cells(cat, img_factors, id_cell, rules)
        if not img_cells:
            img_cells = [{}]
        rng = stream(words, seed, "plan", n_total, f"images-of-cell-{c}")
        counts = _equal_split(len(members), len(img_cells), rng) if img_factors else [len(members)]
        order = [members[int(p)] for p in rng.permutation(len(members))]
        pos = 0
        for img_cell, count in zip(img_cells, counts):
            a = Assignment(tuple(sorted({**id_cell, **img_cell}.items())))
            k = code(a)
            for i in order[pos : pos + count]:
                codes[i] = k
            pos += count
    return assignments, codes
