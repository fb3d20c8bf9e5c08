"""The head's skin as a closed collision surface for hair: closest points, signed distance, push-out.

Strands must stay outside the skin. The skin part of the head mesh is closed except
for one boundary loop where the neck is cropped; :class:`HeadSurface` caps that loop
with a fan so "outside" is well defined everywhere, then answers nearest-point queries
through a KD-tree over triangle centroids (exact point-triangle distance on the
nearest candidates). Everything is in the head frame, metres, float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

#: Candidate triangles come from the nearest of these many sample points spread over the
#: triangles every ``_SPACING`` metres, so large thin triangles (the neck cap) are found too.
_CANDIDATES = 16
_SPACING = 0.004
_CHUNK = 2048


def closest_on_triangles(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Closest points on triangles (a, b, c) to points ``p``; all (..., 3) float64, broadcast.

    Returns (closest (..., 3), barycentric (..., 3)). Ericson, *Real-Time Collision
    Detection* 5.1.5, written branch-free over numpy arrays.
    """
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = (ab * ap).sum(-1), (ac * ap).sum(-1)
    bp = p - b
    d3, d4 = (ab * bp).sum(-1), (ac * bp).sum(-1)
    cp = p - c
    d5, d6 = (ab * cp).sum(-1), (ac * cp).sum(-1)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    eps = 1e-30
    # interior (default)
    denom = va + vb + vc
    v = vb / np.where(np.abs(denom) > eps, denom, eps)
    w = vc / np.where(np.abs(denom) > eps, denom, eps)
    bary = np.stack([1.0 - v - w, v, w], -1)
    # regions are tested from the least to the most specific so later writes win
    e_bc = (va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0)
    t = (d4 - d3) / np.maximum((d4 - d3) + (d5 - d6), eps)
    bary = np.where(e_bc[..., None], np.stack([np.zeros_like(t), 1 - t, t], -1), bary)
    e_ac = (vb <= 0) & (d2 >= 0) & (d6 <= 0)
    t = d2 / np.maximum(d2 - d6, eps)
    bary = np.where(e_ac[..., None], np.stack([1 - t, np.zeros_like(t), t], -1), bary)
    e_ab = (vc <= 0) & (d1 >= 0) & (d3 <= 0)
    t = d1 / np.maximum(d1 - d3, eps)
    bary = np.where(e_ab[..., None], np.stack([1 - t, t, np.zeros_like(t)], -1), bary)
    one = np.ones_like(d1)
    zero = np.zeros_like(d1)
    bary = np.where(((d6 >= 0) & (d5 <= d6))[..., None], np.stack([zero, zero, one], -1), bary)
    bary = np.where(((d3 >= 0) & (d4 <= d3))[..., None], np.stack([zero, one, zero], -1), bary)
    bary = np.where(((d1 <= 0) & (d2 <= 0))[..., None], np.stack([one, zero, zero], -1), bary)
    q = bary[..., 0:1] * a + bary[..., 1:2] * b + bary[..., 2:3] * c
    return q, bary


def cap_boundary(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Close every boundary loop of a consistently oriented mesh with a fan to its centroid.

    Returns (vertices (n + loops, 3), faces (m + boundary edges, 3)); the cap triangles keep
    the mesh's orientation (an edge a->b on the boundary gets the cap triangle b, a, centre).
    """
    f = np.asarray(faces, np.int64)
    directed = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    key = directed[:, 0] * (len(vertices) + 1) + directed[:, 1]
    rev = directed[:, 1] * (len(vertices) + 1) + directed[:, 0]
    boundary = directed[~np.isin(key, rev)]
    if len(boundary) == 0:
        return np.asarray(vertices, np.float64), f
    # loops = connected components of the boundary edges
    parent = {int(a): int(b) for a, b in boundary}
    loop_of: dict[int, int] = {}
    loops: list[list[int]] = []
    for start in parent:
        if start in loop_of:
            continue
        loop, v = [], start
        while v not in loop_of:
            loop_of[v] = len(loops)
            loop.append(v)
            v = parent.get(v, start)
        loops.append(loop)
    v = np.asarray(vertices, np.float64)
    centres = np.stack([v[lp].mean(axis=0) for lp in loops])
    centre_id = len(v) + np.array([loop_of[int(a)] for a in boundary[:, 0]])
    cap = np.stack([boundary[:, 1], boundary[:, 0], centre_id], axis=1)
    return np.vstack([v, centres]), np.vstack([f, cap])


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(n, 3) float64 unit area-weighted vertex normals."""
    v, f = np.asarray(vertices, np.float64), np.asarray(faces, np.int64)
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    out = np.zeros_like(v)
    for k in range(3):
        np.add.at(out, f[:, k], fn)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-20)


def _spread(tri: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Points standing for each of the (m, 3, 3) triangles: the centroid of a small one, a
    barycentric grid about ``spacing`` apart on a large one; returns (points, owner ids)."""
    edge = np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=-1).max(axis=1)
    res = np.clip(np.ceil(edge / spacing) - 2, 0, 64).astype(np.int64)  # grid subdivisions
    pts, owner = [tri.mean(axis=1)], [np.arange(len(tri))]
    for r in np.unique(res[res > 0]):
        ids = np.flatnonzero(res == r)
        i, j = np.meshgrid(np.arange(r + 1), np.arange(r + 1), indexing="ij")
        keep = i + j <= r
        b = np.stack([i[keep], j[keep]], 1) / r
        w = np.c_[1.0 - b.sum(1), b]  # (q, 3) barycentric grid, corners included
        pts.append(np.einsum("qk,mkd->mqd", w, tri[ids]).reshape(-1, 3))
        owner.append(np.repeat(ids, len(w)))
    return np.concatenate(pts), np.concatenate(owner)


@dataclass(frozen=True)
class Nearest:
    """Result of a nearest-surface query for (n,) points (head frame, metres).

    point (n, 3) closest surface point · face (n,) triangle id · bary (n, 3) barycentric
    coordinates in that triangle · normal (n, 3) smooth unit normal there · distance (n,)
    signed distance (> 0 outside, along ``normal``).
    """

    point: np.ndarray
    face: np.ndarray
    bary: np.ndarray
    normal: np.ndarray
    distance: np.ndarray


class HeadSurface:
    """A closed triangle surface with nearest-point queries.

    vertices : (n, 3) float64 metres, head frame · faces : (m, 3) int64, counter-clockwise
    seen from outside (the skin part of the head plus the neck cap).
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray):
        self.vertices, self.faces = cap_boundary(vertices, faces)
        self.normals = vertex_normals(self.vertices, self.faces)
        tri = self.vertices[self.faces]
        self._a, self._b, self._c = tri[:, 0], tri[:, 1], tri[:, 2]
        fn = np.cross(self._b - self._a, self._c - self._a)
        self._fn = fn / np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-30)
        pts, self._owner = _spread(tri, _SPACING)
        self._tree = cKDTree(pts)

    @classmethod
    def from_head(cls, head, vertices: np.ndarray) -> "HeadSurface":
        """The skin of ``head`` (a :class:`~facefarm.pipeline.head_model.HeadModel`) at ``vertices`` (V, 3)."""
        skin = head.part_names.index("skin")
        return cls(np.asarray(vertices, np.float64), np.asarray(head.faces[head.face_part == skin], np.int64))

    def nearest(self, points: np.ndarray) -> Nearest:
        """Nearest surface point of each of the (n, 3) ``points``."""
        p = np.asarray(points, np.float64).reshape(-1, 3)
        if len(p) > _CHUNK:
            # in chunks: the (n, candidates, 3) temporaries stay in cache
            parts = [self.nearest(p[i:i + _CHUNK]) for i in range(0, len(p), _CHUNK)]
            return Nearest(*(np.concatenate([getattr(r, f) for r in parts])
                             for f in ("point", "face", "bary", "normal", "distance")))
        k = min(_CANDIDATES, len(self.faces))
        _, near = self._tree.query(p, k=k)
        cand = self._owner[near.reshape(len(p), k)]
        q, bary = closest_on_triangles(p[:, None, :], self._a[cand], self._b[cand], self._c[cand])
        off = p[:, None, :] - q
        d2 = (off ** 2).sum(-1)
        # Where the nearest point is an edge or a vertex several candidates tie; the one whose
        # plane faces the point most squarely gives the correct inside/outside sign
        # (the pseudo-normal argument of Baerentzen & Aanaes 2005).
        tie = d2 <= d2.min(axis=1, keepdims=True) * (1 + 1e-9) + 1e-24
        facing = np.abs((off * self._fn[cand]).sum(-1)) / np.sqrt(np.maximum(d2, 1e-30))
        best = np.where(tie, facing, -1.0).argmax(axis=1)
        rows = np.arange(len(p))
        face = cand[rows, best]
        q, bary, off = q[rows, best], bary[rows, best], off[rows, best]
        n = (bary[:, :, None] * self.normals[self.faces[face]]).sum(axis=1)
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-20)
        dist = np.linalg.norm(off, axis=1)
        sign = np.where((off * self._fn[face]).sum(axis=1) < 0, -1.0, 1.0)
        return Nearest(point=q, face=face, bary=bary, normal=n, distance=sign * dist)

    def push_out(self, points: np.ndarray, offset: np.ndarray | float, iterations: int = 2) -> np.ndarray:
        """Points moved out to at least ``offset`` metres outside the surface ((n,) or scalar).

        A point closer than ``offset`` (or inside) goes to ``offset`` along the normal at its
        nearest surface point; a second pass settles points that landed near another part.
        """
        p = np.asarray(points, np.float64).reshape(-1, 3).copy()
        off = np.broadcast_to(np.asarray(offset, np.float64), (len(p),))
        for _ in range(iterations):
            nr = self.nearest(p)
            bad = nr.distance < off
            if not bad.any():
                break
            # out along the nearest-point direction (exact), or the normal when on the surface
            d = (p - nr.point) * np.sign(nr.distance)[:, None]
            ln = np.linalg.norm(d, axis=1, keepdims=True)
            d = np.where(ln > 1e-9, d / np.maximum(ln, 1e-30), nr.normal)
            p[bad] = nr.point[bad] + d[bad] * off[bad, None]
        return p


@dataclass(frozen=True)
class HeadFrame:
    """One identity's head as hair sees it (head frame, metres).

    surface : the closed skin · vertices (V, 3) float64 the posed mesh · centre (3,) midpoint of
    the ears · scale : ear-to-ear width over the neutral head's · chin_y / brow_top_y : heights of
    the chin's lowest point and of the brows' top · gravity (3,) unit "down" in the head frame.
    """

    surface: HeadSurface
    vertices: np.ndarray
    centre: np.ndarray
    scale: float
    chin_y: float
    brow_top_y: float
    gravity: np.ndarray

    def point(self, vertex: int) -> tuple[np.ndarray, np.ndarray]:
        """Position and unit normal of a mesh vertex on this identity."""
        p = self.vertices[vertex]
        return p, self.surface.nearest(p[None]).normal[0]
