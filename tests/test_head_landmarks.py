"""Landmark definitions: on the surface, in iBUG order, mirror-symmetric, following the face."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facefarm import paths
from facefarm.head.model import IdentityParams
from facefarm.scene.classes import CLASS_IDS, landmark_layout

MIRROR_X = np.array([-1.0, 1.0, 1.0])
FLIP = np.array(landmark_layout()["flip_index"])


def test_names_follow_the_schema(head):
    assert list(head.landmark_names) == landmark_layout()["names"]
    doc = json.loads((paths.ASSETS / "landmarks" / "landmarks70.json").read_text())
    assert [p["name"] for p in doc["points"]] == landmark_layout()["names"]


def test_definitions_are_barycentric_points_on_mesh_faces(head):
    idx, w = head._a["landmark_index"], head._a["landmark_weight"]
    assert idx.shape == (70, 3) and w.shape == (70, 3)
    assert (w >= -1e-6).all() and np.allclose(w.sum(axis=1), 1.0, atol=1e-5)
    face_sets = [set(q) for q in head.quads.tolist()]
    for k in range(68):
        used = {int(i) for i, x in zip(idx[k], w[k]) if x > 1e-6}
        assert any(used <= q for q in face_sets), head.landmark_names[k]  # within one face
        assert (head.vertex_part[idx[k]] == 0).all()  # on skin
    for k, e in ((68, 0), (69, 1)):  # pupils: the front pole of each eyeball
        assert idx[k, 0] == head.eyes_slice(e).start and w[k, 0] == 1.0


def test_definitions_follow_the_deformed_mesh_and_the_render_surface_stays_near(head):
    """The coarse definitions stay on their triangles through any deformation; the rendered points
    (the same parameter on the subdivided surface, see test_head_surface) are within a smoothing's reach."""
    v = head.shape(IdentityParams(age_years=60, weight=0.8)).astype(np.float64)
    v = v + head.expression_offsets(v, {"jawOpen": 0.5, "mouthSmileLeft": 0.7})
    idx, w = head._a["landmark_index"], head._a["landmark_weight"].astype(np.float64)
    coarse = np.einsum("kc,kcd->kd", w, v[idx])
    for k in range(70):
        tri = v[idx[k]]
        n = np.cross(tri[1] - tri[0], tri[2] - tri[0])
        if np.linalg.norm(n) > 1e-12:
            assert abs((coarse[k] - tri[0]) @ n / np.linalg.norm(n)) < 1e-7
    for s in head.surfaces:
        pts = head.landmark_points(v, s)
        assert pts.shape == (70, 3)
        moved = np.linalg.norm(pts - coarse, axis=1)
        assert np.median(moved) < 0.0005 and moved.max() < 0.002, (s.level, moved.max())


def test_left_and_right_points_mirror_each_other(head):
    for v in (head.neutral, head.shape(IdentityParams(age_years=8, gender=0.1))):
        pts = head.landmark_points(v)
        assert np.abs(pts[FLIP] * MIRROR_X - pts).max() < 2e-4  # MakeHuman's 0.1 mm quantisation
    idx = head._a["landmark_index"]
    w = head._a["landmark_weight"]
    for k in range(68):  # exact by construction: mirrored vertex ids, same weights
        j = FLIP[k]
        a = {(int(i), round(float(x), 5)) for i, x in zip(idx[k], w[k]) if x > 1e-6}
        b = {(int(head.mirror[i]), round(float(x), 5)) for i, x in zip(idx[j], w[j]) if x > 1e-6}
        assert a == b, head.landmark_names[k]


def test_layout_reads_like_a_face(head):
    p = head.landmark_points(head.neutral)
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    assert x[36] < x[39] < 0 < x[42] < x[45]  # right eye outer, inner | left eye inner, outer
    assert x[0] < x[8] < x[16] and y[8] == y[:17].min()  # jaw: chin lowest
    assert y[27] > y[28] > y[29] > y[30] and z[30] == z[27:36].max()  # nose bridge down to the tip
    assert y[19] > y[37] and y[24] > y[44]  # brows above eyes
    assert y[51] > y[62] >= y[66] > y[57]  # lips top to bottom
    assert x[48] < x[54]
    c = head.eye_centres(head.neutral)
    assert np.allclose(p[68:70, :2], c[:, :2], atol=0.004) and (z[68:70] > c[:, 2]).all()


def test_landmarks_follow_expressions(head):
    v = head.shape(IdentityParams())
    open_ = v + head.expression_offsets(v, {"jawOpen": 1.0})
    p0, p1 = head.landmark_points(v), head.landmark_points(open_)
    assert np.linalg.norm(p1[62] - p1[66]) > np.linalg.norm(p0[62] - p0[66]) + 0.01  # inner lips part
    assert p1[8, 1] < p0[8, 1] - 0.01  # chin drops
    blink = v + head.expression_offsets(v, {"eyeBlinkLeft": 1.0})
    pb = head.landmark_points(blink)
    opening = lambda q: np.linalg.norm(q[43] - q[47])  # noqa: E731
    assert opening(pb) < 0.4 * opening(p0)
    assert np.allclose(pb[36:42], p0[36:42], atol=1e-6)  # the right eye stays open


def test_dense_points(head):
    doc = json.loads((paths.ASSETS / "landmarks" / "dense.json").read_text())
    flip = np.array(doc["flip_index"])
    v = head.neutral
    d = head.dense_points(v)
    assert head.n_dense == len(d) >= 500
    assert np.array_equal(flip[flip], np.arange(len(d)))
    assert np.abs(d[flip] * MIRROR_X - d).max() < 1e-7
    # spread out (no duplicates) over face, ears and neck
    from scipy.spatial import cKDTree

    dist, _ = cKDTree(d).query(d, k=2)
    assert dist[:, 1].min() > 0.002
    cls = head.vertex_class[head._a["dense_index"][:, 0]]
    for c in ("NOSE", "LEFT_EAR", "RIGHT_EAR", "TOP_LIP", "BOTTOM_LIP", "NECK", "LEFT_BROW", "SKIN"):
        assert (cls == CLASS_IDS[c]).any(), c


@pytest.mark.parametrize("key", ["landmarks70.json", "dense.json"])
def test_definitions_reference_hm08_ids_that_the_crop_keeps(head, key):
    doc = json.loads((paths.ASSETS / "landmarks" / key).read_text())
    kept = set(head.hm08_index[head.hm08_index >= 0].tolist())
    for p in doc["points"]:
        if "eye" in p:
            continue
        assert set(p["vertices"]) <= kept, p["name"]
