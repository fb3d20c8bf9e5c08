"""Point-to-triangle geometry shared by the fitters (hair collision, glasses, tools).

Pure numpy over broadcast arrays; no mesh structure, no state.
"""

from __future__ import annotations

import numpy as np

from facefarm.geometry import vectors


def scatter_add(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """(n, d) sums of the (k, d) ``values`` rows into rows ``index`` (k,) (``np.add.at``, by bincount)."""
    return np.stack([np.bincount(index, weights=values[:, j], minlength=n) for j in range(values.shape[1])], axis=1)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(n, 3) float64 unit vertex normals of a triangle mesh: the sum of its faces' normals,
    each weighted by its area (or by ``weights`` (m, 3) per face corner, on unit face
    normals); zero for vertices no face uses."""
    v, f = np.asarray(vertices, np.float64), np.asarray(faces, np.int64)
    fn = vectors.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    if weights is None:
        corner = np.repeat(fn, 3, axis=0)
    else:
        unit = vectors.unit(fn, 1e-30)
        corner = np.repeat(unit, 3, axis=0) * np.asarray(weights, np.float64).reshape(-1, 1)
    out = scatter_add(f.ravel(), corner, len(v))
    norm = vectors.length(out, True)
    return np.divide(out, norm, out=np.zeros_like(out), where=norm > 0)


def closest_on_triangles(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest points on triangles (a, b, c) to points ``p``; all (..., 3) float64, broadcast.

    Returns (closest (..., 3), barycentric (..., 3)). Ericson, *Real-Time Collision
    Detection* 5.1.5, written branch-free over numpy arrays.
    """
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = vectors.dot(ab, ap), vectors.dot(ac, ap)
    bp = p - b
    d3, d4 = vectors.dot(ab, bp), vectors.dot(ac, bp)
    cp = p - c
    d5, d6 = vectors.dot(ab, cp), vectors.dot(ac, cp)
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


def subdivide(
    vertices: np.ndarray, faces: np.ndarray, attributes: dict[str, np.ndarray], levels: int
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Split every triangle in four at its edge midpoints, ``levels`` times (flat: the new
    vertices lie in the old triangles).

    vertices : (n, 3) float; faces : (f, 3) int; attributes : name -> (n, k) per-vertex values,
    interpolated linearly (normals come back unnormalised). Returns (vertices (m, 3), faces
    (f * 4**levels, 3), attributes (m, k)); face ``i`` becomes faces ``i * 4**levels`` to
    ``(i + 1) * 4**levels - 1``.
    """
    from trimesh import remesh

    v, f = np.asarray(vertices, np.float64), np.asarray(faces, np.int64)
    attrs = {k: np.asarray(a, np.float64) for k, a in attributes.items()}
    for _ in range(levels):
        v, f, attrs = remesh.subdivide(v, f, vertex_attributes=attrs)
    return v, f, attrs
