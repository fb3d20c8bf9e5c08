"""How much light reaches into the mouth: a per-vertex estimate for back-ends without shadows.

Cycles traces the mouth's shadow; the fast back-end has none, so an open mouth drew its tongue,
teeth and cavity as brightly lit as the lips (Cycles / fast luminance of MOUTH_INTERIOR pixels
0.02-0.33 on seven open mouths of the default catalog, median 0.13; with this estimate 0.14-3.7,
median 0.78). Light enters only through the opening between the inner
lips. For each vertex inside, :func:`mouth_light` is the cosine-weighted share of its hemisphere
that looks out through that opening, an ellipse spanned by the inner-lip landmarks (the teeth
and cheeks in the way are not counted). The compositor stores it on the mouth's vertices as the
mesh attribute :data:`OCCLUSION_ATTRIBUTE`; the fast back-end scales their shading by it and
Cycles ignores it.
"""

from __future__ import annotations

import numpy as np

from facefarm.geometry import vectors

#: iBUG indices of the inner lip contour (60-67), its corners and its upper and lower middles.
INNER_LIPS = slice(60, 68)
RIGHT_CORNER, LEFT_CORNER, UPPER_INNER, LOWER_INNER = 60, 64, 62, 66
#: Directions per vertex (cosine-weighted over its hemisphere).
RAYS = 32


def _hemisphere(k: int) -> np.ndarray:
    """(k, 3) cosine-weighted directions about +z (a Fibonacci spiral on the disk, lifted)."""
    i = np.arange(k) + 0.5
    r = np.sqrt(i / k)
    a = i * np.pi * (3.0 - np.sqrt(5.0))
    x, y = r * np.cos(a), r * np.sin(a)
    return np.column_stack([x, y, np.sqrt(np.clip(1.0 - x * x - y * y, 0.0, None))])


_DIRS = _hemisphere(RAYS)


def mouth_light(points: np.ndarray, normals: np.ndarray, landmarks: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """(n,) float32 in 0..1: the share of light reaching each of the (n, 3) ``points`` (unit
    ``normals`` (n, 3)) inside the mouth, given the (70, 3) ``landmarks`` of the same head (same
    frame) and the face's unit ``forward`` direction there. Points in front of the opening get 1."""
    p = np.asarray(points, np.float64)
    nrm = np.asarray(normals, np.float64)
    lips = landmarks[INNER_LIPS]
    centre = lips.mean(axis=0)
    across = landmarks[LEFT_CORNER] - landmarks[RIGHT_CORNER]
    half_w = max(0.5 * float(np.linalg.norm(across)), 1e-6)
    half_h = 0.5 * float(np.linalg.norm(landmarks[UPPER_INNER] - landmarks[LOWER_INNER]))
    z = np.asarray(forward, np.float64)
    x = across - (across @ z) * z
    x /= max(float(np.linalg.norm(x)), 1e-12)
    y = np.cross(z, x)
    depth = (centre - p) @ z  # > 0 behind the opening
    light = np.ones(len(p))
    inside = depth > 0.0
    if not inside.any() or half_h < 1e-5:
        light[inside] = 0.0
        return light.astype(np.float32)
    pi, ni, di = p[inside], nrm[inside], depth[inside]
    # each vertex's hemisphere frame (t, b, n), the directions in world, and where they cross
    # the opening's plane
    helper = np.where(np.abs(ni[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    t = np.cross(helper, ni)
    t /= vectors.length(t, True)
    b = np.cross(ni, t)
    d = _DIRS[None, :, :1] * t[:, None] + _DIRS[None, :, 1:2] * b[:, None] + _DIRS[None, :, 2:] * ni[:, None]
    along = d @ z  # (m, k) towards the plane when > 0
    towards = along > 1e-6
    s = di[:, None] / np.where(towards, along, 1.0)
    hit = pi[:, None, :] + s[..., None] * d - centre
    u, v = hit @ x, hit @ y
    out = towards & ((u / half_w) ** 2 + (v / half_h) ** 2 <= 1.0)
    light[inside] = out.mean(axis=1)
    return light.astype(np.float32)
