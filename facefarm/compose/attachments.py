"""Everything fitted onto a head: strand hair, brows and beards, glasses, clothing and headwear.

Each fitter works in the head frame on the sample's :class:`PosedHead` (posed-expression
vertices, body measurements, headwear coverage, computed once); this module calls them in a
fixed order, picks built-in or user assets by id, and moves their geometry into the world frame
with the head pose, so attachments follow the head exactly like the skin does.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from facefarm.catalog.vocabulary import CLOTHING_IDS, HEADWEAR_IDS
from facefarm.compose import user_assets
from facefarm.compose.garments.clothing import clothing_meshes
from facefarm.compose.garments.headwear import headwear_meshes
from facefarm.compose.glasses import GlassesParams, families, fit_glasses
from facefarm.compose.hair.grow import arc_length, resample
from facefarm.compose.hair.strands import hair_strands
from facefarm.compose.posed_head import PosedHead
from facefarm.scene.classes import CLASS_IDS
from facefarm.scene.model import Curves, Mesh

ToWorld = Callable[[np.ndarray], np.ndarray]
_NO_COLOR = (0.5, 0.5, 0.5)


def _mesh_to_world(mesh: Mesh, to_world: ToWorld, rotation: np.ndarray) -> Mesh:
    normals = None if mesh.normals is None else (np.asarray(mesh.normals) @ rotation.T).astype(np.float32)
    return replace(mesh, vertices=to_world(mesh.vertices).astype(np.float32), normals=normals)


def _curves_to_world(curves: Curves, to_world: ToWorld) -> Curves:
    pts = np.asarray(curves.points)
    moved = to_world(pts.reshape(-1, 3)).reshape(pts.shape).astype(np.float32)
    return replace(curves, points=moved)


def attachments(posed: PosedHead, hair_detail: float = 1.0) -> tuple[list[Mesh], list[Curves]]:
    """Meshes (glasses, garments) and curves (hair, brows, beard) of the posed head, in the world frame.

    ``hair_detail``: strand-count multiplier (see :class:`facefarm.scene.model.StrandDensity`).
    """
    meshes = [
        _mesh_to_world(m, posed.to_world, posed.rotation) for m in (*glasses_meshes(posed), *garment_meshes(posed))
    ]
    strands = _under_headwear_removed(posed, hair_strands(posed, detail=hair_detail))
    curves = [_curves_to_world(c, posed.to_world) for c in strands]
    return meshes, curves


def _under_headwear_removed(posed: PosedHead, strands: list[Curves]) -> list[Curves]:
    """Scalp hair as the headwear leaves it (under a headscarf none was grown): strands rooted
    under the headwear are dropped (a cap hides them, and they would poke through) and the
    rest end where they would enter the part of the head it covers (hair from below a hat's
    line that grows up into it is tucked in there, not drawn through it)."""
    field, covered = posed.headwear_field, posed.headwear_coverage
    if covered is None or not covered.any():
        return strands
    from scipy.spatial import cKDTree

    # the scalp's triangles are up to ~15 mm wide: test against points inside the covered ones too
    v, faces = posed.vertices, posed.head.faces
    tri = v[faces[covered[faces].all(axis=1)]]
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


def garment_meshes(posed: PosedHead) -> list[Mesh]:
    """Clothing (class CLOTHING, kind ``cloth``) and headwear (class HEADWEAR, kind
    ``headwear``) of the sample fitted to the posed head (head frame).
    Items with id ``"none"`` give nothing; ids that are not built in are user assets."""
    head, vertices = posed.head, posed.vertices

    def worn(field: str):
        item = getattr(posed.sample, field, None)
        return None if item is None or item.id in (None, "", "none") else item

    out: list[Mesh] = []
    if (item := worn("clothing")) is not None:
        color = item.color_rgb or _NO_COLOR
        out += (
            clothing_meshes(item.id, color, posed.body)
            if item.id in CLOTHING_IDS
            else user_assets.fitted_meshes("clothing", item.id, head, vertices, color_rgb=color)
        )
    if (item := worn("headwear")) is not None:
        # scarves drape over the clothes
        color = item.color_rgb or _NO_COLOR
        out += (
            headwear_meshes(item.id, color, posed.body, under=out)
            if item.id in HEADWEAR_IDS
            else user_assets.fitted_meshes("headwear", item.id, head, vertices, color_rgb=color)
        )
    return out


def glasses_meshes(posed: PosedHead) -> list[Mesh]:
    """Glasses for the sample on its posed head (head frame): frame
    meshes (class GLASSES, kind ``glasses_frame``) and one transparent mesh per lens (kind
    ``glasses_lens``, ``occludes_landmarks=False``); [] when the sample has no glasses.

    Families outside ``families.json`` are looked up among the user assets
    (:mod:`facefarm.compose.user_assets`)."""
    params = GlassesParams.from_sample(posed.sample)
    if params is None:
        return []
    if params.family not in families():
        return user_assets.fitted_meshes(
            "glasses", params.family, posed.head, posed.vertices, color_rgb=params.color_rgb
        )
    return list(fit_glasses(params, posed.head, posed.vertices).meshes)
