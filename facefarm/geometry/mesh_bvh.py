"""A bounding-volume hierarchy over a triangle mesh, compiled with numba: build, refit, closest points.

Identities share one topology, so a tree is built once per face array (median splits of
triangle centroids) and refitted to each identity's vertices: the boxes are recomputed,
the tree's shape is kept. A refitted tree can be looser than a fresh one but is never wrong.

Queries are exact and do not depend on the tree's shape: each point gets the triangle with
the smallest squared distance, and among equal ones the lowest face index (boxes are pruned
only when farther than the best so far by a margin: _SLACK, _TINY). So two processes that
built their trees from different identities return the same faces, bit for bit.

Speed (2026-11-23, the queries of 6 default samples replayed, 49k points a sample): 1.2 us a
point, 61 ms a sample, where libigl's AABB tree took ~100 ms plus ~22 ms of tree builds.
"""

from __future__ import annotations

import numba
import numpy as np

#: Triangles per leaf.
LEAF_SIZE = 4
_STACK = 64  # a median-split tree over m triangles is ~log2(m / LEAF_SIZE) deep
#: Boxes are pruned only when farther than the best triangle by this factor: a box's distance
#: and a triangle's on its boundary are rounded differently, and a triangle at the best distance
#: must never be skipped (it may hold the lower face index), whatever the tree's shape.
_SLACK = 1.0 + 1e-9
#: ... plus this much (m^2, a picometre squared), for points on the surface (best distance 0).
_TINY = 1e-24


@numba.njit(cache=True, nogil=True)
def build(centroids: np.ndarray, leaf_size: int):
    """Tree topology from (m, 3) triangle ``centroids``: (order (m,) the triangles in leaf order,
    left (N,) child node or -1 for a leaf, start (N,), count (N,) a leaf's range in ``order``).
    Node 0 is the root; a node's right child is ``left + 1``."""
    m = centroids.shape[0]
    order = np.arange(m)
    cap = 2 * m + 1  # a binary tree with at most m leaves
    left = np.full(cap, -1, np.int64)
    start = np.zeros(cap, np.int64)
    count = np.zeros(cap, np.int64)
    start[0], count[0] = 0, m
    n_nodes = 1
    stack = np.empty(cap, np.int64)
    stack[0] = 0
    top = 1
    while top > 0:
        top -= 1
        node = stack[top]
        s, c = start[node], count[node]
        if c <= leaf_size:
            continue
        lo = np.full(3, np.inf)
        hi = np.full(3, -np.inf)
        for i in range(s, s + c):
            for d in range(3):
                v = centroids[order[i], d]
                lo[d] = min(lo[d], v)
                hi[d] = max(hi[d], v)
        axis = 0
        for d in range(1, 3):
            if hi[d] - lo[d] > hi[axis] - lo[axis]:
                axis = d
        seg = order[s : s + c].copy()
        keys = np.empty(c)
        for i in range(c):
            keys[i] = centroids[seg[i], axis]
        # a stable sort keeps equal centroids in face order, so the tree is a function of its input
        order[s : s + c] = seg[np.argsort(keys, kind="mergesort")]
        half = c // 2
        a = n_nodes
        left[node] = a
        start[a], count[a] = s, half
        start[a + 1], count[a + 1] = s + half, c - half
        n_nodes += 2
        stack[top] = a
        stack[top + 1] = a + 1
        top += 2
    return order, left[:n_nodes].copy(), start[:n_nodes].copy(), count[:n_nodes].copy()


@numba.njit(cache=True, nogil=True)
def refit(
    vertices: np.ndarray, faces: np.ndarray, order: np.ndarray, left: np.ndarray, start: np.ndarray, count: np.ndarray
):
    """((N, 3) lower and (N, 3) upper box corners of every node, (m, 9) the corners of every
    triangle in leaf order) for these ``vertices``. Children always come after their parent, so
    one backward pass fills the inner nodes."""
    n = left.shape[0]
    lo = np.empty((n, 3))
    hi = np.empty((n, 3))
    corners = np.empty((order.shape[0], 9))
    for j in range(order.shape[0]):
        for k in range(3):
            for d in range(3):
                corners[j, 3 * k + d] = vertices[faces[order[j], k], d]
    for node in range(n - 1, -1, -1):
        if left[node] < 0:
            for d in range(3):
                lo[node, d] = np.inf
                hi[node, d] = -np.inf
            for j in range(start[node], start[node] + count[node]):
                for k in range(3):
                    for d in range(3):
                        v = corners[j, 3 * k + d]
                        lo[node, d] = min(lo[node, d], v)
                        hi[node, d] = max(hi[node, d], v)
        else:
            a = left[node]
            for d in range(3):
                lo[node, d] = min(lo[a, d], lo[a + 1, d])
                hi[node, d] = max(hi[a, d], hi[a + 1, d])
    return lo, hi, corners


@numba.njit(cache=True, nogil=True)
def _box_sqd(p, lo, hi, node):
    """Squared distance from point ``p`` to the box of ``node`` (0 inside)."""
    d = 0.0
    for k in range(3):
        if p[k] < lo[node, k]:
            d += (lo[node, k] - p[k]) ** 2
        elif p[k] > hi[node, k]:
            d += (p[k] - hi[node, k]) ** 2
    return d


@numba.njit(cache=True, nogil=True, inline="always")
def _closest_on_triangle(p0, p1, p2, t, j, out):
    """Closest point to (p0, p1, p2) on triangle ``j`` of the (m, 9) corner table ``t`` into
    ``out``; returns its squared distance. Ericson, *Real-Time Collision Detection* 5.1.5 (the
    same regions as :func:`~facefarm.geometry.triangles.closest_on_triangles`)."""
    a0, a1, a2 = t[j, 0], t[j, 1], t[j, 2]
    ab0, ab1, ab2 = t[j, 3] - a0, t[j, 4] - a1, t[j, 5] - a2
    ac0, ac1, ac2 = t[j, 6] - a0, t[j, 7] - a1, t[j, 8] - a2
    ap0, ap1, ap2 = p0 - a0, p1 - a1, p2 - a2
    d1 = ab0 * ap0 + ab1 * ap1 + ab2 * ap2
    d2 = ac0 * ap0 + ac1 * ap1 + ac2 * ap2
    if d1 <= 0.0 and d2 <= 0.0:
        out[0], out[1], out[2] = a0, a1, a2
    else:
        bp0, bp1, bp2 = ap0 - ab0, ap1 - ab1, ap2 - ab2
        d3 = ab0 * bp0 + ab1 * bp1 + ab2 * bp2
        d4 = ac0 * bp0 + ac1 * bp1 + ac2 * bp2
        cp0, cp1, cp2 = ap0 - ac0, ap1 - ac1, ap2 - ac2
        d5 = ab0 * cp0 + ab1 * cp1 + ab2 * cp2
        d6 = ac0 * cp0 + ac1 * cp1 + ac2 * cp2
        vc = d1 * d4 - d3 * d2
        vb = d5 * d2 - d1 * d6
        va = d3 * d6 - d5 * d4
        if d3 >= 0.0 and d4 <= d3:
            out[0], out[1], out[2] = t[j, 3], t[j, 4], t[j, 5]
        elif d6 >= 0.0 and d5 <= d6:
            out[0], out[1], out[2] = t[j, 6], t[j, 7], t[j, 8]
        elif vc <= 0.0 and d1 >= 0.0 and d3 <= 0.0:
            u = d1 / max(d1 - d3, 1e-30)
            out[0], out[1], out[2] = a0 + u * ab0, a1 + u * ab1, a2 + u * ab2
        elif vb <= 0.0 and d2 >= 0.0 and d6 <= 0.0:
            u = d2 / max(d2 - d6, 1e-30)
            out[0], out[1], out[2] = a0 + u * ac0, a1 + u * ac1, a2 + u * ac2
        elif va <= 0.0 and (d4 - d3) >= 0.0 and (d5 - d6) >= 0.0:
            u = (d4 - d3) / max((d4 - d3) + (d5 - d6), 1e-30)
            out[0] = t[j, 3] + u * (t[j, 6] - t[j, 3])
            out[1] = t[j, 4] + u * (t[j, 7] - t[j, 4])
            out[2] = t[j, 5] + u * (t[j, 8] - t[j, 5])
        else:
            den = va + vb + vc
            if abs(den) < 1e-30:
                den = 1e-30
            v = vb / den
            w = vc / den
            out[0] = a0 + ab0 * v + ac0 * w
            out[1] = a1 + ab1 * v + ac1 * w
            out[2] = a2 + ab2 * v + ac2 * w
    e0, e1, e2 = p0 - out[0], p1 - out[1], p2 - out[2]
    return e0 * e0 + e1 * e1 + e2 * e2


@numba.njit(cache=True, nogil=True, inline="always")
def _barycentric(q0, q1, q2, t, j, eps, out, i):
    """Row ``i`` of ``out``: barycentric coordinates of (q0, q1, q2) on triangle ``j`` of ``t``,
    clipped to the triangle, those below ``eps`` exactly 0 (the point is on an edge or a corner),
    summing to 1, so callers can tell which feature a closest point lies on."""
    v00, v01, v02 = t[j, 3] - t[j, 0], t[j, 4] - t[j, 1], t[j, 5] - t[j, 2]
    v10, v11, v12 = t[j, 6] - t[j, 0], t[j, 7] - t[j, 1], t[j, 8] - t[j, 2]
    v20, v21, v22 = q0 - t[j, 0], q1 - t[j, 1], q2 - t[j, 2]
    d00 = v00 * v00 + v01 * v01 + v02 * v02
    d01 = v00 * v10 + v01 * v11 + v02 * v12
    d11 = v10 * v10 + v11 * v11 + v12 * v12
    d20 = v20 * v00 + v21 * v01 + v22 * v02
    d21 = v20 * v10 + v21 * v11 + v22 * v12
    den = d00 * d11 - d01 * d01
    if not abs(den) > 1e-30:
        den = 1e-30
    v = (d11 * d20 - d01 * d21) / den
    w = (d00 * d21 - d01 * d20) / den
    b0, b1, b2 = max(1.0 - v - w, 0.0), max(v, 0.0), max(w, 0.0)
    b0 = 0.0 if b0 < eps else b0
    b1 = 0.0 if b1 < eps else b1
    b2 = 0.0 if b2 < eps else b2
    s = max(b0 + b1 + b2, 1e-30)
    out[i, 0], out[i, 1], out[i, 2] = b0 / s, b1 / s, b2 / s


@numba.njit(cache=True, nogil=True)
def closest(
    points: np.ndarray,
    corners: np.ndarray,
    order: np.ndarray,
    left: np.ndarray,
    start: np.ndarray,
    count: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    eps: float,
):
    """For (n, 3) ``points``: (squared distance (n,), face (n,), closest point (n, 3), its
    barycentric coordinates (n, 3), see :func:`_barycentric`). ``corners``: the (m, 9) corner
    table of :func:`refit`, in leaf order.

    Each point first measures the face its predecessor ended on (points come in strands and
    clouds, so that face is usually close), which prunes most of the tree from the start.
    Boxes carry their distance on the stack, so each is measured once."""
    n = points.shape[0]
    sqd = np.empty(n)
    face = np.empty(n, np.int64)
    q = np.empty((n, 3))
    bary = np.empty((n, 3))
    stack = np.empty(_STACK * 2, np.int64)
    stack_d = np.empty(_STACK * 2)
    cand = np.empty(3)
    hint = 0  # a position in leaf order
    for i in range(n):
        p = points[i]
        p0, p1, p2 = p[0], p[1], p[2]
        best = _closest_on_triangle(p0, p1, p2, corners, hint, cand)
        best_f = order[hint]
        best_j = hint
        q[i, 0], q[i, 1], q[i, 2] = cand[0], cand[1], cand[2]
        stack[0] = 0
        stack_d[0] = _box_sqd(p, lo, hi, 0)
        top = 1
        while top > 0:
            top -= 1
            if stack_d[top] > best * _SLACK + _TINY:
                continue
            node = stack[top]
            a = left[node]
            if a < 0:
                for j in range(start[node], start[node] + count[node]):
                    if j == hint:
                        continue
                    d = _closest_on_triangle(p0, p1, p2, corners, j, cand)
                    if d < best or (d == best and order[j] < best_f):
                        best, best_f, best_j = d, order[j], j
                        q[i, 0], q[i, 1], q[i, 2] = cand[0], cand[1], cand[2]
                continue
            # the nearer child goes on top of the stack, so it is searched first
            da = _box_sqd(p, lo, hi, a)
            db = _box_sqd(p, lo, hi, a + 1)
            if da <= db:
                stack[top], stack_d[top], stack[top + 1], stack_d[top + 1] = a + 1, db, a, da
            else:
                stack[top], stack_d[top], stack[top + 1], stack_d[top + 1] = a, da, a + 1, db
            top += 2
        sqd[i] = best
        face[i] = best_f
        _barycentric(q[i, 0], q[i, 1], q[i, 2], corners, best_j, eps, bary, i)
        hint = best_j
    return sqd, face, q, bary
