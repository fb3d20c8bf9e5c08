"""Which samples of a plan come first when only some are rendered (``facefarm render --limit k``).

The plan of N fixes what sample ``i`` is (``resolve(catalog, seed, i, N)``); ``--limit k`` renders
``k`` of its indices and a later run with a larger limit, or none, renders the rest into the same
folder. The indices themselves never change, so a sample is the same image whichever run made it;
only the *choice* of the first ``k`` is made here, as the first ``k`` of one fixed order:

* **No plan** (independent sampling, no quotas): every sample is an independent draw from the
  catalog's distributions, so any choice that does not look at the values is a fair sample of
  them: the order is 0, 1, 2, ... (the samples ``render -n k`` would make, too).
* **A plan** (strata, quotas): every index carries its cell (stratum levels and quota row). The
  order is greedy: step ``t`` takes the lowest index not yet taken of the cell furthest behind its
  share, scored as the cell's own deficit plus the deficit of each of its levels, where the deficit
  of something with ``count`` samples in the whole plan, ``taken`` of them so far, is
  ``count * t / N - taken`` (computed times N, in integers, so every machine picks the same).
  A prefix therefore holds each planned level, and each cell, close to ``k`` times its share
  (within 2 samples for every ``k`` on the shipped balanced catalog: tests/test_plan_prefix.py); the
  attributes a plan leaves free are independent draws inside each cell and stay unbiased.

The order is a pure function of (catalog, seed, N), and its prefixes nest: ``--limit 20`` renders
the 16 samples of ``--limit 16`` and 4 more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from facefarm.catalog.resolve import sample_plan
from facefarm.catalog.strata import Assignment

if TYPE_CHECKING:
    from facefarm.catalog.spec import Catalog


def balanced_prefix(assignments: Sequence[Assignment], codes: np.ndarray, k: int) -> list[int]:
    """The first ``k`` indices of the balanced order of a plan (see the module docstring).

    ``assignments``, ``codes`` : the plan, as :func:`facefarm.catalog.strata.plan` returns it;
    ``codes`` (N,) int, the cell of each index. Returns ``min(k, N)`` distinct indices.
    """
    codes = np.asarray(codes, dtype=np.int64)
    n = len(codes)
    k = max(0, min(int(k), n))
    n_cells = len(assignments)
    attrs = sorted({a for asg in assignments for a, _ in asg.levels})
    level_ids: dict[tuple, int] = {}
    # every cell's levels, one column per planned attribute plus its quota row (None: not forced)
    cell_levels = np.zeros((n_cells, len(attrs) + 1), dtype=np.int64)
    for c, asg in enumerate(assignments):
        forced = dict(asg.levels)
        keys = [(a, forced.get(a)) for a in attrs] + [("quota", asg.quota)]
        cell_levels[c] = [level_ids.setdefault(key, len(level_ids)) for key in keys]
    cell_count = np.bincount(codes, minlength=n_cells).astype(np.int64)
    level_count = np.zeros(len(level_ids), dtype=np.int64)
    for col in cell_levels.T:
        np.add.at(level_count, col, cell_count)
    by_cell = np.argsort(codes, kind="stable")  # each cell's indices, ascending
    start = np.concatenate([[0], np.cumsum(cell_count)[:-1]])
    taken_cell = np.zeros(n_cells, dtype=np.int64)
    taken_level = np.zeros(len(level_ids), dtype=np.int64)
    out: list[int] = []
    for t in range(1, k + 1):
        level_deficit = level_count * t - taken_level * n
        score = cell_count * t - taken_cell * n + level_deficit[cell_levels].sum(axis=1)
        score[taken_cell >= cell_count] = np.iinfo(np.int64).min
        c = int(np.argmax(score))  # ties: the first cell of the plan
        out.append(int(by_cell[start[c] + taken_cell[c]]))
        taken_cell[c] += 1
        taken_level[cell_levels[c]] += 1
    return out


def render_order(catalog: "Catalog", seed: int, n_total: int, k: int | None = None) -> list[int]:
    """The first ``k`` (default all ``n_total``) indices of the plan (catalog, seed, N) in the order
    ``render --limit`` takes them. Raises CatalogError / ResolveError for a plan that cannot be made."""
    k = n_total if k is None else max(0, min(int(k), n_total))
    planned = sample_plan(catalog, seed, n_total)
    if planned is None:
        return list(range(k))
    return balanced_prefix(planned[0], planned[1], k)
