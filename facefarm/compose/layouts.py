"""Landmark layouts besides the 70-point one, placed on the same render surface (WFLW's 98 points,
MediaPipe's 478).

A layout file (``facefarm/assets/schema/wflw98.json``, ``mediapipe478.json``;
:func:`facefarm.scene.classes.layout`) says how each point is placed. From the 70-point layout:

* ``from70``: that point, as it is (for WFLW: 70 of the 98);
* ``between70`` [a, b]: the surface point halfway between points a and b on the neutral template
  head (the jaw's in-between points, the lids' middles). Found once per render surface as the
  closest point of the skin's render triangles to the two points' midpoint, and kept as fixed
  rows over the coarse vertices, so identity and expression carry it as they carry the 70;
* ``brow_lower_under70`` a: on the lower edge of this identity's brow band
  (:class:`~facefarm.compose.hair.brows.Brow`), straight under brow point a (the 70's brow points
  lie on the band's landmark line), located on the render surface as the brow points are.

The contour convention of a layout moves its jaw points onto the view's outline as for the 70
(:mod:`facefarm.compose.contour`), with marching paths of its own jaw points
(:func:`facefarm.scene.classes.layout_outline`: MediaPipe's face oval from ear level through the chin).
"""

from __future__ import annotations

import weakref

import numpy as np
import scipy.sparse as sp

from facefarm.compose import contour
from facefarm.compose.eyes import IRIS_HALF_ANGLE
from facefarm.compose.hair import brows
from facefarm.geometry import vectors
from facefarm.geometry.mesh_closest import ClosestPoints
from facefarm.head.model import HeadModel, RenderSurface
from facefarm.scene.classes import layout, layout_outline

_TEMPLATE_ROWS: "weakref.WeakKeyDictionary[RenderSurface, dict[tuple[str, str], sp.csr_matrix]]" = (
    weakref.WeakKeyDictionary()
)


def _rows_on_surface(surface: RenderSurface, face: np.ndarray, bary: np.ndarray) -> sp.csr_matrix:
    """(k, V) CSR over the coarse vertices of the points at ``bary`` (k, 3) on render faces ``face`` (k,)."""
    ids = surface.faces[face]
    k = len(face)
    rows = sp.csr_matrix((bary.ravel(), (np.repeat(np.arange(k), 3), ids.ravel())), shape=(k, surface.n_vertices))
    return (rows @ surface.operator).tocsr()


def template_rows(head: HeadModel, surface: RenderSurface, name: str) -> sp.csr_matrix:
    """(k, V) CSR: the layout's ``between70`` points (in file order) as rows over the coarse
    vertices, on ``surface``'s skin (cached per surface and layout)."""
    pairs = [p["between70"] for p in layout(name)["points"] if "between70" in p]
    lm = np.asarray(head.landmark_points(head.neutral, surface), np.float64)
    mids = np.array([0.5 * (lm[a] + lm[b]) for a, b in pairs]).reshape(-1, 3)
    return _closest_rows(head, surface, (name, "between70"), mids)


def anchor_rows(head: HeadModel, surface: RenderSurface, name: str) -> sp.csr_matrix:
    """(k, V) CSR: the layout's HM08 anchors (``vertices``/``weights``, in file order) as rows over
    the coarse vertices, on ``surface``'s skin (cached per surface and layout)."""
    anchors = [p for p in layout(name)["points"] if "vertices" in p]
    order = np.argsort(head.hm08_index)
    ids = order[np.searchsorted(head.hm08_index, np.array([p["vertices"] for p in anchors]).ravel(), sorter=order)]
    ids = ids.reshape(len(anchors), -1)
    if not (head.hm08_index[ids] == np.array([p["vertices"] for p in anchors])).all():
        raise ValueError(f"layout {name!r} names HM08 vertices this head asset lacks")
    w = np.array([p["weights"] for p in anchors], np.float64)
    neutral = np.asarray(head.neutral, np.float64)
    target = np.einsum("kj,kjd->kd", w, neutral[ids])
    return _closest_rows(head, surface, (name, "vertices"), target)


def _closest_rows(head: HeadModel, surface: RenderSurface, key: tuple[str, str], target: np.ndarray) -> sp.csr_matrix:
    """(k, V) CSR: the closest points of ``surface``'s skin to ``target`` (k, 3) on the neutral
    head (head frame, metres), as rows over the coarse vertices; cached per surface under ``key``."""
    cached = _TEMPLATE_ROWS.setdefault(surface, {})
    if key not in cached:
        vidx, faces, sel = surface.part(head.part_names.index("skin"))
        neutral = surface.vertices(head.neutral)
        hit = ClosestPoints(neutral, surface.faces[sel]).query(np.asarray(target, np.float64).reshape(-1, 3))
        cached[key] = _rows_on_surface(surface, sel[hit.face], hit.bary)
    return cached[key]


def brow_lower_rows(brow: brows.Brow, head: HeadModel, surface: RenderSurface, under: list[int]) -> sp.csr_matrix:
    """(k, V) CSR: points on the lower edge of ``brow``'s band under the 70's brow points ``under``
    (ids 17-26), on ``surface``."""
    xy = brow.landmark_xy()[np.asarray(under, int) - 17].copy()
    lower, _ = brow.band(np.abs(xy[:, 0]))
    xy[:, 1] = lower
    face, bary = brows.surface_chart(head, surface).locate(xy)
    return _rows_on_surface(surface, face, bary)


def brow_band_rows(brow: brows.Brow, head: HeadModel, surface: RenderSurface, places: list[dict]) -> sp.csr_matrix:
    """(k, V) CSR: the ``brow`` points ``places`` (dicts with ``brow``, ``x_m``, ``across``) in
    ``brow``'s band, on ``surface``."""
    ax = np.array([p["x_m"] for p in places], np.float64)
    lower, upper = brow.band(ax)
    y = lower + np.array([p["across"] for p in places], np.float64) * (upper - lower)
    side = np.array([1.0 if p["brow"] == "left" else -1.0 for p in places])  # +x: the subject's left
    face, bary = brows.surface_chart(head, surface).locate(np.c_[side * ax, y])
    return _rows_on_surface(surface, face, bary)


def layout_rows(
    name: str, head: HeadModel, surface: RenderSurface, brow: brows.Brow, lm70_rows: sp.csr_matrix
) -> sp.csr_matrix:
    """(k, V) CSR: every point of layout ``name`` as rows over the coarse vertices; ``lm70_rows``
    (70, V): the 70-point layout's rows of this sample (its brow points follow ``brow``). An
    ``eye`` point's row is its eyeball's front pole (the pupil); :func:`limbus_points` places
    those with ``limbus``."""
    points = layout(name)["points"]
    kinds = {k for p in points for k in p}
    between = template_rows(head, surface, name) if "between70" in kinds else None
    anchors = anchor_rows(head, surface, name) if "vertices" in kinds else None
    under = [p["brow_lower_under70"] for p in points if "brow_lower_under70" in p]
    lower = brow_lower_rows(brow, head, surface, under) if under else None
    places = [p for p in points if "brow" in p]
    band = brow_band_rows(brow, head, surface, places) if places else None
    eyes = sp.csr_matrix(
        ([1.0, 1.0], ([0, 1], [head.eyes_slice(0).start, head.eyes_slice(1).start])), shape=(2, head.n_vertices)
    )
    # one stack of every source, then each point's row picked from it: one sparse copy, not one
    # per point (478 single-row blocks cost ~0.3 s)
    parts = {
        "from70": lm70_rows,
        "between70": between,
        "vertices": anchors,
        "brow_lower_under70": lower,
        "brow": band,
        "eye": eyes,
    }
    offset, at = {}, 0
    for kind, m in parts.items():
        offset[kind] = at
        at += 0 if m is None else m.shape[0]
    seen = dict.fromkeys(parts, 0)
    pick = []
    for p in points:
        if "from70" in p:
            pick.append(offset["from70"] + p["from70"])
        elif "eye" in p:
            pick.append(offset["eye"] + ("eye_r", "eye_l").index(p["eye"]))
        else:
            kind = next(k for k in ("between70", "vertices", "brow_lower_under70", "brow") if k in p)
            pick.append(offset[kind] + seen[kind])
            seen[kind] += 1
    stack = sp.vstack([m for m in parts.values() if m is not None]).tocsr()
    return stack[np.asarray(pick, np.int64)].tocsr()


def limbus_points(head: HeadModel, vertices: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``limbus`` points of layout ``name`` for the coarse ``vertices`` (V, 3), head frame:
    ((k,) their ids in the layout, (k, 3) points, metres, (k, 3) unit outward normals of the
    eyeball there). Each lies on its eyeball's sphere (centre to front pole), at
    :data:`IRIS_HALF_ANGLE` from the gaze axis, on the side of the head-frame direction it names."""
    v = np.asarray(vertices, np.float64)
    centres = head.eye_centres(v)
    ids, pts, nrm = [], [], []
    for i, p in enumerate(layout(name)["points"]):
        if "limbus" not in p:
            continue
        e = ("eye_r", "eye_l").index(p["eye"])
        axis = v[head.eyes_slice(e).start] - centres[e]
        radius = float(np.linalg.norm(axis))
        axis = axis / radius
        d = np.array([p["limbus"][0], p["limbus"][1], 0.0])
        across = vectors.unit(d - (d @ axis) * axis)
        n = np.cos(IRIS_HALF_ANGLE) * axis + np.sin(IRIS_HALF_ANGLE) * across
        ids.append(i)
        pts.append(centres[e] + radius * n)
        nrm.append(n)
    return np.array(ids, int), np.array(pts).reshape(-1, 3), np.array(nrm).reshape(-1, 3)


_PATHS: "weakref.WeakKeyDictionary[RenderSurface, dict[str, contour.JawPaths]]" = weakref.WeakKeyDictionary()


def jaw_paths(head: HeadModel, surface: RenderSurface, name: str, neutral_rows: sp.csr_matrix) -> contour.JawPaths:
    """The marching paths of layout ``name``'s jaw points on ``surface`` (cached per surface and
    layout); ``neutral_rows``: the layout's rows (its jaw points do not depend on the identity)."""
    cached = _PATHS.setdefault(surface, {})
    if name not in cached:
        anchors = neutral_rows[layout_outline(name)] @ np.asarray(head.neutral, np.float64)
        cached[name] = contour.surface_paths(head, surface, anchors)
    return cached[name]
