"""Eye appearance and gaze: sclera, iris and pupil painted by angle from the gaze axis.

The compiled head's eyeballs are UV spheres whose vertex 0 is the front pole (the
pupil centre); gaze rotates them rigidly about their centres.
"""

from __future__ import annotations

import numpy as np

from facefarm.geometry import triangles

#: Midpoint subdivisions of the eyeballs before painting: the template's UV spheres have rings
#: ~10 degrees apart, so a pupil 11 degrees round drew as a bar between two rings.
LEVELS = 2
#: The part of the eyeball subdivided: within this angle of its axis (the lids cover the rest).
FRONT_HALF_ANGLE = np.radians(70.0)
IRIS_HALF_ANGLE = np.radians(30.0)  # iris diameter ~ 12 mm on a 12 mm-radius eye (visible 11.7 mm)
PUPIL_HALF_ANGLE = np.radians(9.5)  # a 4 mm pupil, indoor light
LIMBUS_WIDTH = np.radians(3.0)


def gaze_rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """(3, 3) rotation turning the eye's +z axis towards a gaze; yaw +: subject's left (+x), pitch +: up."""
    y, p = np.radians(yaw_deg), np.radians(pitch_deg)
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    return ry @ rx.T  # pitch up rotates +z towards +y


def eye_colors(angles: np.ndarray, iris_rgb, sclera_rgb=(0.72, 0.68, 0.64), rng=None) -> np.ndarray:
    """(n, 3) linear RGB per vertex: pupil, iris (darker limbal ring), sclera."""
    iris = np.asarray(iris_rgb, float)
    col = np.tile(np.asarray(sclera_rgb, float), (len(angles), 1))
    in_iris = angles < IRIS_HALF_ANGLE
    # radial iris texture: lighter near the pupil, dark limbal ring at the edge
    t = np.clip((angles - PUPIL_HALF_ANGLE) / (IRIS_HALF_ANGLE - PUPIL_HALF_ANGLE), 0, 1)
    shade = 1.25 - 0.55 * t
    col[in_iris] = iris * shade[in_iris, None]
    limbus = np.abs(angles - IRIS_HALF_ANGLE) < LIMBUS_WIDTH
    col[limbus] *= 0.35
    col[angles < PUPIL_HALF_ANGLE] = (0.01, 0.01, 0.012)
    return np.clip(col, 0.0, 1.0)


def painted_eyeball(vertices: np.ndarray, faces: np.ndarray, rest: np.ndarray, centre, axis, iris_rgb):
    """An eyeball's front subdivided (:data:`LEVELS`) onto its sphere and painted by angle from its axis.

    vertices, rest : (n, 3) metres, head frame, posed (gaze included) and at rest; faces : (f, 3);
    ``centre``, ``axis`` : the eyeball's centre and unit gaze axis at rest. Only the faces within
    :data:`FRONT_HALF_ANGLE` of the axis are split (the rest lies under the lids at any gaze; a
    whole eyeball split twice cost ~12k vertices of per-vertex shading). Returns (vertices (m, 3),
    faces (k, 3), source (k,) the index in ``faces`` each face comes from, normals (m, 3),
    colours (m, 3) linear RGB).
    """
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    posed_centre = v.mean(axis=0)  # the template's eyeball rings are symmetric about the centre
    radius = float(np.linalg.norm(v - posed_centre, axis=1).mean())
    rest_angle = _angles(rest, centre, axis)
    front = np.flatnonzero((rest_angle[f] < FRONT_HALF_ANGLE).any(axis=1))
    back = np.setdiff1d(np.arange(len(f)), front)
    # the split keeps every old vertex at its index and appends the new ones, so the back faces
    # still index the same array (their edges on the border are chords the front bulges past by
    # ~0.05 mm, under the lids)
    sv, sf, attrs = triangles.subdivide(v, f[front], {"rest": rest}, LEVELS)
    out = sv - posed_centre
    normals = out / np.linalg.norm(out, axis=1, keepdims=True)
    all_faces = np.vstack([sf, f[back]])
    source = np.concatenate([np.repeat(front, 4**LEVELS), back])
    colours = eye_colors(_angles(attrs["rest"], centre, axis), iris_rgb)
    return posed_centre + radius * normals, all_faces, source, normals, colours


def _angles(points: np.ndarray, centre, axis) -> np.ndarray:
    """(n,) angle of each point about ``centre`` from the unit ``axis``, radians."""
    d: np.ndarray = np.asarray(points, np.float64) - np.asarray(centre, np.float64)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return np.arccos(np.clip(d @ np.asarray(axis, np.float64), -1.0, 1.0))
