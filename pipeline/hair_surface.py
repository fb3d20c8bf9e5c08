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

from facefarm.pipeline.triangles import closest_on_triangles

#: Exact queries: candidate triangles come from the nearest of these many sample points
#: spread over the triangles every ``_SPACING`` metres, so large triangles are found too.
_CANDIDATES = 16
_SPACING = 0.004
_CHUNK = 2048
#: Sample spacing of the fast query: its distance error is about spacing^2 / (6 x curvature
#: radius), ~0.1 mm on the head and ~0.3 mm on an ear rim.
_DENSE_SPACING = 0.00175
#: Spacing of the coarse cloud that tells inside from outside for points far from the skin.
_COARSE_SPACING = 0.008
#: The head mesh ends at the shoulders; its cut continues this far down as a prism that
#: stands in for the torso, so long hair drapes over the shoulders instead of through them.
TORSO_M = 0.3
#: Near creases the fast query's distance can be off by up to this much (m).
_FAST_ERROR_M = 0.002
#: By default the fast query measures points up to this far (m) from the skin.
FAR_M = 0.03
#: Points farther than this from every skin sample count as outside: strands approach the
#: head in steps of a few cm, so none gets this deep (only the skull's very centre is).
_COARSE_REACH = 0.04


def cap_boundary(vertices: np.ndarray, faces: np.ndarray, extrude: float = 0.0, step: float = 0.015,
                 rings: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Close every boundary loop of a consistently oriented mesh.

    Each loop is first extruded straight down (-y) by ``extrude`` metres in ``step`` layers (so
    a mesh cropped at the shoulders continues as a torso-like prism hair can drape down), then
    capped by ``rings`` concentric copies shrunk towards the loop's centroid and a central fan,
    so no added triangle is a long sliver. Returns (vertices, faces) with the additions
    appended; new triangles keep the mesh's orientation (a boundary edge a->b gets b, a, next).
    """
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    directed = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    key = directed[:, 0] * (len(v) + 1) + directed[:, 1]
    rev = directed[:, 1] * (len(v) + 1) + directed[:, 0]
    boundary = directed[~np.isin(key, rev)]
    if len(boundary) == 0:
        return v, f
    nxt = {int(a): int(b) for a, b in boundary}
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


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(n, 3) float64 unit area-weighted vertex normals."""
    v, f = np.asarray(vertices, np.float64), np.asarray(faces, np.int64)
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    out = np.zeros_like(v)
    for k in range(3):
        np.add.at(out, f[:, k], fn)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-20)


@dataclass(frozen=True)
class _SpreadLayout:
    """Sample points on triangles, as (owner triangle, barycentric) pairs: fixed by
    the mesh topology and a reference shape, so other shapes of the same mesh reuse it."""

    owner: np.ndarray
    bary: np.ndarray
    res: np.ndarray  # (m,) grid steps per triangle (0: centroid only)

    @classmethod
    def of(cls, tri: np.ndarray, spacing, centroid_below, by_area: bool = False) -> "_SpreadLayout":
        """Points standing for the (m, 3, 3) triangles: every centroid, plus a barycentric grid
        about ``spacing`` apart (corners included, shared ones kept once) on triangles whose
        longest edge exceeds ``centroid_below`` (both scalars or (m,)). ``by_area`` sizes the
        grids by area (fewer points; :meth:`radius` still bounds the gaps)."""
        edge = np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=-1).max(axis=1)
        size = edge
        if by_area:
            area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
            size = np.maximum(np.sqrt(area), 0.5 * edge)
        res = np.where(edge > centroid_below, np.clip(np.ceil(size / spacing), 1, 96), 0).astype(np.int64)
        owner, bary = [np.arange(len(tri))], [np.full((len(tri), 3), 1.0 / 3.0)]
        for r in np.unique(res[res > 0]):
            ids = np.flatnonzero(res == r)
            i, j = np.meshgrid(np.arange(r + 1), np.arange(r + 1), indexing="ij")
            keep = i + j <= r
            b = np.stack([i[keep], j[keep]], 1) / r
            w = np.c_[1.0 - b.sum(1), b]  # (q, 3) barycentric grid, corners included
            owner.append(np.repeat(ids, len(w)))
            bary.append(np.tile(w, (len(ids), 1)))
        owner, bary = np.concatenate(owner), np.concatenate(bary)
        pts = np.einsum("qk,qkd->qd", bary, tri[owner])
        # corners and edge points are shared by neighbouring triangles: keep one of each (1 um grid)
        q = np.clip(np.round((pts + 1.0) * 1e6), 0, 2 ** 21 - 1).astype(np.int64)
        _, first = np.unique((q[:, 0] << 42) | (q[:, 1] << 21) | q[:, 2], return_index=True)
        return cls(owner=owner[first], bary=bary[first], res=res)

    def points(self, tri: np.ndarray) -> np.ndarray:
        """(q, 3) the points on the (m, 3, 3) triangles ``tri``."""
        return np.einsum("qk,qkd->qd", self.bary, tri[self.owner])

    def radius(self, tri: np.ndarray) -> float:
        """Bound on how far any point of ``tri`` lies from its nearest point: a grid of r steps
        has every point within one sub-triangle's longest edge of a grid point; a centroid,
        within its farthest corner."""
        edge = np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=-1).max(axis=1)
        to_corner = np.linalg.norm(tri - tri.mean(axis=1, keepdims=True), axis=-1).max(axis=1)
        return float(np.where(self.res > 0, edge / np.maximum(self.res, 1), to_corner).max())


def _pseudo_normals(v: np.ndarray, f: np.ndarray, fn: np.ndarray, other: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Angle-weighted vertex normals (n, 3), edge normals (m, 3, 3) and the face across each
    edge (m, 3): for face i, the edge opposite corner k gets the sum of the normals of the two
    faces sharing it. ``other``: that adjacency if known (:func:`_across`)."""
    tri = v[f]
    vn = np.zeros_like(v)
    for k in range(3):
        e1 = _unit(tri[:, (k + 1) % 3] - tri[:, k])
        e2 = _unit(tri[:, (k + 2) % 3] - tri[:, k])
        ang = np.arccos(np.clip((e1 * e2).sum(axis=1), -1.0, 1.0))
        np.add.at(vn, f[:, k], fn * ang[:, None])
    vn = _unit(vn)
    other = _across(f, len(v)) if other is None else other
    en = _unit(fn[:, None, :] + fn[other])
    return vn, en, other


def _across(f: np.ndarray, n_vertices: int) -> np.ndarray:
    """(m, 3) the face across the edge opposite each corner of each of the (m, 3) faces."""
    m, nv = len(f), n_vertices + 1
    a = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])  # edge opposite corner 0, 1, 2
    b = np.concatenate([f[:, 2], f[:, 0], f[:, 1]])
    key = a * nv + b
    order = np.argsort(key)
    j = np.searchsorted(key[order], b * nv + a)
    return (order[np.clip(j, 0, len(order) - 1)] % m).reshape(3, m).T


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


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


_LAYOUTS: dict[tuple, "_SurfaceLayout"] = {}


@dataclass(frozen=True)
class _SurfaceLayout:
    """What a :class:`HeadSurface` derives from its mesh's topology and a reference shape: the
    sample patterns of its point clouds and the face adjacency. Cached per (mesh, reference
    shape), so every identity of one head asset is sampled the same way (and a head's surface
    costs a few einsums and KD-tree builds, not a re-layout).

    coarse : indices into the dense samples, about ``_COARSE_SPACING`` apart (one per voxel of
    that size on the reference) · rep : (q,) for each dense sample, the position in ``coarse``
    of its voxel's representative (so on any shape, a dense sample's distance to it bounds its
    distance to the nearest coarse sample).
    """

    dense: _SpreadLayout
    coarse: np.ndarray
    rep: np.ndarray
    exact: _SpreadLayout
    across: np.ndarray

    @classmethod
    def of(cls, faces: np.ndarray, reference: np.ndarray, extrude: float, cache: bool = True
           ) -> "_SurfaceLayout":
        """The layout of (m, 3) ``faces`` (open, as given to :class:`HeadSurface`) on the (n, 3)
        ``reference`` shape; ``cache``: keep it for later surfaces of the same mesh."""
        f = np.ascontiguousarray(faces, np.int64)
        r = np.ascontiguousarray(reference, np.float64)
        key = (hash(f.tobytes()), hash(r.tobytes()), len(r), float(extrude)) if cache else None
        if key in _LAYOUTS:
            return _LAYOUTS[key]
        v, cf = cap_boundary(r, f, extrude=extrude)
        tri = v[cf]
        added = np.arange(len(cf)) >= len(f)
        spacing = np.where(added, 2 * _DENSE_SPACING, _DENSE_SPACING)
        dense = _SpreadLayout.of(tri, spacing, spacing, by_area=True)
        cell = np.floor(dense.points(tri) / _COARSE_SPACING).astype(np.int64)
        _, coarse, rep = np.unique(cell, axis=0, return_index=True, return_inverse=True)
        out = cls(dense=dense, coarse=coarse, rep=rep.ravel(), exact=_SpreadLayout.of(tri, _SPACING, 2 * _SPACING),
                  across=_across(cf, len(v)))
        if cache:
            _LAYOUTS[key] = out
        return out


class HeadSurface:
    """A closed triangle surface with nearest-point queries.

    vertices : (n, 3) float64 metres, head frame · faces : (m, 3) int64, counter-clockwise
    seen from outside: the skin part of the head, its open cut extruded ``extrude`` metres
    down and capped (see :func:`cap_boundary`). reference : optional (n, 3) canonical shape of
    the same mesh (the neutral head): its sample layout is cached and reused, so every
    identity is sampled alike and building a surface is cheap.
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, extrude: float = TORSO_M,
                 reference: np.ndarray | None = None):
        layout = _SurfaceLayout.of(faces, vertices if reference is None else reference, extrude,
                                   cache=reference is not None)
        self.vertices, self.faces = cap_boundary(vertices, faces, extrude=extrude)
        self.normals = vertex_normals(self.vertices, self.faces)
        tri = self.vertices[self.faces]
        self._a, self._b, self._c = tri[:, 0], tri[:, 1], tri[:, 2]
        fn = np.cross(self._b - self._a, self._c - self._a)
        self._fn = fn / np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-30)
        self._layout = layout
        self._exact_tree: cKDTree | None = None  # built on the first exact query
        self._vertex_pn, self._edge_pn, other = _pseudo_normals(self.vertices, self.faces, self._fn,
                                                                layout.across)
        # faces at a crease (an edge folding by more than 50 degrees): there the fast query's
        # tangent-plane distance can be wrong, so exact pushes re-measure points near them
        fold = (self._fn[:, None, :] * self._fn[other]).sum(-1) < np.cos(np.radians(50.0))
        crease_vertex = np.zeros(len(self.vertices), bool)
        crease_vertex[self.faces[fold.any(axis=1)].ravel()] = True
        self.face_near_crease = crease_vertex[self.faces].any(axis=1)
        # the fast query: a dense cloud of surface samples carrying their smooth normals (the
        # added torso prism, where only long hair lies, more sparsely) ...
        dense = layout.dense
        self._dense, self._dense_face, self._dense_bary = dense.points(tri), dense.owner, dense.bary
        dn = np.einsum("qk,qkd->qd", self._dense_bary, self.normals[self.faces[self._dense_face]])
        self._dense_normal = dn / np.maximum(np.linalg.norm(dn, axis=1, keepdims=True), 1e-20)
        self._dense_tree = cKDTree(self._dense, balanced_tree=False)
        self._dense_rho = dense.radius(tri)
        # ... and a coarse one (a subset of the dense samples) whose planes tell inside from
        # outside for points far from the skin. No surface point is more than ``_coarse_rho``
        # from a coarse sample (within the dense rho of a dense sample, which is as far from its
        # voxel's representative as measured here), so a far point is at least d_coarse - rho deep
        c = layout.coarse
        self._coarse, self._coarse_normal = self._dense[c], self._dense_normal[c]
        gap = np.linalg.norm(self._dense - self._coarse[layout.rep], axis=1).max()
        self._coarse_rho = float(gap) + self._dense_rho
        self._coarse_face_normal = self._fn[self._dense_face[c]]
        self._coarse_tree = cKDTree(self._coarse, balanced_tree=False)
        self._centroid = self.vertices.mean(axis=0)

    @classmethod
    def from_head(cls, head, vertices: np.ndarray) -> "HeadSurface":
        """The skin of ``head`` (a :class:`~facefarm.pipeline.head_model.HeadModel`) at ``vertices`` (V, 3)."""
        skin = head.part_names.index("skin")
        return cls(np.asarray(vertices, np.float64), np.asarray(head.faces[head.face_part == skin], np.int64),
                   reference=np.asarray(head.neutral, np.float64))

    def nearest(self, points: np.ndarray) -> Nearest:
        """Nearest surface point of each of the (n, 3) ``points``."""
        p = np.asarray(points, np.float64).reshape(-1, 3)
        if len(p) > _CHUNK:
            # in chunks: the (n, candidates, 3) temporaries stay in cache
            parts = [self.nearest(p[i:i + _CHUNK]) for i in range(0, len(p), _CHUNK)]
            return Nearest(*(np.concatenate([getattr(r, f) for r in parts])
                             for f in ("point", "face", "bary", "normal", "distance")))
        k = min(_CANDIDATES, len(self.faces))
        if self._exact_tree is None:
            exact = self._layout.exact
            self._owner = exact.owner
            self._exact_tree = cKDTree(exact.points(self.vertices[self.faces]), balanced_tree=False)
        _, near = self._exact_tree.query(p, k=k)
        cand = self._owner[near.reshape(len(p), k)]
        q, bary = closest_on_triangles(p[:, None, :], self._a[cand], self._b[cand], self._c[cand])
        off = p[:, None, :] - q
        d2 = (off ** 2).sum(-1)
        best = d2.argmin(axis=1)
        rows = np.arange(len(p))
        face = cand[rows, best]
        q, bary, off = q[rows, best], bary[rows, best], off[rows, best]
        n = (bary[:, :, None] * self.normals[self.faces[face]]).sum(axis=1)
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-20)
        dist = np.linalg.norm(off, axis=1)
        # inside/outside from the angle-weighted pseudo-normal of the nearest feature (face,
        # edge or vertex), which is always right for a closed mesh (Baerentzen & Aanaes 2005)
        eps = 1e-9
        zero = bary < eps
        pn = self._fn[face].copy()
        on_edge = zero.sum(axis=1) == 1
        pn[on_edge] = self._edge_pn[face[on_edge], zero[on_edge].argmax(axis=1)]
        on_vertex = zero.sum(axis=1) >= 2
        pn[on_vertex] = self._vertex_pn[self.faces[face[on_vertex], (~zero[on_vertex]).argmax(axis=1)]]
        sign = np.where((off * pn).sum(axis=1) < 0, -1.0, 1.0)
        return Nearest(point=q, face=face, bary=bary, normal=n, distance=sign * dist)

    def query(self, points: np.ndarray, within: float = FAR_M) -> Nearest:
        """Fast approximate :meth:`nearest`: the nearest of ~2 mm surface samples, with the
        distance measured along that sample's smooth normal (the tangent-plane distance).

        Only points within ``within`` metres of the skin are measured exactly so; farther ones
        get the side from the nearest ~8 mm samples' planes: outside ones are reported at +inf
        (nothing here needs more, and a fine search from far away is slow), inside ones at a
        distance that underestimates their depth, with that sample's normal.
        """
        p = np.asarray(points, np.float64).reshape(-1, 3)
        n = np.empty_like(p)
        d = np.empty(len(p))
        face = np.full(len(p), -1)
        bary = np.full((len(p), 3), 1.0 / 3.0)
        # bounded searches: a point within ``within`` of the skin has a dense sample within
        # ``within + rho``, and a small search sphere keeps the search cheap. Most of the skin is
        # sampled every ~2 mm: search that far first, then the misses with the sparse prism's rho;
        # what is still not found is farther than ``within`` from the skin
        dd, i = self._dense_tree.query(p, distance_upper_bound=within + 2 * _DENSE_SPACING)
        miss = np.flatnonzero(~np.isfinite(dd))
        if len(miss):
            dd[miss], i[miss] = self._dense_tree.query(p[miss], distance_upper_bound=within + self._dense_rho)
        close = np.isfinite(dd)
        near, i = np.flatnonzero(close), i[close]
        if len(near):
            n[near] = self._dense_normal[i]
            d[near] = ((p[near] - self._dense[i]) * n[near]).sum(axis=1)
            face[near], bary[near] = self._dense_face[i], self._dense_bary[i]
        rest = np.flatnonzero(~close)
        if len(rest):
            # inside or outside: the majority of the four nearest coarse samples' planes decides
            # (one sample's normal can mislead in a crease)
            dcs, ics = self._coarse_tree.query(p[rest], k=4, distance_upper_bound=_COARSE_REACH)
            known = np.isfinite(dcs)
            j = np.where(known, ics, 0)
            side = ((p[rest, None, :] - self._coarse[j]) * self._coarse_face_normal[j]).sum(-1)
            w = np.where(known, 1.0 / np.maximum(dcs, 1e-6), 0.0)
            inside = known[:, 0] & ((w * np.sign(side)).sum(axis=1) < 0)
            j0 = j[:, 0]
            n[rest] = np.where(inside[:, None], self._coarse_normal[j0], _unit(p[rest] - self._centroid))
            d[rest] = np.where(inside, -np.maximum(dcs[:, 0] - self._coarse_rho, within), np.inf)
        q = p - np.where(np.isfinite(d), d, 0.0)[:, None] * n
        return Nearest(point=q, face=face, bary=bary, normal=n, distance=d)

    def push_out(self, points: np.ndarray, offset: np.ndarray | float, iterations: int = 24,
                 exact: bool = False) -> np.ndarray:
        """Points moved out to at least ``offset`` metres outside the surface ((n,) or scalar).

        A point closer than ``offset`` (or inside) moves along the normal of its nearest
        surface sample (:meth:`query`) to ``offset``; later passes (on the few points still too
        close) settle those that landed near another part, as in a crease between two walls.
        ``exact``: flagged points near a crease (ears, lids, where the shoulders are cut) are
        measured and moved with :meth:`nearest` (slower, but right where the fast query errs).
        Passes stop when the total shortfall no longer shrinks by 5 % (points held between two
        walls), or after ``iterations``.
        """
        p = np.asarray(points, np.float64).reshape(-1, 3).copy()
        off = np.broadcast_to(np.asarray(offset, np.float64), (len(p),))
        todo = np.arange(len(p))
        within = float(off.max()) + 1e-4
        short_before = np.inf
        for _ in range(iterations):
            nr = self.query(p[todo], within)
            if exact:
                # the fast distance is within ~2 mm of the truth: confirm the doubtful ones
                check = (nr.distance < off[todo] + _FAST_ERROR_M) & (nr.face >= 0)
                check[check] = self.face_near_crease[nr.face[check]]
                if check.any():
                    ex = self.nearest(p[todo[check]])
                    d = np.where(np.isfinite(nr.distance), nr.distance, 0.0)
                    n = nr.normal.copy()
                    d[check] = ex.distance
                    away = (p[todo[check]] - ex.point) * np.sign(ex.distance)[:, None]
                    ln = np.linalg.norm(away, axis=1, keepdims=True)
                    n[check] = np.where(ln > 1e-9, away / np.maximum(ln, 1e-30), ex.normal)
                    nr = Nearest(point=nr.point, face=nr.face, bary=nr.bary, normal=n,
                                 distance=np.where(check, d, nr.distance))
            bad = nr.distance < off[todo]
            if not bad.any():
                break
            # the few points still too close after several passes are either creeping out of a
            # fold (keep going) or caught between two walls that both want them (stop: no gain)
            short = float(np.minimum(off[todo][bad] - nr.distance[bad], 1.0).sum())
            if short > 0.95 * short_before:
                break
            short_before = short
            todo = todo[bad]
            p[todo] += nr.normal[bad] * (off[todo] - nr.distance[bad])[:, None]
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
        return p, self.surface.query(p[None]).normal[0]
