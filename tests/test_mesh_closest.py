"""Exact closest points (geometry.mesh_bvh) checked against brute force over every triangle; the
answer must not depend on the tree's shape (which identity a process built it from)."""

from __future__ import annotations

import numpy as np
import trimesh
from test_hair import _winding

from facefarm.compose.hair.collision import HeadSurface
from facefarm.geometry import mesh_closest
from facefarm.geometry.mesh_closest import ClosestPoints
from facefarm.geometry.triangles import closest_on_triangles


def _bumpy_sphere():
    m = trimesh.creation.icosphere(subdivisions=3, radius=0.1)
    v = m.vertices * (1.0 + 0.15 * np.sin(7 * m.vertices[:, [0]] / 0.1) * np.cos(5 * m.vertices[:, [1]] / 0.1))
    return np.asarray(v, np.float64), np.asarray(m.faces, np.int64)


def test_closest_points_match_brute_force():
    v, f = _bumpy_sphere()
    rng = np.random.default_rng(3)
    p = rng.normal(size=(300, 3)) * 0.08
    c = ClosestPoints(v, f).query(p)
    tri = v[f]
    q, _ = closest_on_triangles(p[:, None, :], tri[None, :, 0], tri[None, :, 1], tri[None, :, 2])
    brute = np.linalg.norm(p[:, None, :] - q, axis=-1).min(axis=1)
    assert np.abs(c.distance - brute).max() < 1e-9
    # the face and barycentric coordinates give back the closest point
    again = np.einsum("nk,nkd->nd", c.bary, tri[c.face])
    assert np.abs(again - c.point).max() < 1e-9
    assert np.allclose(c.bary.sum(axis=1), 1.0) and (c.bary >= 0).all()


def test_head_surface_sign_matches_winding_number():
    v, f = _bumpy_sphere()
    surface = HeadSurface(v, f)  # closed already: nothing to cap
    rng = np.random.default_rng(4)
    p = rng.normal(size=(400, 3)) * 0.07
    nr = surface.query(p)
    inside = _winding(p, v, f) > 0.5
    assert inside.any() and (~inside).any()
    assert ((nr.distance < 0) == inside).all()
    # pushed out: every point ends at least the offset outside
    out = surface.push_out(p, 0.002)
    assert surface.query(out).distance.min() >= 0.002 - 1e-9


def _brute(p, v, f):
    """(squared distance, face) per point: the smallest squared distance, lowest face among equals."""
    tri = v[f]
    q, _ = closest_on_triangles(p[:, None, :], tri[None, :, 0], tri[None, :, 1], tri[None, :, 2])
    d2 = ((p[:, None, :] - q) ** 2).sum(-1)
    return d2.min(axis=1), d2.argmin(axis=1)  # argmin takes the first (lowest) index among equals


def test_a_refitted_tree_answers_like_a_fresh_one():
    """The tree's shape comes from the first mesh seen with these faces; a deformed mesh (another
    identity) reuses it with new boxes. Same faces, points and distances as a tree built fresh on
    the deformed mesh, and as brute force."""
    v, f = _bumpy_sphere()
    w = v * np.array([1.3, 0.8, 1.0]) + 0.02 * np.sin(40 * v[:, [1, 2, 0]])  # a different "identity"
    rng = np.random.default_rng(5)
    p = np.concatenate(
        [w[rng.integers(0, len(w), 200)] + rng.normal(size=(200, 3)) * 0.003, rng.normal(size=(200, 3)) * 0.1]
    )
    mesh_closest._SHAPES.clear()
    ClosestPoints(v, f)  # shape built from v
    refitted = ClosestPoints(w, f).query(p)  # reused for w
    mesh_closest._SHAPES.clear()
    fresh = ClosestPoints(w, f).query(p)  # shape built from w
    assert len(mesh_closest._SHAPES) == 1
    for a, b in (
        (refitted.face, fresh.face),
        (refitted.point, fresh.point),
        (refitted.distance, fresh.distance),
        (refitted.bary, fresh.bary),
    ):
        assert np.array_equal(a, b)
    d2, _ = _brute(p, w, f)
    assert np.abs(fresh.distance**2 - d2).max() < 1e-15


def test_ties_go_to_the_lowest_face_and_bary_marks_the_feature():
    """Points straight above a flat grid's vertices and edge midpoints are equally close to every
    triangle sharing that vertex or edge: the lowest face index wins, and the barycentric
    coordinates say vertex (two zeros) or edge (one zero)."""
    n = 6
    xs, ys = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n))
    v = np.stack([xs.ravel(), ys.ravel(), np.zeros(n * n)], axis=1)
    quads = [
        (i * n + j, i * n + j + 1, (i + 1) * n + j + 1, (i + 1) * n + j) for i in range(n - 1) for j in range(n - 1)
    ]
    f = np.array([t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))], np.int64)
    rng = np.random.default_rng(6)
    f = f[rng.permutation(len(f))]  # face order unrelated to position
    inner = v[(v[:, 0] > 0) & (v[:, 0] < 1) & (v[:, 1] > 0) & (v[:, 1] < 1)]
    above_vertex = inner + [0, 0, 0.05]
    edges = np.unique(np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1), axis=0)
    above_edge = 0.5 * (v[edges[:, 0]] + v[edges[:, 1]]) + [0, 0, 0.05]
    for pts, zeros in ((above_vertex, 2), (above_edge, 1)):
        c = ClosestPoints(v, f).query(pts)
        _, lowest = _brute(pts, v, f)
        assert np.array_equal(c.face, lowest)
        assert np.allclose(c.distance, 0.05)
        assert ((c.bary == 0).sum(axis=1) == zeros).all()


def test_bad_meshes_and_empty_queries():
    v, f = _bumpy_sphere()
    assert ClosestPoints(v, f).query(np.zeros((0, 3))).face.shape == (0,)
    empty = ClosestPoints(v, np.zeros((0, 3), np.int64))
    assert empty.query(np.zeros((0, 3))).distance.shape == (0,)
    try:
        empty.query(np.zeros((1, 3)))
    except ValueError as e:
        assert "without faces" in str(e)
    else:
        raise AssertionError("a query on a mesh without faces must fail")
