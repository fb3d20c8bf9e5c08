"""Jaw and lip landmarks as people annotate them: on the visible outlines of the rendered view.

The 70-point layout's jaw points (iBUG 0-16) are anchored on the head's surface ("x-ray":
the same skin point whatever the view). In 300-W, WFLW and most photo datasets annotators
put the jaw points on the *outline* they see instead: when the head turns, the far side's
points slide forward onto the cheek's occluding contour and the near side's onto the
jaw line seen from the camera. This module finds that outline point for every jaw point by
"landmark marching" (Zhu et al., "High-fidelity pose and expression normalization", CVPR
2015): each point owns a path on the skin, the head's section by the plane through the point
spanned by its outward direction in the face's frontal plane and the depth axis (a
horizontal line from the midline to the ear at the temples, a vertical one under the chin);
in a view, the point of the path furthest out along the projected outward direction is on
the outline.

The lip points (iBUG 48-67) march the same way on the lips (:func:`lip_paths`): each point's path
is the section of its own lip's render faces (the upper lip's for 49-53 and 61-63, the lower's
for 55-59 and 65-67, both for the corners) by the plane through the point spanned by its
outward direction and the depth axis. Outer points look away from the mouth's centre, inner
ones into the mouth opening (the upper inner points down, the lower up), inner corners out
along the lip line but never past their anchor. Their anchors compete with their paths: on a
frontal face a lip point stays where it is unless its lip's rendered edge lies further out;
on a turned head the far corner and the far lip points come forward onto the lips'
silhouette, where the far lip turns edge-on in front of the anchor that it hides.

Paths are points of the skin part of the render surface (a vertex, or a point on an edge
between two: ``ends`` and ``weights``), found once per surface on the neutral head
(:func:`jaw_paths`, :func:`lip_paths`) and followed on each sample's posed skin
(:func:`on_outline`), so expression and identity carry them along.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from facefarm.geometry.camera import Camera
from facefarm.head.model import HeadModel, RenderSurface
from facefarm.scene.classes import CLASS_IDS

#: iBUG indices of the jaw (right ear to left ear through the chin).
JAW = np.arange(17)
#: iBUG indices of the lips: outer 48-59 (from the right corner over the upper lip), inner 60-67.
LIPS = np.arange(48, 68)
#: Of :data:`LIPS` (0-based within them): the upper lip's points, the lower lip's, the outer
#: corners (both lips) and the inner corners (both lips; they move only inward).
_UPPER, _LOWER = [1, 2, 3, 4, 5, 13, 14, 15], [7, 8, 9, 10, 11, 17, 18, 19]
_OUTER_CORNERS, _INNER_CORNERS = [0, 6], [12, 16]
#: Half-width of a path's band about its plane, in render-surface edge lengths (a band a few
#: vertices wide always holds the section).
BAND_EDGES = 1.5
#: How far a path runs behind its anchor (toward the ear and under the jaw), metres. Forward it
#: runs to the face's midline (the far cheek's outline lies well in front of its jaw point).
BEHIND_M = 0.08


@dataclass(frozen=True)
class OutlinePaths:
    """Per point, its path on the skin part of a render surface and its outward direction.

    ends : per point (m, 2) int, skin-part render-vertex ids; weights : per point (m,) float in
    [0, 1]: path point j is ``(1 - w[j]) * v[ends[j, 0]] + w[j] * v[ends[j, 1]]`` (a vertex when
    both ends are the same); outward : (k, 3) unit, head frame; anchor_competes : (k,) bool,
    whether the point's own anchor is a candidate beside its path (lips: a point moves only
    where its lip's rendered edge lies further out).
    """

    ends: tuple[np.ndarray, ...]
    weights: tuple[np.ndarray, ...]
    outward: np.ndarray
    anchor_competes: np.ndarray


#: The jaw's paths (the same type; the name the layouts know them by).
JawPaths = OutlinePaths


def jaw_paths(skin: np.ndarray, on_skin: np.ndarray, anchors: np.ndarray, spacing_m: float) -> JawPaths:
    """The marching paths of the jaw points on the neutral head.

    skin : (n, 3) metres, head frame (+x the subject's left, +y up, +z out of the face): the
    skin part's render vertices; on_skin : (n,) bool, those that may carry the outline (face
    skin: not neck, ears, lips); anchors : (k, 3) the jaw landmarks there, right ear to left ear
    (17 for iBUG, 33 for WFLW); spacing_m : the render surface's typical edge length.
    """
    a = np.asarray(anchors, np.float64)
    ear_level = 0.5 * (a[0, 1] + a[-1, 1])
    out = np.column_stack([a[:, 0], np.minimum(a[:, 1] - ear_level, 0.0), np.zeros(len(a))])
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
    z = np.array([0.0, 0.0, 1.0])
    ids = []
    axis = np.array([0.0, ear_level, 0.0])  # the face's vertical midline, at ear level
    for anchor, u in zip(a, out):
        normal = np.cross(u, z)
        d = skin - anchor
        keep = on_skin & (np.abs(d @ normal) < BAND_EDGES * spacing_m) & (d[:, 2] > -BEHIND_M)
        keep &= (skin - axis) @ u > 0.0  # the anchor's side of the midline (below it: the chin)
        ids.append(np.flatnonzero(keep))
    ends = tuple(np.column_stack([i, i]) for i in ids)
    weights = tuple(np.zeros(len(i)) for i in ids)
    return OutlinePaths(ends=ends, weights=weights, outward=out, anchor_competes=np.zeros(len(a), bool))


def lip_outward(anchors: np.ndarray) -> np.ndarray:
    """(20, 3) unit outward directions of the lip points ``anchors`` (20, 3; iBUG 48-67, head
    frame) in the face's frontal plane: away from the mouth's centre for the outer points, into
    the opening for the inner ones (down for the upper lip's, up for the lower's, out along the
    lip line for the corners)."""
    a = np.asarray(anchors, np.float64)
    centre = a[:12].mean(axis=0)
    out = np.zeros((20, 3))
    out[:12, :2] = a[:12, :2] - centre[:2]
    out[[13, 14, 15], 1] = -1.0
    out[[17, 18, 19], 1] = 1.0
    out[_INNER_CORNERS, 0] = np.sign(a[_INNER_CORNERS, 0] - centre[0])
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def section(
    skin: np.ndarray, faces: np.ndarray, point: np.ndarray, normal: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the plane through ``point`` with ``normal`` (3,) cuts the edges of ``faces`` (f, 3; ids
    into ``skin`` (n, 3)): ends (m, 2), weights (m,) and the points (m, 3), each edge once."""
    edges = np.unique(np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1), axis=0)
    s = (skin - point) @ normal
    s0, s1 = s[edges[:, 0]], s[edges[:, 1]]
    cut = (s0 * s1 <= 0.0) & (s0 != s1)
    edges, s0, s1 = edges[cut], s0[cut], s1[cut]
    w = s0 / (s0 - s1)
    pts = (1.0 - w)[:, None] * skin[edges[:, 0]] + w[:, None] * skin[edges[:, 1]]
    return edges, w, pts


def lip_paths(skin: np.ndarray, faces: np.ndarray, face_class: np.ndarray, anchors: np.ndarray) -> OutlinePaths:
    """The marching paths of the 20 lip points on the neutral head.

    skin : (n, 3) metres, head frame: the skin part's render vertices; faces : (f, 3) its faces,
    face_class : (f,) their classes; anchors : (20, 3) the lip landmarks there (iBUG 48-67).
    """
    a = np.asarray(anchors, np.float64)
    out = lip_outward(a)
    centre = a[:12].mean(axis=0)
    top, bottom = face_class == CLASS_IDS["TOP_LIP"], face_class == CLASS_IDS["BOTTOM_LIP"]
    z = np.array([0.0, 0.0, 1.0])
    ends, weights = [], []
    for k, (anchor, u) in enumerate(zip(a, out)):
        lip = top if k in _UPPER else bottom if k in _LOWER else top | bottom
        e, w, pts = section(skin, faces[lip], anchor, np.cross(u, z))
        keep = (pts - centre) @ u > 0.0  # the anchor's side of the mouth
        if k in _INNER_CORNERS:
            keep &= (pts - anchor) @ u <= 0.0  # an inner corner only moves in along the lip line
        ends.append(e[keep])
        weights.append(w[keep])
    return OutlinePaths(ends=tuple(ends), weights=tuple(weights), outward=out, anchor_competes=np.ones(20, bool))


_PATHS: "weakref.WeakKeyDictionary[RenderSurface, OutlinePaths]" = weakref.WeakKeyDictionary()
_LIP_PATHS: "weakref.WeakKeyDictionary[RenderSurface, OutlinePaths]" = weakref.WeakKeyDictionary()


def paths_for(head: HeadModel, surface: RenderSurface) -> OutlinePaths:
    """The jaw points' paths on ``surface``'s skin part (cached per surface)."""
    if surface in _PATHS:
        return _PATHS[surface]
    anchors = np.asarray(head.landmark_points(head.neutral, surface), np.float64)[JAW]
    paths = surface_paths(head, surface, anchors)
    _PATHS[surface] = paths
    return paths


def lip_paths_for(head: HeadModel, surface: RenderSurface) -> OutlinePaths:
    """The lip points' paths on ``surface``'s skin part (cached per surface)."""
    if surface not in _LIP_PATHS:
        vidx, faces, sel = surface.part(head.part_names.index("skin"))
        anchors = np.asarray(head.landmark_points(head.neutral, surface), np.float64)[LIPS]
        neutral = surface.vertices(head.neutral)[vidx]
        _LIP_PATHS[surface] = lip_paths(neutral, faces, surface.face_class[sel], anchors)
    return _LIP_PATHS[surface]


def surface_paths(head: HeadModel, surface: RenderSurface, anchors: np.ndarray) -> OutlinePaths:
    """The paths of jaw points ``anchors`` (k, 3; the neutral head, head frame) on ``surface``'s skin part."""
    vidx, faces, sel = surface.part(head.part_names.index("skin"))
    neutral = surface.vertices(head.neutral)
    face_class = surface.face_class[sel]
    on_skin = np.zeros(len(vidx), bool)
    on_skin[np.unique(faces[face_class == CLASS_IDS["SKIN"]])] = True
    elsewhere = np.isin(face_class, [CLASS_IDS[c] for c in ("NECK", "RIGHT_EAR", "LEFT_EAR")])
    on_skin[np.unique(faces[elsewhere])] = False
    return jaw_paths(neutral[vidx], on_skin, anchors, surface.median_edge_m)


def on_outline(
    skin_world: np.ndarray, paths: OutlinePaths, anchors_world: np.ndarray, rotation: np.ndarray, camera: Camera
) -> np.ndarray:
    """(k, 3) world points: each point moved along its path to the outline of the view (the
    path's point furthest out along the point's projected outward direction).

    skin_world : (n, 3) the posed skin part's render vertices, world; anchors_world : (k, 3)
    the x-ray points, world; rotation : (3, 3) head frame -> world (the outward directions turn
    with the head). A point whose path is empty or lies behind the camera keeps its anchor, as
    does one whose anchor competes and lies further out than its path.
    """
    anchors = np.asarray(anchors_world, np.float64)
    outward = paths.outward @ np.asarray(rotation, np.float64).T
    uv_a, _ = camera.project(anchors)
    uv_o, _ = camera.project(anchors + 0.01 * outward)
    result = anchors.copy()
    skin = np.asarray(skin_world, np.float64)
    for i, (ends, w) in enumerate(zip(paths.ends, paths.weights)):
        if len(ends) == 0:
            continue
        direction = uv_o[i] - uv_a[i]
        norm = float(np.linalg.norm(direction))
        if not np.isfinite(norm) or norm < 1e-9:
            continue
        pts = skin[ends[:, 0]] if not w.any() else (1.0 - w)[:, None] * skin[ends[:, 0]] + w[:, None] * skin[ends[:, 1]]
        with np.errstate(divide="ignore", invalid="ignore"):
            uv, z = camera.project(pts)
        ok = np.all(np.isfinite(uv), axis=1) & (z > camera.near)
        if not ok.any():
            continue
        reach = np.where(ok, (uv - uv_a[i]) @ (direction / norm), -np.inf)
        best = int(np.argmax(reach))
        if paths.anchor_competes[i] and reach[best] <= 0.0:
            continue
        result[i] = pts[best]
    return result
