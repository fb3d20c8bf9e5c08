"""The sampling plan: which levels each sample is forced to, with exact counts for a given N.

``plan(...)`` is a pure function of (catalog, seed, N) and costs O(N) (a few milliseconds for
100k samples); it is cached, so sample ``i``'s stratum is cheap to look up on its own.

Quotas and strata are one plan: a quota sample takes a place *inside* a stratum cell its levels fit,
so the strata's counts, and every stratified marginal, are the equal split of all N samples (as the
catalog states), and the quota rows are exact as well. Two stages, so every image of an identity
shares its identity-level levels:

1. **Identities** (``ceil(N / images_per_identity)`` of them) are split over the cells of the
   identity-level ``stratify_by`` factors in equal counts; the remainder goes one at a time to
   the cell whose levels have had fewest extra so far (ties: a seeded permutation), so each
   factor's levels are balanced, not only the cells. Quota rows that name identity attributes
   take ``count / images_per_identity`` of those places, each in the cell it fits with most
   room left; then all identities are shuffled with a seeded permutation.
2. **Images**: each identity cell's images are split over its image-level cells the same way
   (the remainder balanced across all identity cells). Images of a quota identity whose row
   names image levels, then the images that image-only quota rows take, get places in image
   cells they fit (most room first, spread over every cell they fit); the other places are
   dealt to the cell's images in a seeded order. So the joint counts over all factors are exact
   as well.

A quota its cells cannot hold (more samples than the cells it fits) is a :class:`CatalogError`
at ``$.sampling.quotas[i]``, naming those cells.
Cells removed by ``exclude`` rules get no samples.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from facefarm.catalog.attributes import (
    ATTRIBUTES,
    BoolLevel,
    ChoiceLevel,
    Level,
    RangeLevel,
    factor_levels,
    level_json,
    to_level,
)
from facefarm.catalog.checks import exclude_rules, excluded, quota_amounts, quota_problems
from facefarm.catalog.problems import CatalogError, Problem
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


def _equal_split(
    n: int, cells: list[dict[str, Level]], rng: np.random.Generator, tally: Counter | None = None
) -> list[int]:
    """Counts per cell summing to ``n``: floor(n / cells), +1 for ``n % cells`` of them.

    The +1s go, one at a time, to the cell whose levels have had fewest +1s so far (``tally``:
    (attribute, level) -> +1s, shared across calls, so the image cells of every identity cell
    together stay balanced), ties in the order of a seeded permutation; so every factor's levels,
    not only the cells, differ by at most what N forces. With one factor this is the first
    ``n % cells`` of the permutation.
    """
    base, rem = divmod(n, len(cells))
    counts = [base] * len(cells)
    tally = Counter() if tally is None else tally
    order = [int(c) for c in rng.permutation(len(cells))]
    for _ in range(rem):
        c = min(order, key=lambda c: (counts[c] > base, sum(tally[kv] for kv in cells[c].items())))
        counts[c] += 1
        tally.update(cells[c].items())
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


def meet(a: Level, b: Level) -> Level | None:
    """The level a sample satisfying both ``a`` and ``b`` has (a quota row inside a stratum), or None if none can."""
    if isinstance(a, BoolLevel) and isinstance(b, BoolLevel):
        return a if a.value == b.value else None
    if isinstance(a, ChoiceLevel) and isinstance(b, ChoiceLevel):
        both = a.labels & b.labels
        if not both:
            return None
        return a if both == a.labels else b if both == b.labels else ChoiceLevel(frozenset(both))
    if isinstance(a, RangeLevel) and isinstance(b, RangeLevel):
        lo, hi = max(a.lo, b.lo), min(a.hi, b.hi)
        if not hi > lo:
            return None
        if (lo, hi) == (a.lo, a.hi):
            return a
        if (lo, hi) == (b.lo, b.hi):
            return b
        return RangeLevel(lo, hi, None, (a.closed or hi < a.hi) and (b.closed or hi < b.hi))
    return None


def _merged(cell: dict[str, Level], row: dict[str, Level], rules: list) -> dict[str, Level] | None:
    """``cell`` narrowed by a quota row's levels, or None when the row cannot lie in the cell (or a rule excludes it)."""
    out = dict(cell)
    for a, lv in row.items():
        m = meet(out[a], lv) if a in out else lv
        if m is None:
            return None
        out[a] = m
    return out if excluded(rules, out) is None else None


def _no_room(r: int, scope: str, need: int, cells: list[dict[str, Level]], room: int) -> CatalogError:
    """The error for quota row ``r``, whose ``need`` identities or images do not fit in ``cells`` (``room`` left)."""
    shown = [" ".join(f"{a}={json.dumps(level_json(lv))}" for a, lv in sorted(c.items())) or "(all)" for c in cells[:6]]
    more = f" and {len(cells) - 6} more" if len(cells) > 6 else ""
    return CatalogError(
        [
            Problem(
                f"$.sampling.quotas[{r}]",
                f"impossible quota: its {need} {scope} must lie in the strata cells its where fits "
                f"({'; '.join(shown) or 'none'}{more}), which hold {room}; lower its count, widen its where, "
                "or stratify by fewer levels",
            )
        ],
        "sampling plan",
    )


def _take(heap: list[tuple[int, int]], left: list[int], n: int) -> list[int]:
    """``n`` slots, each from the one with most room left (ties: the first); ``left`` counts down."""
    out = []
    for _ in range(n):
        while heap and -heap[0][0] != left[heap[0][1]]:  # stale entry
            heapq.heappop(heap)
        if not heap or left[heap[0][1]] <= 0:
            raise IndexError
        _, s = heapq.heappop(heap)
        left[s] -= 1
        out.append(s)
        heapq.heappush(heap, (-left[s], s))
    return out


def plan(cat: "Catalog", words: tuple[int, ...], seed: int, n_total: int) -> tuple[list[Assignment], np.ndarray]:
    """Distinct assignments and, per image index, which one applies: ``(assignments, codes)``.

    ``codes`` : (n_total,) int32 index into ``assignments``. ``words`` are the catalog-hash
    words seeding the shuffles (see :mod:`facefarm.catalog.rng`).

    Quota samples lie inside the strata: each takes a place of a cell its levels fit (the cell
    with most room first, so a row spreads over the cells it fits), so the cells' counts, and
    every stratified marginal, stay the equal split of all N. A row that its cells cannot hold
    is a :class:`CatalogError` at ``$.sampling.quotas[i]``.
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
        levels: dict[str, Level] = {a: to_level(cat, a, raw) for a, raw in q.where.items()}
        id_part = {a: lv for a, lv in levels.items() if ATTRIBUTES[a].scope == "identity"}
        img_part = {a: lv for a, lv in levels.items() if ATTRIBUTES[a].scope == "image"}
        rows.append((r, id_part, img_part, k))

    # Stage 1: identities, split over the identity cells; a quota identity takes a place in a cell
    # it fits. A unit is ("quota", row, cell) or ("cell", -1, cell).
    id_cells = _cells(cat, id_factors, {}, rules)
    rng = stream(words, seed, "plan", n_total, "identities")
    left = _equal_split(n_id, id_cells, rng) if id_factors else [n_id]
    units: list[tuple[str, int, int]] = []
    id_levels: dict[tuple[int, int], dict[str, Level]] = {}  # (row, cell) -> the identity's levels
    for r, id_part, _, k in rows:
        if not id_part:
            continue
        fits = [c for c, cell in enumerate(id_cells) if _merged(cell, id_part, rules) is not None]
        heap = [(-left[c], c) for c in fits]
        heapq.heapify(heap)
        room_before = sum(left[c] for c in fits)
        try:
            taken = _take(heap, left, k // ipi)
        except IndexError:
            raise _no_room(r, "identities", k // ipi, [id_cells[c] for c in fits], room_before) from None
        for c in taken:
            id_levels[(r, c)] = _merged(id_cells[c], id_part, rules) or {}
            units.append(("quota", r, c))
    for c, count in enumerate(left):
        units += [("cell", -1, c)] * count
    units = [units[int(p)] for p in rng.permutation(len(units))]
    if n_total % ipi and units[-1][0] == "quota":
        # The last identity is short of images; a quota must not land on it.
        j = max(i for i, u in enumerate(units) if u[0] == "cell")
        units[-1], units[j] = units[j], units[-1]

    # Stage 2: images. Each identity cell's images are split over its image cells; images of a
    # quota identity whose row names image levels, then images taken by image-only rows, go to
    # image cells they fit (most room first); the rest are dealt in a seeded order.
    image_unit = [units[i // ipi] for i in range(n_total)]
    members_of: dict[int, list[int]] = {c: [] for c in range(len(id_cells))}
    for i, u in enumerate(image_unit):
        members_of[u[2]].append(i)
    img_cells_of = {c: _cells(cat, img_factors, cell, rules) or [{}] for c, cell in enumerate(id_cells)}
    slots = [(c, ic) for c in range(len(id_cells)) for ic in range(len(img_cells_of[c]))]
    slot_of = {s: k for k, s in enumerate(slots)}
    room = [0] * len(slots)
    order_of: dict[int, list[int]] = {}
    tally: Counter = Counter()
    for c, members in members_of.items():
        rng = stream(words, seed, "plan", n_total, f"images-of-cell-{c}")
        counts = _equal_split(len(members), img_cells_of[c], rng, tally) if img_factors else [len(members)]
        for ic, count in enumerate(counts):
            room[slot_of[(c, ic)]] = count
        order_of[c] = [members[int(p)] for p in rng.permutation(len(members))]

    row_img = {r: img_part for r, _, img_part, _ in rows}
    pinned: dict[int, tuple[int, int]] = {}  # image -> (image cell, row): images of quota identities
    for i, u in enumerate(image_unit):
        if u[0] == "quota" and row_img[u[1]]:
            c = u[2]
            fits = [
                slot_of[(c, ic)]
                for ic, cell in enumerate(img_cells_of[c])
                if _merged({**id_levels[(u[1], c)], **cell}, row_img[u[1]], rules) is not None
            ]
            heap = [(-room[s], s) for s in fits]
            heapq.heapify(heap)
            try:
                (s,) = _take(heap, room, 1)
            except IndexError:
                cells = [img_cells_of[c][slots[s][1]] for s in fits]
                raise _no_room(u[1], "images", 1, cells, 0) from None
            pinned[i] = (slots[s][1], u[1])
    free_images = {c: sum(1 for i in m if image_unit[i][0] == "cell") for c, m in members_of.items()}
    tickets: dict[int, list[tuple[int, int]]] = {c: [] for c in members_of}  # c -> (image cell, row)
    for r, id_part, img_part, k in rows:
        if id_part:
            continue
        fits = [
            slot_of[(c, ic)]
            for c, cell in enumerate(id_cells)
            for ic, img_cell in enumerate(img_cells_of[c])
            if _merged({**cell, **img_cell}, img_part, rules) is not None
        ]
        heap = [(-room[s], s) for s in fits]
        heapq.heapify(heap)
        room_before = sum(room[s] for s in fits)
        try:
            taken = _take(heap, room, k)
        except IndexError:
            cells = [{**id_cells[slots[s][0]], **img_cells_of[slots[s][0]][slots[s][1]]} for s in fits]
            raise _no_room(r, "images", k, cells, room_before) from None
        for s in taken:
            c, ic = slots[s]
            tickets[c].append((ic, r))
    for c, t in tickets.items():
        if len(t) > free_images[c]:
            raise CatalogError(
                [
                    Problem(
                        "$.sampling.quotas",
                        "impossible quotas: the image quotas and the identity quotas together "
                        f"ask for more images than stratum {id_cells[c]} holds; lower their counts",
                    )
                ],
                "sampling plan",
            )

    assignments: list[Assignment] = []
    index_of: dict[Assignment, int] = {}
    codes = np.zeros(n_total, dtype=np.int32)

    memo: dict[tuple, int] = {}  # (what, row, cell, image cell) -> code: a few per cell, N lookups

    def code(key: tuple, levels: Callable[[], dict[str, Level]], quota: int | None) -> int:
        k = memo.get(key)
        if k is None:
            a = Assignment(tuple(sorted(levels().items())), quota)
            if a not in index_of:
                index_of[a] = len(assignments)
                assignments.append(a)
            k = memo[key] = index_of[a]
        return k

    for c, order in order_of.items():
        free = [ic for ic in range(len(img_cells_of[c])) for _ in range(room[slot_of[(c, ic)]])]
        quota_tickets, free_pos = iter(tickets[c]), 0
        for i in order:
            kind, r, _ = image_unit[i]
            base = id_levels[(r, c)] if kind == "quota" else id_cells[c]
            if i in pinned:
                ic, r = pinned[i]
                cell = img_cells_of[c][ic]
                codes[i] = code(("pinned", r, c, ic), lambda: _merged({**base, **cell}, row_img[r], rules) or {}, r)
                continue
            ticket = next(quota_tickets, None) if kind == "cell" else None
            if ticket is not None:
                ic, r_img = ticket
                cell = img_cells_of[c][ic]
                codes[i] = code(
                    ("image quota", r_img, c, ic), lambda: _merged({**base, **cell}, row_img[r_img], rules) or {}, r_img
                )
                continue
            ic = free[free_pos]
            free_pos += 1
            cell = img_cells_of[c][ic]
            quota = r if kind == "quota" else None
            codes[i] = code((kind, quota, c, ic), lambda: {**base, **cell}, quota)
    return assignments, codes
