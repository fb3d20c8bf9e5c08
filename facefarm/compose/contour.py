"""Jaw landmarks as people annotate them: on the face's visible outline in the rendered view.

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

Paths are vertex ids of the skin part of the render surface, found once per surface on the
neutral head (:func:`jaw_paths`) and followed on each sample's posed skin
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
#: Half-width of a path's band about its plane, in render-surface edge lengths (a band a few
#: vertices wide always holds the section).
BAND_EDGES = 1.5
#: How far a path runs behind its anchor (toward the ear and under the jaw), metres. Forward it
#: runs to the face's midline (the far cheek's outline lies well in front of its jaw point).
BEHIND_M = 0.08


@dataclass(frozen=True)
class JawPaths:
    """Per jaw point, the skin render-vertex ids of its path (local to the skin part), and its
    outward direction, unit (17, 3), head frame."""

    ids: tuple[np.ndarray, ...]
    outward: np.ndarray


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
    return JawPaths(ids=tuple(ids), outward=out)


_PATHS: "weakref.WeakKeyDictionary[RenderSurface, JawPaths]" = weakref.WeakKeyDictionary()


def paths_for(head: HeadModel, surface: RenderSurface) -> JawPaths:
    """The jaw points' paths on ``surface``'s skin part (cached per surface)."""
    if surface in _PATHS:
        return _PATHS[surface]
    anchors = np.asarray(head.landmark_points(head.neutral, surface), np.float64)[JAW]
    paths = surface_paths(head, surface, anchors)
    _PATHS[surface] = paths
    return paths


def surface_paths(head: HeadModel, surface: RenderSurface, anchors: np.ndarray) -> JawPaths:
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
    skin_world: np.ndarray, paths: JawPaths, anchors_world: np.ndarray, rotation: np.ndarray, camera: Camera
) -> np.ndarray:
    """(k, 3) world points: each jaw point moved along its path to the outline of the view.

    skin_world : (n, 3) the posed skin part's render vertices, world; anchors_world : (k, 3)
    the x-ray jaw points, world; rotation : (3, 3) head frame -> world (the outward
    directions turn with the head). A point whose path is empty or lies behind the camera keeps
    its anchor.
    """
    anchors = np.asarray(anchors_world, np.float64)
    outward = paths.outward @ np.asarray(rotation, np.float64).T
    uv_a, _ = camera.project(anchors)
    uv_o, _ = camera.project(anchors + 0.01 * outward)
    result = anchors.copy()
    for i, ids in enumerate(paths.ids):
        if len(ids) == 0:
            continue
        direction = uv_o[i] - uv_a[i]
        norm = float(np.linalg.norm(direction))
        if not np.isfinite(norm) or norm < 1e-9:
            continue
        pts = np.asarray(skin_world[ids], np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            uv, z = camera.project(pts)
        ok = np.all(np.isfinite(uv), axis=1) & (z > camera.near)
        if not ok.any():
            continue
        reach = np.where(ok, (uv - uv_a[i]) @ (direction / norm), -np.inf)
        result[i] = pts[int(np.argmax(reach))]
    return result
