"""Landmark layouts besides the 70-point one, placed on the same render surface (WFLW's 98 points).

A layout file (``facefarm/assets/schema/wflw98.json``, :func:`facefarm.scene.classes.layout`) says
how each point comes from the 70-point layout:

* ``from70``: that point, as it is (for WFLW: 70 of the 98);
* ``between70`` [a, b]: the surface point halfway between points a and b on the neutral template
  head (the jaw's in-between points, the lids' middles). Found once per render surface as the
  closest point of the skin's render triangles to the two points' midpoint, and kept as fixed
  rows over the coarse vertices, so identity and expression carry it as they carry the 70;
* ``brow_lower_under70`` a: on the lower edge of this identity's brow band
  (:class:`~facefarm.compose.hair.brows.Brow`), straight under brow point a (the 70's brow points
  lie on the band's landmark line), located on the render surface as the brow points are.

The contour convention of a layout moves its jaw points onto the view's outline as for the 70
(:mod:`facefarm.compose.contour`), with marching paths of its own jaw points.
"""

from __future__ import annotations

import weakref

import numpy as np
import scipy.sparse as sp

from facefarm.compose import contour
from facefarm.compose.hair import brows
from facefarm.geometry.mesh_closest import ClosestPoints
from facefarm.head.model import HeadModel, RenderSurface
from facefarm.scene.classes import layout

_TEMPLATE_ROWS: "weakref.WeakKeyDictionary[RenderSurface, dict[str, sp.csr_matrix]]" = weakref.WeakKeyDictionary()


def _rows_on_surface(surface: RenderSurface, face: np.ndarray, bary: np.ndarray) -> sp.csr_matrix:
    """(k, V) CSR over the coarse vertices of the points at ``bary`` (k, 3) on render faces ``face`` (k,)."""
    ids = surface.faces[face]
    k = len(face)
    rows = sp.csr_matrix((bary.ravel(), (np.repeat(np.arange(k), 3), ids.ravel())), shape=(k, surface.n_vertices))
    return (rows @ surface.operator).tocsr()


def template_rows(head: HeadModel, surface: RenderSurface, name: str) -> sp.csr_matrix:
    """(k, V) CSR: the layout's ``between70`` points (in file order) as rows over the coarse
    vertices, on ``surface``'s skin (cached per surface and layout)."""
    cached = _TEMPLATE_ROWS.setdefault(surface, {})
    if name in cached:
        return cached[name]
    pairs = [p["between70"] for p in layout(name)["points"] if "between70" in p]
    lm = np.asarray(head.landmark_points(head.neutral, surface), np.float64)
    mids = np.array([0.5 * (lm[a] + lm[b]) for a, b in pairs]).reshape(-1, 3)
    vidx, faces, sel = surface.part(head.part_names.index("skin"))
    neutral = surface.vertices(head.neutral)
    hit = ClosestPoints(neutral, surface.faces[sel]).query(mids)
    rows = _rows_on_surface(surface, sel[hit.face], hit.bary)
    cached[name] = rows
    return rows


def brow_lower_rows(brow: brows.Brow, head: HeadModel, surface: RenderSurface, under: list[int]) -> sp.csr_matrix:
    """(k, V) CSR: points on the lower edge of ``brow``'s band under the 70's brow points ``under``
    (ids 17-26), on ``surface``."""
    xy = brow.landmark_xy()[np.asarray(under, int) - 17].copy()
    lower, _ = brow.band(np.abs(xy[:, 0]))
    xy[:, 1] = lower
    face, bary = brows.surface_chart(head, surface).locate(xy)
    return _rows_on_surface(surface, face, bary)


def layout_rows(
    name: str, head: HeadModel, surface: RenderSurface, brow: brows.Brow, lm70_rows: sp.csr_matrix
) -> sp.csr_matrix:
    """(k, V) CSR: every point of layout ``name`` as rows over the coarse vertices; ``lm70_rows``
    (70, V): the 70-point layout's rows of this sample (its brow points follow ``brow``)."""
    points = layout(name)["points"]
    between = template_rows(head, surface, name)
    under = [p["brow_lower_under70"] for p in points if "brow_lower_under70" in p]
    lower = brow_lower_rows(brow, head, surface, under) if under else None
    blocks, b, u = [], 0, 0
    for p in points:
        if "from70" in p:
            blocks.append(lm70_rows[p["from70"]])
        elif "between70" in p:
            blocks.append(between[b])
            b += 1
        else:
            assert lower is not None
            blocks.append(lower[u])
            u += 1
    return sp.vstack(blocks).tocsr()


_PATHS: "weakref.WeakKeyDictionary[RenderSurface, dict[str, contour.JawPaths]]" = weakref.WeakKeyDictionary()


def jaw_paths(head: HeadModel, surface: RenderSurface, name: str, neutral_rows: sp.csr_matrix) -> contour.JawPaths:
    """The marching paths of layout ``name``'s jaw points on ``surface`` (cached per surface and
    layout); ``neutral_rows``: the layout's rows (its jaw points do not depend on the identity)."""
    cached = _PATHS.setdefault(surface, {})
    if name not in cached:
        a, b = layout(name)["groups"]["jaw"]
        anchors = neutral_rows[a : b + 1] @ np.asarray(head.neutral, np.float64)
        cached[name] = contour.surface_paths(head, surface, anchors)
    return cached[name]
