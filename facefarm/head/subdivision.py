"""Catmull-Clark subdivision of the head's quads as a fixed sparse matrix, plus its parametrisation.

One level turns every selected quad into four; each new vertex is a fixed linear combination
of old ones, so the whole step is a sparse matrix ``S`` with ``fine = S @ coarse`` for any
identity or expression of the coarse mesh. Rules (Catmull & Clark 1978, with the usual
boundary rules of a B-spline curve along open edges):

* face point: the mean of the quad's corners;
* edge point: (a + b + F1 + F2) / 4 inside, the midpoint (a + b) / 2 on an open edge;
* vertex point: (Q + 2 R + (n - 3) P) / n inside (Q the mean of the n face points around,
  R the mean of the n edge midpoints), (a + 6 P + b) / 8 on an open edge.

Fine quads are ``[corner, edge point next, face point, edge point previous]``; they keep the
orientation of their parent. Vertex ids of the coarse mesh survive as the first ids of the
fine mesh (as their vertex points), so unselected parts (eyeballs, teeth) pass through as
identity rows and keep their ids.

Parametrisation: a quad ``[c0, c1, c2, c3]`` is the unit square with c0 = (0, 0), c1 = (1, 0),
c2 = (1, 1), c3 = (0, 1); fine quad ``i`` of a parent is the quarter at corner ``i``, with its
own unit square in the same layout. :func:`locate` follows a point (quad, u, v) down the levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: (4, 2) parameter of each quad corner, and the directions to the next and previous corner
_CORNER = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
_NEXT = np.roll(_CORNER, -1, axis=0) - _CORNER
_PREV = np.roll(_CORNER, 1, axis=0) - _CORNER


@dataclass(frozen=True)
class Level:
    """One Catmull-Clark step.

    ``S`` (V_fine, V_coarse) float64 CSR: fine = S @ coarse. ``quads`` (Q_fine, 4) int64 fine quads
    (unselected coarse quads copied unchanged, triangles keep their repeated last index);
    ``parent`` (Q_fine,) the coarse quad of each; ``corner`` (Q_fine,) the parent corner each
    fine quad sits at (-1 for copied quads); ``selected`` (Q_fine,) whether the fine quad came
    from subdivision; ``mirror`` (V_fine,) the fine vertex each becomes under x -> -x.
    """

    S: sp.csr_matrix
    quads: np.ndarray
    parent: np.ndarray
    corner: np.ndarray
    selected: np.ndarray
    mirror: np.ndarray


def _edges(quads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique undirected edges of true quads: ((E, 2) sorted vertex pairs, (Q, 4) edge id of side i -> i+1)."""
    a = quads.ravel()
    b = np.roll(quads, -1, axis=1).ravel()
    pairs = np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)
    edges, inverse = np.unique(pairs, axis=0, return_inverse=True)
    return edges, inverse.reshape(-1, 4)


def catmull_clark(quads: np.ndarray, n_vertices: int, select: np.ndarray, mirror: np.ndarray) -> Level:
    """One Catmull-Clark level over the ``select``-ed quads of a mesh with ``n_vertices`` vertices.

    quads : (Q, 4) int vertex ids, counter-clockwise seen from outside · select : (Q,) bool; the
    selected quads must be true quads (no repeated index) and share no vertex with the others ·
    mirror : (n_vertices,) int, the vertex each becomes under x -> -x.
    """
    quads = np.asarray(quads, np.int64)
    select = np.asarray(select, bool)
    sq = quads[select]
    if (sq == np.roll(sq, -1, axis=1)).any():
        raise ValueError("Catmull-Clark here needs true quads: a selected face repeats a vertex")
    if np.intersect1d(np.unique(sq), np.unique(quads[~select])).size:
        raise ValueError("subdivided quads share vertices with copied ones")
    nq, n = len(sq), n_vertices
    edges, side = _edges(sq)
    ne = len(edges)
    counts = np.bincount(side.ravel(), minlength=ne)
    if (counts > 2).any():
        raise ValueError(f"{int((counts > 2).sum())} non-manifold edges among the subdivided quads")
    open_edge = counts == 1

    def rows(r, c, w, shape):
        return sp.csr_matrix((np.asarray(w, np.float64), (np.asarray(r), np.asarray(c))), shape=shape)

    # face points: (nq, n)
    F = rows(np.repeat(np.arange(nq), 4), sq.ravel(), np.full(4 * nq, 0.25), (nq, n))
    # edge midpoints: (ne, n)
    M = rows(np.repeat(np.arange(ne), 2), edges.ravel(), np.full(2 * ne, 0.5), (ne, n))
    # faces around each edge: (ne, nq) incidence
    EF = rows(side.ravel(), np.repeat(np.arange(nq), 4), np.ones(4 * nq), (ne, nq))
    inner = sp.diags((~open_edge).astype(np.float64))
    E = inner @ (0.5 * M + 0.25 * (EF @ F)) + sp.diags(open_edge.astype(np.float64)) @ M

    # vertex points
    used = np.unique(sq)
    VF = rows(sq.ravel(), np.repeat(np.arange(nq), 4), np.ones(4 * nq), (n, nq))  # vertex-face incidence
    VE = rows(edges.ravel(), np.repeat(np.arange(ne), 2), np.ones(2 * ne), (n, ne))  # vertex-edge incidence
    valence = np.asarray(VE.sum(axis=1)).ravel()
    n_faces = np.asarray(VF.sum(axis=1)).ravel()
    on_open = np.zeros(n, bool)
    on_open[edges[open_edge].ravel()] = True
    nv = np.maximum(valence, 1)
    Q = sp.diags(1.0 / np.maximum(n_faces, 1)) @ VF @ F
    R = sp.diags(1.0 / nv) @ VE @ M
    interior = sp.diags(1.0 / nv) @ (Q + 2.0 * R + sp.diags(nv - 3.0))
    # open edge: (a + 6 P + b) / 8 with a, b the neighbours along open edges
    oe = edges[open_edge]
    B = rows(
        np.concatenate([oe[:, 0], oe[:, 1]]), np.concatenate([oe[:, 1], oe[:, 0]]), np.full(2 * len(oe), 0.125), (n, n)
    ) + sp.diags(np.where(on_open, 0.75, 0.0))
    keep = np.ones(n, bool)
    keep[used] = False
    V = sp.diags((~on_open & ~keep).astype(np.float64)) @ interior + B + sp.diags(keep.astype(np.float64))
    S = sp.vstack([V, E, F]).tocsr()
    S.eliminate_zeros()
    S.sort_indices()

    # fine quads: [corner i, edge point (i, i+1), face point, edge point (i-1, i)]
    e0 = n + side
    f0 = n + ne + np.arange(nq)
    fine = np.stack([sq, e0, np.repeat(f0[:, None], 4, axis=1), np.roll(e0, 1, axis=1)], axis=2).reshape(-1, 4)
    parents_sel = np.flatnonzero(select)
    copied = np.flatnonzero(~select)
    out_quads = np.concatenate([fine, quads[copied]])
    parent = np.concatenate([np.repeat(parents_sel, 4), copied])
    corner = np.concatenate([np.tile(np.arange(4), nq), np.full(len(copied), -1)])
    selected = np.concatenate([np.ones(4 * nq, bool), np.zeros(len(copied), bool)])
    order = np.lexsort((corner, parent))  # children stay in their parent's order
    return Level(
        S=S,
        quads=out_quads[order],
        parent=parent[order],
        corner=corner[order],
        selected=selected[order],
        mirror=_fine_mirror(np.asarray(mirror), edges, sq, n),
    )


def _fine_mirror(mirror: np.ndarray, edges: np.ndarray, quads: np.ndarray, n: int) -> np.ndarray:
    """(V_fine,) mirror partner of every fine vertex, from the coarse mirror table."""

    def index(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
        lookup = {tuple(k): i for i, k in enumerate(keys.tolist())}
        out = np.array([lookup.get(tuple(k), -1) for k in wanted.tolist()], np.int64)
        if (out < 0).any():
            raise ValueError("the subdivided quads are not mirror-symmetric")
        return out

    me = np.sort(mirror[edges], axis=1)
    qk = np.sort(quads, axis=1)
    mq = np.sort(mirror[quads], axis=1)
    return np.concatenate([mirror[:n], n + index(edges, me), n + len(edges) + index(qk, mq)])


def locate(level: Level, quad: np.ndarray, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Follow points (coarse quad, (u, v)) to the fine quad that holds them and its own (u, v).

    quad : (k,) int coarse quad ids · uv : (k, 2) float in the unit square. Copied quads keep
    their point. Returns ((k,) fine quad ids, (k, 2) fine (u, v)).
    """
    quad = np.asarray(quad, np.int64)
    uv = np.asarray(uv, np.float64)
    # the children of coarse quad q are a contiguous run in the fine list
    first = np.searchsorted(level.parent, quad)
    sub = np.where(uv[:, 0] < 0.5, np.where(uv[:, 1] < 0.5, 0, 3), np.where(uv[:, 1] < 0.5, 1, 2))
    child = np.where(level.selected[first], first + sub, first)
    d = uv - _CORNER[sub]
    local = 2.0 * np.stack([(d * _NEXT[sub]).sum(1), (d * _PREV[sub]).sum(1)], axis=1)
    local = np.where(level.selected[first][:, None], np.clip(local, 0.0, 1.0), uv)
    return child, local


def corner_uv(corner: np.ndarray) -> np.ndarray:
    """(k, 2) parameter of quad corners 0..3."""
    return _CORNER[np.asarray(corner)]


def triangulate(quads: np.ndarray, selected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split quads into triangles: ((T, 3) triangles, (T,) source quad).

    Subdivided quads ``[corner, edge, face, edge]`` are cut along their edge-point diagonal, a
    choice the mirror image makes too, so the triangulation is symmetric; copied quads use
    the 0-2 diagonal of the asset, and a repeated last index makes one triangle.
    """
    q = np.asarray(quads, np.int64)
    sel = np.asarray(selected, bool)
    is_tri = ~sel & (q[:, 2] == q[:, 3])
    first = np.where(sel[:, None], q[:, [0, 1, 3]], q[:, [0, 1, 2]])
    second = np.where(sel[:, None], q[:, [1, 2, 3]], q[:, [0, 2, 3]])
    two = np.flatnonzero(~is_tri)
    tris = np.concatenate([first, second[two]])
    src = np.concatenate([np.arange(len(q)), two])
    order = np.argsort(src, kind="stable")
    return tris[order], src[order]


def quad_point_to_triangle(uv: np.ndarray, selected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of a quad's triangles (0 or 1, as :func:`triangulate` orders them) holds (u, v), and
    the (k, 3) barycentric weights on that triangle's corners."""
    s, t = np.asarray(uv, np.float64).T
    sel = np.asarray(selected, bool)
    # subdivided: (c0, c1, c3) below the diagonal s + t = 1, (c1, c2, c3) above
    lower = s + t <= 1.0
    w_sel = np.where(lower[:, None], np.stack([1 - s - t, s, t], 1), np.stack([1 - t, s + t - 1, 1 - s], 1))
    # copied: (c0, c1, c2) below the diagonal s = t, (c0, c2, c3) above
    below = t <= s
    w_cp = np.where(below[:, None], np.stack([1 - s, s - t, t], 1), np.stack([1 - t, s, t - s], 1))
    which = np.where(sel, np.where(lower, 0, 1), np.where(below, 0, 1))
    return which, np.where(sel[:, None], w_sel, w_cp)
