"""Geometry for fitting things to a surface: signed distance near a mesh, swept tubes, outward winding.

Shared by the fitters (glasses, garments, headscarves); every point and mesh here is in the
caller's frame (metres), faces are (F, 3) int64 vertex indices.
"""

from __future__ import annotations

import numpy as np

from facefarm.geometry import vectors
from facefarm.geometry.mesh_closest import ClosestPoints
from facefarm.geometry.triangles import vertex_normals


# ---------------------------------------------------------------------------------- geometry
class SurfaceDistance:
    """Signed distance to a triangle mesh near its surface: the exact closest point
    (:class:`~facefarm.geometry.mesh_closest.ClosestPoints`), sign from the interpolated vertex
    normal there (positive outside). Good for points within a few triangle sizes of the
    surface; open meshes are fine as long as the query points face the outside."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray):
        self.vertices = np.asarray(vertices, np.float64)
        self.faces = np.asarray(faces, np.int64)
        self.normals = vertex_normals(self.vertices, self.faces)
        self._closest = ClosestPoints(self.vertices, self.faces)

    def query(self, points: np.ndarray, return_faces: bool = False):
        """For (n, 3) points: ((n,) signed distance m, (n, 3) closest points, (n, 3) outward
        normals), plus ((n,) index into ``faces`` of the closest triangle) if ``return_faces``."""
        p = np.asarray(points, np.float64).reshape(-1, 3)
        c = self._closest.query(p)
        nrm = self._closest.smooth_normal(c, self.normals)
        sign = np.where(vectors.dot(p - c.point, nrm) >= 0, 1.0, -1.0)
        if return_faces:
            return c.distance * sign, c.point, nrm, c.face
        return c.distance * sign, c.point, nrm


def sweep(
    path: np.ndarray,
    profile: np.ndarray,
    closed: bool = False,
    up: np.ndarray | None = None,
    scale: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A tube: ``profile`` ((m, 2) closed polygon in (side, up) units) swept along ``path`` ((n, 3)).

    ``up`` ((n, 3)) orients the profile's second axis at each point (default +y); ``scale``
    ((n, 2)) stretches the profile per point. Open tubes get flat end caps, so the result
    is always a closed surface; faces are oriented outward. Returns ((V, 3), (F, 3) int64).
    """
    path = np.asarray(path, np.float64)
    n, m = len(path), len(profile)
    if up is None:
        up = np.tile([0.0, 1.0, 0.0], (n, 1))
    if scale is None:
        scale = np.ones((n, 2))
    if closed:
        tan = np.roll(path, -1, axis=0) - np.roll(path, 1, axis=0)
    else:
        tan = np.gradient(path, axis=0)
    length = vectors.length(tan)
    if (length < 1e-12).any():  # repeated points: borrow the nearest real tangent
        good = np.flatnonzero(length >= 1e-12)
        near = good[np.abs(np.arange(n)[:, None] - good[None, :]).argmin(axis=1)]
        tan, length = tan[near], length[near]
    tan = tan / length[:, None]
    side = np.cross(tan, up)
    for axis in ([1.0, 0.0, 0.0], [0.0, 0.0, 1.0]):  # up parallel to the path: any perpendicular
        bad = vectors.length(side) < 1e-6
        side[bad] = np.cross(tan[bad], axis)
    side /= vectors.length(side, True)
    upv = np.cross(side, tan)
    prof = np.asarray(profile, np.float64)
    verts = (
        path[:, None, :]
        + side[:, None, :] * (prof[None, :, 0] * scale[:, 0:1])[..., None]
        + upv[:, None, :] * (prof[None, :, 1] * scale[:, 1:2])[..., None]
    ).reshape(-1, 3)
    quads: list[np.ndarray] = []
    rings = n if closed else n - 1
    j = np.arange(m)
    j1 = (j + 1) % m
    for i in range(rings):
        i1 = (i + 1) % n
        a, b, c, d = i * m + j, i * m + j1, i1 * m + j1, i1 * m + j
        quads.append(np.stack([a, b, c], axis=1))
        quads.append(np.stack([a, c, d], axis=1))
    faces = np.concatenate(quads)
    if not closed:
        c0, c1 = len(verts), len(verts) + 1
        verts = np.vstack([verts, path[0], path[-1]])
        cap0 = np.stack([np.full(m, c0), j1, j], axis=1)
        cap1 = np.stack([np.full(m, c1), (n - 1) * m + j, (n - 1) * m + j1], axis=1)
        faces = np.vstack([faces, cap0, cap1])
    return orient_outward(verts, faces)


def orient_outward(v: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flip a closed, consistently wound surface if its signed volume is negative."""
    tri = v[f]
    vol = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum()
    return v, (f if vol >= 0 else f[:, ::-1].copy())
