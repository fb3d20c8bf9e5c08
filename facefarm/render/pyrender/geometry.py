"""Scene geometry turned into the vertex arrays the fast back-end uploads: normals, class soups, hair ribbons.

Pure numpy; no GL. Everything is in the world frame, metres. Hair ribbons also carry the
colour pass's strand look (per-strand albedo jitter, darker roots, strand tangents for the
anisotropic highlight, tips narrowing to a point); the labels use the plain ribbon.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from facefarm.geometry import vectors
from facefarm.geometry.camera import Camera
from facefarm.scene.model import Curves, Material

#: Thin or open surfaces seen from both sides; everything else is a closed or
#: one-sided surface whose back faces are culled (in RGB and segmentation alike).
DOUBLE_SIDED_KINDS = frozenset(
    {"lash", "brow", "hair", "beard", "glasses_frame", "glasses_lens", "cloth", "headwear", "marker"}
)
#: Ribbons are never thinner than this on screen, so a strand cannot fall between pixel samples.
MIN_RIBBON_PX = 0.7
#: Per-strand albedo jitter of the fast back-end's hair: lightness (log-normal sigma) and hue
#: (red vs blue, log sigma); and the lightness of roots / tips (log, linear along the strand).
STRAND_LIGHTNESS_JITTER = 0.15
STRAND_HUE_JITTER = 0.03
ROOT_TIP_LIGHTNESS = (-0.12, 0.10)
#: Highlight tilt jitter per strand (radians, sigma), added to the cuticle-scale shift in the shader.
STRAND_SHIFT_JITTER = 0.04
#: Albedo ceiling after jitter (keeps light hair physically plausible).
MAX_ALBEDO = 0.95


def double_sided(material: Material) -> bool:
    """Whether back faces are drawn; ``material.double_sided`` overrides the per-kind default."""
    return material.kind in DOUBLE_SIDED_KINDS if material.double_sided is None else material.double_sided


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
        out[:, c] = (
            np.bincount(f[:, 0], fn[:, c], len(v))
            + np.bincount(f[:, 1], fn[:, c], len(v))
            + np.bincount(f[:, 2], fn[:, c], len(v))
        )
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


def class_faces(faces: np.ndarray, face_class: np.ndarray, both_sides: bool) -> tuple[np.ndarray, np.ndarray]:
    """((m', 3) int64 faces, (m',) uint8 class ids) of a mesh as the segmentation passes draw it.

    With ``both_sides`` every triangle comes a second time with reversed winding (after all
    the originals), so a pass that culls back faces still draws it from behind; each face keeps
    its own class, looked up in the shader by the face's index in the draw (``gl_PrimitiveID``).
    """
    f = np.asarray(faces, np.int64)
    cls = np.asarray(face_class).astype(np.uint8)
    if both_sides:
        return np.concatenate([f, f[:, ::-1]]), np.concatenate([cls, cls])
    return f, cls


@dataclass(frozen=True)
class Ribbons:
    """Hair strands as camera-facing ribbons: ``s`` strands of ``k`` points -> ``n = s*k*2`` vertices.

    vertices : (n, 3) float32, world metres: the full-width ribbons that the labels (segmentation,
        depth) are rasterised from
    faces : (m, 3) int32, m = s*(k-1)*2, shared by both vertex sets
    normals : (n, 3) float32 unit, leaning outwards across the ribbon (it shades like a cylinder)
    shaded_vertices : (n, 3) float32, world metres: the colour pass's ribbons, the same but
        narrowing to zero width at the tip (soft tips; labels keep the full ribbon)
    tangents : (n, 4) float32: xyz the unit strand tangent, root -> tip; w a per-strand highlight
        tilt (radians) for the strand specular
    colors : (n, 4) float32: per-vertex albedo multiplier (strand jitter x root-to-tip gradient,
        capped so albedo stays <= MAX_ALBEDO), alpha 1
    """

    vertices: np.ndarray
    faces: np.ndarray
    normals: np.ndarray
    shaded_vertices: np.ndarray
    tangents: np.ndarray
    colors: np.ndarray


def _empty_ribbons() -> Ribbons:
    z3, z4 = np.zeros((0, 3), np.float32), np.zeros((0, 4), np.float32)
    return Ribbons(z3, np.zeros((0, 3), np.int32), z3, z3, z4, z4)


def strand_rng(curves: Curves) -> np.random.Generator:
    """Generator for per-strand look variation: fixed by the strand set's name and its first point.

    Draws are made strand by strand in index order, so strand ``i`` always gets the same values.
    """
    first = np.asarray(curves.points, np.float32).reshape(-1, 3)[:1].view(np.uint32).ravel()
    return np.random.default_rng(np.random.SeedSequence([zlib.crc32(curves.name.encode()), *map(int, first)]))


def strand_tint(curves: Curves, s: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """((s, k, 3) albedo multipliers, (s,) highlight tilt jitter, radians) for ``s`` strands of ``k`` points.

    Each strand gets a log-normal lightness and a small red/blue hue offset, and every strand
    darkens towards its root and lightens towards its tip (by arc-length fraction).
    """
    z = strand_rng(curves).standard_normal((s, 3))
    p = np.asarray(curves.points, np.float64)
    seg = vectors.length(np.diff(p, axis=1))
    arc = np.concatenate([np.zeros((s, 1)), np.cumsum(seg, axis=1)], axis=1)
    t = arc / np.maximum(arc[:, -1:], 1e-12)  # (s, k) 0 at the root, 1 at the tip
    log_l = (
        STRAND_LIGHTNESS_JITTER * z[:, :1] + ROOT_TIP_LIGHTNESS[0] + (ROOT_TIP_LIGHTNESS[1] - ROOT_TIP_LIGHTNESS[0]) * t
    )[..., None]
    hue = STRAND_HUE_JITTER * z[:, 1, None, None] * np.array([1.0, 0.0, -1.0])
    tint = np.exp(log_l + hue)
    base = np.maximum(np.asarray(curves.material.base_color, np.float64), 1e-6)
    return np.minimum(tint, MAX_ALBEDO / base), STRAND_SHIFT_JITTER * z[:, 2]


def ribbons(curves: Curves, camera: Camera, min_px: float = MIN_RIBBON_PX) -> Ribbons:
    """Camera-facing ribbons for hair strands (see :class:`Ribbons`).

    Each strand point becomes two vertices ``radius`` either side of the strand, across
    the view direction (at least ``min_px`` pixels wide overall); their normals lean
    outwards so the flat ribbon shades like the cylinder it stands for.
    """
    p = np.asarray(curves.points, np.float64)
    s, k = p.shape[:2]
    if s == 0 or k < 2:
        return _empty_ribbons()
    r = np.broadcast_to(np.asarray(curves.radius, np.float64), (s, k))
    tangent = np.gradient(p, axis=1)
    tangent /= np.maximum(vectors.length(tangent, True), 1e-12)
    centre = camera.camera_to_world[:3, 3]
    view = centre - p
    view /= np.maximum(vectors.length(view, True), 1e-12)
    side = vectors.cross(tangent, view)
    sn = vectors.length(side, True)
    side /= np.maximum(sn, 1e-12)
    along_view = sn[..., 0] <= 1e-6
    if along_view.any():
        # a strand pointing straight at the camera has no "across": any perpendicular will do
        t = tangent[along_view]
        fallback = np.cross(t, np.array([0.0, 1.0, 0.0]))
        fallback = np.where(vectors.length(fallback, True) > 1e-6, fallback, np.cross(t, np.array([1.0, 0.0, 0.0])))
        side[along_view] = fallback / np.maximum(vectors.length(fallback, True), 1e-12)
    z = (p @ camera.world_to_camera[2, :3] + camera.world_to_camera[2, 3])[..., None]
    px_m = np.maximum(z, 1e-6) / camera.K[0, 0]  # metres per pixel at that depth
    across = side * np.maximum(r[..., None], 0.5 * min_px * px_m)  # (s, k, 3) half-width vector
    facing = vectors.cross(side, tangent)  # unit, towards the camera, perpendicular to the strand
    tint, shift = strand_tint(curves, s, k)
    # per-vertex arrays (s, k, 2, c), written in place: both vertices of a point share all but position
    f32 = np.float32
    verts = np.empty((s, k, 2, 3), f32)
    verts[:, :, 0], verts[:, :, 1] = p - across, p + across
    # soft tips, colour pass only: the last segment narrows to a point, so MSAA fades it out
    # (the labels keep the full ribbon, which the min_px floor makes wider than the true tip)
    shaded = verts.copy()
    shaded[:, -1] = p[:, -1, None]
    normals = np.empty((s, k, 2, 3), f32)  # facing and side are orthonormal: |facing +- 0.8 side| = sqrt(1.64)
    normals[:, :, 0], normals[:, :, 1] = (facing - 0.8 * side) / np.sqrt(1.64), (facing + 0.8 * side) / np.sqrt(1.64)
    tangents = np.empty((s, k, 2, 4), f32)
    tangents[..., :3], tangents[..., 3] = tangent[:, :, None], shift[:, None, None]
    colors = np.ones((s, k, 2, 4), f32)
    colors[..., :3] = tint[:, :, None]
    idx = np.arange(s * k * 2, dtype=np.int32).reshape(s, k, 2)
    a, b = idx[:, :-1, 0], idx[:, :-1, 1]
    c, d = idx[:, 1:, 1], idx[:, 1:, 0]
    faces = np.concatenate([np.stack([a, b, c], -1), np.stack([a, c, d], -1)], axis=1).reshape(-1, 3)
    n = s * k * 2
    return Ribbons(
        vertices=verts.reshape(n, 3),
        faces=faces,
        normals=normals.reshape(n, 3),
        shaded_vertices=shaded.reshape(n, 3),
        tangents=tangents.reshape(n, 4),
        colors=colors.reshape(n, 4),
    )
