"""Everything fitted onto a head: strand hair, brows and beards, glasses, clothing and headwear.

Each fitter works in the head frame on the sample's posed-expression vertices; this
module calls them in a fixed order and moves their geometry into the world frame
with the head pose, so attachments follow the head exactly like the skin does.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from facefarm.pipeline.classes import CLASS_IDS
from facefarm.pipeline.garments import garment_meshes, headwear_coverage, headwear_field
from facefarm.pipeline.glasses import glasses_meshes
from facefarm.pipeline.hair import hair_strands
from facefarm.pipeline.hair_grow import arc_length, resample
from facefarm.pipeline.scene import Curves, Mesh

ToWorld = Callable[[np.ndarray], np.ndarray]


def _mesh_to_world(mesh: Mesh, to_world: ToWorld, rotation: np.ndarray) -> Mesh:
    normals = None if mesh.normals is None else (np.asarray(mesh.normals) @ rotation.T).astype(np.float32)
    return replace(mesh, vertices=to_world(mesh.vertices).astype(np.float32), normals=normals)


def _curves_to_world(curves: Curves, to_world: ToWorld) -> Curves:
    pts = np.asarray(curves.points)
    moved = to_world(pts.reshape(-1, 3)).reshape(pts.shape).astype(np.float32)
    return replace(curves, points=moved)


def attachments(sample, head, vertices: np.ndarray, to_world: ToWorld,
                rotation: np.ndarray, hair_detail: float = 1.0) -> tuple[list[Mesh], list[Curves]]:
    """Meshes (glasses, garments) and curves (hair, brows, beard) of ``sample`` in the world frame.

    ``vertices``: (V, 3) head-frame metres with expression applied; ``to_world`` maps (n, 3)
    head-frame points to the world; ``rotation``: its (3, 3) rotation (for normals);
    ``hair_detail``: strand-count multiplier (see :func:`facefarm.pipeline.hair.strand_detail`).
    """
    meshes = [_mesh_to_world(m, to_world, rotation)
              for m in (*glasses_meshes(sample, head, vertices), *garment_meshes(sample, head, vertices))]
    strands = _under_headwear_removed(sample, head, vertices, hair_strands(sample, head, vertices,
                                                                                detail=hair_detail))
    curves = [_curves_to_world(c, to_world) for c in strands]
    return meshes, curves


def _under_headwear_removed(sample, head, vertices: np.ndarray, strands: list[Curves]) -> list[Curves]:
    """Scalp hair as the headwear leaves it (under a headscarf none was grown): strands rooted
    under the headwear are dropped (a cap hides them, and they would poke through) and the
    rest end where they would enter the part of the head it covers (hair from below a hat's
    line that grows up into it is tucked in there, not drawn through it)."""
    hw = getattr(sample, "headwear", None)
    if hw is None or hw.id in (None, "", "none"):
        return strands
    field = headwear_field(hw.id, head, vertices)
    covered = headwear_coverage(hw.id, head, vertices, field)
    if not covered.any():
        return strands
    from scipy.spatial import cKDTree

    # the scalp's triangles are up to ~15 mm wide: test against points inside the covered ones too
    v = np.asarray(vertices)
    tri = v[head.faces[covered[head.faces].all(axis=1)]]
    tree = cKDTree(np.concatenate([v[covered], tri.mean(axis=1), 0.5 * (tri + np.roll(tri, 1, axis=1)).reshape(-1, 3)]))
    out = []
    for c in strands:
        if c.class_id != CLASS_IDS["HAIR"] or len(c.points) == 0:
            out.append(c)
            continue
        d, _ = tree.query(np.asarray(c.points)[:, 0], k=1)
        kept = _cut_where_covered(replace(c, points=c.points[d > 0.006], radius=c.radius[d > 0.006]), field)
        if len(kept.points):
            out.append(kept)
    return out


#: Strands the headwear would leave shorter than this are dropped.
MIN_TUCKED_LENGTH_M = 0.003
#: Strands end this far (m) below the headwear's line: its rim hangs a little below the line.
TUCK_MARGIN_M = 0.004


def _cut_where_covered(c: Curves, field) -> Curves:
    """``c`` with each strand ending where it first comes within TUCK_MARGIN_M of the covered
    part (``field`` <= 0), resampled to its point count; strands that start there or keep less than
    MIN_TUCKED_LENGTH_M are dropped."""
    pts = np.asarray(c.points, np.float64)
    if len(pts) == 0:
        return c
    s, k, _ = pts.shape
    g = field(pts.reshape(-1, 3)).reshape(s, k) - TUCK_MARGIN_M
    inside = g <= 0
    enters = inside.any(axis=1)
    if not enters.any():
        return c
    first = np.argmax(inside, axis=1)
    cum = arc_length(pts)
    j = np.maximum(first, 1)
    rows = np.arange(s)
    # where the segment before the first covered point crosses g = 0
    t = np.clip(g[rows, j - 1] / np.maximum(g[rows, j - 1] - g[rows, j], 1e-12), 0.0, 1.0)
    cut = np.where(enters, cum[rows, j - 1] + t * (cum[rows, j] - cum[rows, j - 1]), cum[:, -1])
    keep = ~(enters & (first == 0)) & (cut >= MIN_TUCKED_LENGTH_M)
    moved = np.where(enters[:, None, None], resample(pts, k, upto=cut), pts)
    return replace(c, points=moved[keep].astype(np.asarray(c.points).dtype), radius=c.radius[keep])
