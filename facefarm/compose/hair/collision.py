"""The head's skin as a closed collision surface for hair: closest points, signed distance, push-out.

Strands must stay outside the skin. The skin part of the head mesh is closed except
for one boundary loop where the neck is cropped; :class:`HeadSurface` extrudes that loop
down into a torso-like prism and caps it, so "outside" is well defined everywhere, then
answers exact closest-point queries (:mod:`~facefarm.geometry.mesh_closest`) with the sign
from pseudo-normals.
Everything is in the head frame, metres, float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facefarm.geometry import vectors
from facefarm.geometry.mesh_closest import ClosestPoints
from facefarm.geometry.triangles import vertex_normals

#: The head mesh ends at the shoulders; its cut continues this far down as a prism that
#: stands in for the torso, so long hair drapes over the shoulders instead of through them.
TORSO_M = 0.3
#: Distances within this of a target are on it (metres; float rounding of a re-measured point).
_ROUNDING_M = 1e-7


def cap_boundary(
    vertices: np.ndarray, faces: np.ndarray, extrude: float = 0.0, step: float = 0.015, rings: int = 6
) -> tuple[np.ndarray, np.ndarray]:
    """Close every boundary loop of a consistently oriented mesh.

    Each loop is first extruded straight down (-y) by ``extrude`` metres in ``step`` layers (so
    a mesh cropped at the shoulders continues as a torso-like prism hair can drape down), then
    capped by ``rings`` concentric copies shrunk towards the loop's centroid and a central fan,
    so no added triangle is a long sliver. Returns (vertices, faces) with the additions
    appended; new triangles keep the mesh's orientation (a boundary edge a->b gets b, a, next).
    """
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    nxt = _boundary_next(f, len(v))
    if not nxt:
        return v, f
    seen: set[int] = set()
    new_v, new_f = [v], [f]
    count = len(v)

    def band(outer: np.ndarray, ring: np.ndarray) -> np.ndarray:
        nonlocal count
        inner = count + np.arange(len(ring))
        new_v.append(ring)
        count += len(ring)
        a, b = outer, np.roll(outer, -1)
        ai, bi = inner, np.roll(inner, -1)
        new_f.extend([np.stack([b, a, ai], 1), np.stack([b, ai, bi], 1)])
        return inner

    for start in nxt:
        if start in seen:
            continue
        loop, a = [], start
        while a not in seen:
            seen.add(a)
            loop.append(a)
            a = nxt[a]
        outer = np.asarray(loop)
        rim = v[outer]
        layers = int(np.ceil(extrude / step)) if extrude > 0 else 0
        # going down, the cut's outline relaxes into a smooth one (a crop's notches would make
        # creases where inside and outside are hard to tell)
        smooth = _smooth_loop(rim, iterations=40) if layers else rim
        for k in range(1, layers + 1):
            t = min(1.0, k / 3.0)
            ring = (1 - t) * rim + t * smooth
            outer = band(outer, ring - np.array([0.0, min(k * step, extrude), 0.0]))
        bottom = (smooth if layers else rim) - np.array([0.0, extrude, 0.0])
        centre = bottom.mean(axis=0)
        for r in range(1, rings):
            outer = band(outer, centre + (bottom - centre) * (1.0 - r / rings))
        new_v.append(centre[None])
        c = np.full(len(outer), count)
        count += 1
        new_f.append(np.stack([np.roll(outer, -1), outer, c], 1))
    return np.vstack(new_v), np.vstack(new_f)


_TOPOLOGY: dict[tuple, object] = {}


def _per_topology(kind: str, f: np.ndarray, n_vertices: int, build):
    """``build()`` once per (``kind``, mesh topology): every identity of a head asset shares it."""
    key = (kind, n_vertices, hash(f.tobytes()))
    if key not in _TOPOLOGY:
        if len(_TOPOLOGY) > 16:
            _TOPOLOGY.clear()
        _TOPOLOGY[key] = build()
    return _TOPOLOGY[key]


def _boundary_next(f: np.ndarray, n_vertices: int) -> dict[int, int]:
    """{a: b} for every boundary edge a -> b of the (m, 3) faces."""

    def build() -> dict[int, int]:
        directed = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
        fwd = directed[:, 0] * (n_vertices + 1) + directed[:, 1]
        rev = directed[:, 1] * (n_vertices + 1) + directed[:, 0]
        return {int(a): int(b) for a, b in directed[~np.isin(fwd, rev)]}

    return _per_topology("boundary", f, n_vertices, build)


def _smooth_loop(rim: np.ndarray, iterations: int) -> np.ndarray:
    """A closed (k, 3) loop with its horizontal (x, z) outline Laplacian-smoothed, keeping its
    extent (the smoothed outline is rescaled to the original's size about the centroid)."""
    out = rim.copy()
    c = rim[:, [0, 2]].mean(axis=0)
    for _ in range(iterations):
        out[:, [0, 2]] = 0.5 * out[:, [0, 2]] + 0.25 * (np.roll(out, 1, 0)[:, [0, 2]] + np.roll(out, -1, 0)[:, [0, 2]])
    size = np.ptp(rim[:, [0, 2]], axis=0) / np.maximum(np.ptp(out[:, [0, 2]], axis=0), 1e-9)
    out[:, [0, 2]] = c + (out[:, [0, 2]] - out[:, [0, 2]].mean(axis=0)) * size
    out[:, 1] = rim[:, 1].min()
    return out


def _pseudo_normals(v: np.ndarray, f: np.ndarray, fn: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Angle-weighted vertex normals (n, 3) and edge normals (m, 3, 3) of the mesh with unit face
    normals ``fn`` (m, 3): for face i, the edge opposite corner k gets the sum of the normals of
    the two faces sharing it, face i and ``other[i, k]`` (:func:`_across`)."""
    e = v[np.roll(f, -1, axis=1)] - v[f]  # e[:, k]: corner k -> corner k + 1
    length = vectors.length(e)
    # the angle at corner k lies between e[:, k] and -e[:, k - 1]
    cos = -vectors.dot(e, np.roll(e, 1, axis=1)) / np.maximum(length * np.roll(length, 1, axis=1), 1e-30)
    ang = np.arccos(np.clip(cos, -1.0, 1.0))
    return vertex_normals(v, f, weights=ang), vectors.unit(fn[:, None, :] + fn[other], 1e-12)


def _across(f: np.ndarray, n_vertices: int) -> np.ndarray:
    """(m, 3) the face across the edge opposite each corner of each of the (m, 3) faces."""
    m, nv = len(f), n_vertices + 1
    a = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])  # edge opposite corner 0, 1, 2
    b = np.concatenate([f[:, 2], f[:, 0], f[:, 1]])
    key = a * nv + b
    order = np.argsort(key)
    j = np.searchsorted(key[order], b * nv + a)
    return (order[np.clip(j, 0, len(order) - 1)] % m).reshape(3, m).T


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

    def take(self, rows: np.ndarray) -> "Nearest":
        """The results for ``rows`` (indices or a boolean mask) of the queried points."""
        return Nearest(self.point[rows], self.face[rows], self.bary[rows], self.normal[rows], self.distance[rows])


class HeadSurface:
    """A closed triangle surface with exact closest-point and signed-distance queries.

    vertices : (n, 3) float64 metres, head frame · faces : (m, 3) int64, counter-clockwise
    seen from outside: the skin part of the head, its open cut extruded ``extrude`` metres
    down and capped (see :func:`cap_boundary`). Queries go through a closest-point tree
    (:class:`~facefarm.geometry.mesh_closest.ClosestPoints`); the sign comes from the
    angle-weighted pseudo-normal of the closest feature (face, edge or vertex), which is always
    right for a closed mesh (Baerentzen & Aanaes 2005).
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, extrude: float = TORSO_M):
        self.vertices, self.faces = cap_boundary(vertices, faces, extrude=extrude)
        self.normals = vertex_normals(self.vertices, self.faces)
        tri = self.vertices[self.faces]
        fn = vectors.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        self._fn = vectors.unit(fn, 1e-30)
        across = _per_topology(
            "across", self.faces, len(self.vertices), lambda: _across(self.faces, len(self.vertices))
        )
        self._vertex_pn, self._edge_pn = _pseudo_normals(self.vertices, self.faces, self._fn, across)
        self._closest = ClosestPoints(self.vertices, self.faces)

    @classmethod
    def from_head(cls, head, vertices: np.ndarray) -> "HeadSurface":
        """The skin of ``head`` (a :class:`~facefarm.head.model.HeadModel`) at ``vertices`` (V, 3)."""
        skin = head.part_names.index("skin")
        return cls(np.asarray(vertices, np.float64), np.asarray(head.faces[head.face_part == skin], np.int64))

    def query(self, points: np.ndarray) -> Nearest:
        """Closest surface point of each of the (n, 3) ``points``, with the signed distance
        (> 0 outside) and the smooth (vertex-interpolated) normal there."""
        p = np.asarray(points, np.float64).reshape(-1, 3)
        c = self._closest.query(p)
        face, bary = c.face, c.bary
        n = self._closest.smooth_normal(c, self.normals)
        off = p - c.point
        zero = bary == 0.0
        pn = self._fn[face].copy()
        on_edge = zero.sum(axis=1) == 1
        pn[on_edge] = self._edge_pn[face[on_edge], zero[on_edge].argmax(axis=1)]
        on_vertex = zero.sum(axis=1) >= 2
        pn[on_vertex] = self._vertex_pn[self.faces[face[on_vertex], (~zero[on_vertex]).argmax(axis=1)]]
        sign = np.where(vectors.dot(off, pn) < 0, -1.0, 1.0)
        return Nearest(point=c.point, face=face, bary=bary, normal=n, distance=sign * c.distance)

    def push_out(
        self, points: np.ndarray, offset: np.ndarray | float, iterations: int = 24, measured: Nearest | None = None
    ) -> np.ndarray:
        """Points moved out to at least ``offset`` metres outside the surface ((n,) or scalar).

        A point closer than ``offset`` (or inside) moves straight away from its closest surface
        point (along the smooth normal when it lies on the surface) to ``offset``; later passes
        (on the few points still too close) settle those that landed near another part, as in a
        crease between two walls. Passes stop when the total shortfall no longer shrinks by 5 %
        (points held between two walls), or after ``iterations``. ``measured``: the query of
        ``points`` when the caller has it already (saves the first pass's query).
        """
        p = np.asarray(points, np.float64).reshape(-1, 3).copy()
        off = np.broadcast_to(np.asarray(offset, np.float64), (len(p),))
        todo = np.arange(len(p))
        short_before = np.inf
        for it in range(iterations):
            nr = measured if (it == 0 and measured is not None) else self.query(p[todo])
            # measured again, a point just moved to its offset may come out a rounding error short:
            # that is not short (without the tolerance such points would loop every pass)
            bad = nr.distance < off[todo] - _ROUNDING_M
            if not bad.any():
                break
            # the few points still too close after several passes are either creeping out of a
            # fold (keep going) or caught between two walls that both want them (stop: no gain)
            short = float(np.minimum(off[todo][bad] - nr.distance[bad], 1.0).sum())
            if short > 0.95 * short_before:
                break
            short_before = short
            todo = todo[bad]
            p[todo] += away(nr, p[todo], bad) * (off[todo] - nr.distance[bad] + _ROUNDING_M)[:, None]
        return p


def away(nr: Nearest, p: np.ndarray, sel: np.ndarray | None = None) -> np.ndarray:
    """(k, 3) unit directions out of the surface at the (k, 3) points ``p`` (the rows ``sel`` of
    the query ``nr``): from the closest point towards the point when it is outside, away from
    it when inside (the distance's gradient), the smooth normal on the surface itself."""
    rows = slice(None) if sel is None else sel
    d = (p - nr.point[rows]) * np.sign(nr.distance[rows])[:, None]
    ln = vectors.length(d, True)
    return np.where(ln > 1e-7, d / np.maximum(ln, 1e-30), nr.normal[rows])


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
        return p, self.surface.query(p[None]).normal[0]
