"""Scene geometry turned into the vertex arrays the fast back-end uploads: normals, class soups, hair ribbons.

Pure numpy; no GL. Everything is in the world frame, metres.
"""

from __future__ import annotations

import numpy as np

from facefarm.pipeline.camera import Camera
from facefarm.pipeline.scene import Curves, Material

#: Thin or open surfaces seen from both sides; everything else is a closed or
#: one-sided surface whose back faces are culled (in RGB and segmentation alike).
DOUBLE_SIDED_KINDS = frozenset({"lash", "brow", "hair", "beard", "glasses_frame", "glasses_lens",
                                "cloth", "headwear", "marker"})
#: Ribbons are never thinner than this on screen, so a strand cannot fall between pixel samples.
MIN_RIBBON_PX = 0.7


def double_sided(material: Material) -> bool:
    """Whether back faces are drawn; ``material.extra["double_sided"]`` overrides the per-kind default."""
    return bool(material.extra.get("double_sided", material.kind in DOUBLE_SIDED_KINDS))


def is_transparent_lens(material: Material) -> bool:
    """Transparent glasses lenses are left out of segmentation and of the landmark occluders."""
    return material.kind == "glasses_lens" and material.alpha < 1.0


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(n, 3) float32 unit area-weighted vertex normals of a (n, 3) / (m, 3) triangle mesh."""
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])  # length = 2 * area
    out = np.zeros_like(v)
    for c in range(3):
        out[:, c] = (np.bincount(f[:, 0], fn[:, c], len(v)) + np.bincount(f[:, 1], fn[:, c], len(v))
                     + np.bincount(f[:, 2], fn[:, c], len(v)))
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    out = np.divide(out, norm, out=np.zeros_like(out), where=norm > 0)
    out[norm[:, 0] == 0] = (0.0, 0.0, 1.0)
    return out.astype(np.float32)


def flat_shaded(vertices: np.ndarray, faces: np.ndarray, colors: np.ndarray | None):
    """Unweld a mesh so every face gets its own normal: ((3m, 3) positions, (3m, 3) normals, colours, (m, 3) faces)."""
    f = np.asarray(faces, np.int64)
    pos = np.asarray(vertices, np.float32)[f].reshape(-1, 3)
    fn = np.cross(pos[1::3] - pos[0::3], pos[2::3] - pos[0::3])
    fn /= np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-20)
    normals = np.repeat(fn, 3, axis=0).astype(np.float32)
    cols = None if colors is None else np.asarray(colors, np.float32)[f].reshape(-1, 3)
    return pos, normals, cols, np.arange(len(pos), dtype=np.int32).reshape(-1, 3)


def class_soup(vertices: np.ndarray, faces: np.ndarray, face_class: np.ndarray,
               both_sides: bool) -> tuple[np.ndarray, np.ndarray]:
    """An unwelded triangle soup carrying each face's class on its three corners.

    Returns ((3m, 3) float32 positions, (3m,) uint8 class ids). With ``both_sides``
    every triangle is emitted a second time with reversed winding, so a pass that
    culls back faces still draws it from behind.
    """
    v = np.asarray(vertices, np.float32)
    f = np.asarray(faces, np.int64)
    cls = np.asarray(face_class).astype(np.uint8)
    if both_sides:
        f = np.concatenate([f, f[:, ::-1]])
        cls = np.concatenate([cls, cls])
    return v[f].reshape(-1, 3), np.repeat(cls, 3)


def ribbons(curves: Curves, camera: Camera, min_px: float = MIN_RIBBON_PX):
    """Camera-facing ribbons for hair strands.

    Returns (vertices (s*k*2, 3) float32, faces (s*(k-1)*2, 3) int32, normals (s*k*2, 3) float32):
    each strand point becomes two vertices ``radius`` either side of the strand, across
    the view direction (at least ``min_px`` pixels wide overall); their normals lean
    outwards so the flat ribbon shades like the cylinder it stands for.
    """
    p = np.asarray(curves.points, np.float64)
    s, k = p.shape[:2]
    if s == 0 or k < 2:
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32), np.zeros((0, 3), np.float32)
    r = np.broadcast_to(np.asarray(curves.radius, np.float64), (s, k))
    tangent = np.gradient(p, axis=1)
    tangent /= np.maximum(np.linalg.norm(tangent, axis=-1, keepdims=True), 1e-12)
    centre = camera.camera_to_world[:3, 3]
    view = centre - p
    dist = np.linalg.norm(view, axis=-1, keepdims=True)
    view /= np.maximum(dist, 1e-12)
    side = np.cross(tangent, view)
    sn = np.linalg.norm(side, axis=-1, keepdims=True)
    # a strand pointing straight at the camera has no "across": any perpendicular will do
    fallback = np.cross(tangent, np.array([0.0, 1.0, 0.0]))
    fallback = np.where(np.linalg.norm(fallback, axis=-1, keepdims=True) > 1e-6, fallback,
                        np.cross(tangent, np.array([1.0, 0.0, 0.0])))
    fallback /= np.maximum(np.linalg.norm(fallback, axis=-1, keepdims=True), 1e-12)
    side = np.where(sn > 1e-6, side / np.maximum(sn, 1e-12), fallback)
    z = (p @ camera.world_to_camera[2, :3] + camera.world_to_camera[2, 3])[..., None]
    px_m = np.maximum(z, 1e-6) / camera.K[0, 0]  # metres per pixel at that depth
    half = np.maximum(r[..., None], 0.5 * min_px * px_m)
    facing = np.cross(side, tangent)  # towards the camera, perpendicular to the strand
    verts = np.stack([p - side * half, p + side * half], axis=2)  # (s, k, 2, 3)
    normals = np.stack([facing - 0.8 * side, facing + 0.8 * side], axis=2)
    normals /= np.maximum(np.linalg.norm(normals, axis=-1, keepdims=True), 1e-12)
    idx = np.arange(s * k * 2).reshape(s, k, 2)
    a, b = idx[:, :-1, 0], idx[:, :-1, 1]
    c, d = idx[:, 1:, 1], idx[:, 1:, 0]
    faces = np.concatenate([np.stack([a, b, c], -1), np.stack([a, c, d], -1)], axis=1).reshape(-1, 3)
    return (verts.reshape(-1, 3).astype(np.float32), faces.astype(np.int32),
            normals.reshape(-1, 3).astype(np.float32))
