"""Exact closest points (libigl AABB) checked against brute force over every triangle."""

from __future__ import annotations

import numpy as np
import trimesh

from facefarm.pipeline.hair_surface import HeadSurface
from facefarm.pipeline.mesh_closest import ClosestPoints
from facefarm.pipeline.triangles import closest_on_triangles
from test_hair import _winding


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
