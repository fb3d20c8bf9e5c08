"""The render surfaces: subdivision as a fixed operator, labels exactly on them, smooth class and crop edges."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial import cKDTree

from facefarm.geometry.triangles import closest_on_triangles
from facefarm.head.model import IdentityParams
from facefarm.scene.classes import CLASS_IDS

MIRROR_X = np.array([-1.0, 1.0, 1.0])
SWAP = {
    CLASS_IDS[f"{a}_{n}"]: CLASS_IDS[f"{b}_{n}"]
    for n in ("EYE", "BROW", "EAR")
    for a, b in (("LEFT", "RIGHT"), ("RIGHT", "LEFT"))
}


def distance_to_mesh(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, k: int = 48) -> np.ndarray:
    """(n,) distance of each point to the nearest of the ``k`` triangles with the nearest centroids."""
    tri = vertices[faces]
    _, cand = cKDTree(tri.mean(axis=1)).query(points, k=k)
    q, _ = closest_on_triangles(points[:, None, :], tri[cand, 0], tri[cand, 1], tri[cand, 2])
    return np.linalg.norm(q - points[:, None, :], axis=-1).min(axis=1)


def posed(head, seed: int) -> np.ndarray:
    """Coarse vertices of a random identity with a random expression."""
    rng = np.random.default_rng(seed)
    p = IdentityParams(
        age_years=float(rng.uniform(2, 85)),
        gender=float(rng.uniform()),
        weight=float(rng.uniform()),
        muscle=float(rng.uniform()),
        details={
            n: float(rng.uniform(-0.7, 0.7))
            for n in rng.choice(head.identity_names, 8)
            if head.identity_ranges[n][0] < 0
        },
    )
    v = head.shape(p)
    units = {n: float(rng.uniform(0.3, 1.0)) for n in rng.choice(head.expression_names, 5, replace=False)}
    return (v + head.expression_offsets(v, units)).astype(np.float64)


def area(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    return 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)


def test_levels_of_detail(head):
    levels = [s.level for s in head.surfaces]
    assert levels == sorted(levels) and levels[0] == 0 and levels[-1] >= 1
    edges = [s.median_edge_m for s in head.surfaces]
    assert edges[1] == pytest.approx(edges[0] / 2, rel=0.15)  # one Catmull-Clark step halves the edges
    assert head.surface_for(900.0) is head.surfaces[0]  # 256 px, default framing
    assert head.surface_for(1800.0) is head.surfaces[-1]  # 512 px
    assert len(head.surfaces[-1].faces) > 2.5 * len(head.surfaces[0].faces)


@pytest.mark.parametrize("level", [0, -1])
def test_operators_are_partitions_of_unity(head, level):
    s = head.surfaces[level]
    for m in (s.subdivision, s.cut, s.operator):
        assert np.allclose(np.asarray(m.sum(axis=1)).ravel(), 1.0, atol=1e-12)
        assert m.data.min() >= -1e-12  # convex combinations: the surface stays within its cage
    # a translation of the coarse mesh translates the surface
    v = head.neutral.astype(np.float64)
    assert np.allclose(s.vertices(v + [0.1, -0.2, 0.3]), s.vertices(v) + [0.1, -0.2, 0.3], atol=1e-12)
    assert s.faces.max() < s.n_vertices and len(np.unique(s.faces)) == s.n_vertices


def test_subdivision_is_mirror_symmetric(head):
    s = head.surfaces[-1]
    m = s.fine_mirror
    assert np.array_equal(m[m], np.arange(len(m)))
    S = s.subdivision
    assert abs(S[m][:, head.mirror] - S).max() < 1e-12
    fine = S @ head.neutral.astype(np.float64)
    assert np.abs(fine[m] * MIRROR_X - fine).max() < 2e-4  # MakeHuman's 0.1 mm quantisation


@pytest.mark.parametrize("seed", [0, 1])
def test_fine_surface_stays_close_to_the_coarse_one(head, seed):
    v = posed(head, seed)
    s = head.surfaces[-1]
    fine = s.subdivision @ v
    d = distance_to_mesh(fine, v, head.faces)
    assert np.percentile(d, 99) < 0.0015 and d.max() < 0.004  # smoothing, not reshaping
    moved = np.linalg.norm(fine[: head.n_vertices] - v, axis=1)
    assert np.median(moved) < 0.0005


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_landmarks_lie_exactly_on_every_render_surface(head, seed):
    v = posed(head, seed)
    for s in head.surfaces:
        r = s.vertices(v)
        for key, pts in (("landmark", head.landmark_points(v, s)), ("dense", head.dense_points(v, s))):
            d = distance_to_mesh(pts, r, s.faces)
            assert d.max() < 1e-6, (s.level, key, int(d.argmax()), d.max())
        # pupils: the front poles of the eyeballs, which no surface changes
        assert np.allclose(head.landmark_points(v, s)[68:], v[[head.eyes_slice(e).start for e in (0, 1)]])


def test_every_class_is_used_and_mirrored(head):
    v = head.neutral.astype(np.float64)
    coarse_area = np.bincount(head.face_class, area(v, head.faces), minlength=256)
    for s in head.surfaces:
        assert set(np.unique(s.face_class)) == set(range(1, 13))
        r = s.vertices(v)
        a = np.bincount(s.face_class, area(r, s.faces), minlength=256)
        for left, right in ((4, 3), (6, 5), (8, 7)):
            assert a[left] == pytest.approx(a[right], rel=0.01)
        # smoothing moves boundaries by a fraction of a quad, regions keep their size
        for c in range(1, 13):
            assert 0.75 < a[c] / coarse_area[c] < 1.3, (s.level, c, a[c] / coarse_area[c])
        cent = r[s.faces].mean(axis=1)
        for left, right in ((4, 3), (6, 5), (8, 7)):
            assert (cent[s.face_class == left, 0] > 0).all() and (cent[s.face_class == right, 0] < 0).all()
        # the mirror image of the class map is the class map with left and right swapped
        sel = s.face_part == 0
        mirrored = np.array([SWAP.get(int(c), int(c)) for c in s.face_class[sel]])
        tree = cKDTree(cent[sel] * MIRROR_X)
        _, j = tree.query(cent[sel])
        assert (mirrored[j] == s.face_class[sel]).mean() > 0.995


def test_parts_other_than_skin_keep_their_classes(head):
    for s in head.surfaces:
        for part in ("eye_r", "eye_l", "lash_r", "lash_l", "teeth_upper", "teeth_lower", "tongue"):
            pi = head.part_names.index(part)
            got, want = s.face_class[s.face_part == pi], head.face_class[head.face_part == pi]
            assert set(np.unique(got)) == set(np.unique(want)), part
        v = head.neutral.astype(np.float64)
        r = s.vertices(v)
        for e in (0, 1):  # eyeballs pass through untouched
            eye = s.face_part == head.part_names.index(("eye_r", "eye_l")[e])
            got = r[np.unique(s.faces[eye])]
            assert np.allclose(np.sort(got, axis=0), np.sort(v[head.eyes_slice(e)], axis=0), atol=1e-12)


def test_hair_cap_region_is_the_scalp(head):
    v = head.neutral.astype(np.float64)
    eye_z = head.eye_centres(v)[:, 2].mean()
    for s in head.surfaces:
        assert (s.face_class[s.face_scalp] == CLASS_IDS["SKIN"]).all()
        r = s.vertices(v)
        cap = r[s.faces[s.face_scalp]].mean(axis=1)
        skin = r[s.faces[s.face_part == 0]].mean(axis=1)
        assert cap[:, 1].max() == pytest.approx(skin[:, 1].max(), abs=0.005)  # the crown
        low = cap[cap[:, 1] < 0.02]
        assert (low[:, 2] < eye_z - 0.03).all()  # below the brows only behind the face (temples, nape)
        share = area(r, s.faces[s.face_scalp]).sum() / area(v, head.faces[np.isin(head.faces, head.scalp).all(1)]).sum()
        assert 0.8 < share < 1.2


def _boundary_loops(faces: np.ndarray, inside: np.ndarray) -> list[list[int]]:
    """Vertex loops around the ``inside`` faces (each directed boundary edge followed once)."""
    f = faces[inside]
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    _, inv, count = np.unique(np.sort(e, axis=1), axis=0, return_inverse=True, return_counts=True)
    nxt = dict(e[count[inv] == 1].tolist())
    seen: set[int] = set()
    out = []
    for a in nxt:
        if a in seen:
            continue
        loop, b = [a], nxt[a]
        seen.add(a)
        while b != a and b not in seen and b in nxt:
            loop.append(b)
            seen.add(b)
            b = nxt[b]
        out.append(loop)
    return out


def sharp_turns(
    vertices: np.ndarray, faces: np.ndarray, inside: np.ndarray, step: float = 0.0015, angle_deg: float = 35.0
) -> tuple[int, float]:
    """(corners, length m) of the boundary of the ``inside`` faces: the loops resampled every
    ``step`` metres, counting the samples where the curve turns by more than ``angle_deg``
    (a staircase of 4 mm quads turns by 90 degrees at every step; a smooth curve hardly at all)."""
    corners, total = 0, 0.0
    for loop in _boundary_loops(faces, inside):
        p = vertices[loop + loop[:1]]
        seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
        length = float(seg.sum())
        total += length
        if length < 4 * step:
            continue
        s = np.concatenate([[0.0], np.cumsum(seg)])
        t = np.arange(0.0, length, step)
        q = np.stack([np.interp(t, s, p[:, k]) for k in range(3)], axis=1)
        a, b = np.roll(q, 1, axis=0) - q, np.roll(q, -1, axis=0) - q
        cos = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-18)
        corners += int((180.0 - np.degrees(np.arccos(np.clip(cos, -1, 1))) > angle_deg).sum())
    return corners, total


@pytest.mark.parametrize("cls", ["NOSE", "LEFT_BROW", "RIGHT_BROW", "NECK", "LEFT_EAR", "TOP_LIP", "BOTTOM_LIP"])
def test_class_boundaries_are_smooth(head, cls):
    """Coarse labels follow the quads' staircase; the render surfaces' class boundaries are curves."""
    v = head.neutral.astype(np.float64)
    c = CLASS_IDS[cls]
    coarse, coarse_len = sharp_turns(v, head.faces, (head.face_part == 0) & (head.face_class == c))
    for s in head.surfaces:
        sharp, length = sharp_turns(s.vertices(v), s.faces, (s.face_part == 0) & (s.face_class == c))
        assert length < coarse_len, (cls, s.level)  # a staircase is longer than the curve it follows
        if cls.endswith("LIP"):  # the lips' inner edge runs along quad edges already; the corners are real
            assert sharp <= coarse, (cls, s.level, sharp, coarse)
        else:
            assert sharp <= coarse / 5, (cls, s.level, sharp, coarse)


def test_crop_edge_is_a_smooth_curve_below_the_neck(head):
    v = head.neutral.astype(np.float64)
    s = head.surfaces[-1]
    r = s.vertices(v)
    f = s.faces[s.face_part == 0]
    e = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    uniq, count = np.unique(e, axis=0, return_counts=True)
    rim = np.unique(uniq[count == 1])
    assert len(rim) > 100
    base = s.subdivision @ head._a["vertices"].astype(np.float64)  # the crop is a field on the base mesh
    d = base * 10.0
    crop = d[:, 1] - (5.50 + 0.25 * (np.abs(d[:, 0]) / 1.85) ** 4)
    on_cut = np.abs(s.cut[rim] @ crop) < 1e-9  # every rim vertex lies on the cut, none on the old quad edge
    assert on_cut.all()
    assert r[rim, 1].max() < head.landmark_points(v, s)[8, 1] - 0.03  # below the chin, even over the shoulders
    assert np.ptp(r[rim, 0]) > 0.25  # shoulder to shoulder


def test_render_surface_apply_is_cheap(head):
    import time

    s = head.surfaces[-1]
    x = np.random.default_rng(0).normal(size=(head.n_vertices, 9))
    s.vertices(x)
    t0 = time.perf_counter()
    for _ in range(20):
        s.vertices(x)
    assert (time.perf_counter() - t0) / 20 < 0.02  # ~1-2 ms idle; generous for a loaded CI box
    assert sp.isspmatrix_csr(s.operator)


@pytest.mark.slow
def test_landmark_depths_match_a_512px_render_of_the_fine_surface(head):
    """At 512 px compose renders the subdivided surface, and the visible landmarks sit on it."""
    import os

    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    from facefarm.catalog import load_catalog, resolve
    from facefarm.compose.compositor import compose
    from facefarm.render.pyrender.renderer import PyrenderRenderer
    from facefarm.sample.labels import landmark_labels

    cat = load_catalog("facefarm/assets/catalogs/default.json")
    s = resolve(cat, 0, 1)
    s = s.model_copy(
        update={
            "head_pose": s.head_pose.model_copy(update={"yaw_deg": 10.0, "pitch_deg": 0.0, "roll_deg": 0.0}),
            "hair": s.hair.model_copy(update={"style": "bald"}),
            "facial_hair": s.facial_hair.model_copy(update={"style": "none"}),
            "glasses": s.glasses.model_copy(update={"present": False}),
            "headwear": s.headwear.model_copy(update={"id": "none", "color_rgb": None}),
            "camera": s.camera.model_copy(update={"width": 512, "height": 512}),
        }
    )
    scene = compose(s, head)
    skin = next(m for m in scene.meshes if m.name == "skin")
    assert len(skin.faces) == int((head.surfaces[-1].face_part == 0).sum())  # the fine surface was chosen
    with PyrenderRenderer() as r:
        result = r.render(scene)
    lab = landmark_labels(scene, result)
    err = []
    # the dense points and the sparse ones inside the face: a visible jaw point marks the outline, seen
    # edge-on, with the cheek in front of it up to cm nearer (tests/test_visibility.py checks those)
    for k in np.flatnonzero(lab["visible"]):
        if k < 17:
            continue
        u, v = lab["uv"][k]
        i0, j0 = int(np.floor(u - 0.5)), int(np.floor(v - 0.5))
        d = result.depth[max(j0, 0) : j0 + 2, max(i0, 0) : i0 + 2].ravel()
        d = d[d > 0]
        if len(d):
            err.append(np.min(np.abs(lab["xyz_camera"][k, 2] - d)))
    err = np.asarray(err)
    assert len(err) > 400
    assert np.median(err) < 0.0005 and np.quantile(err, 0.9) < 0.002, (np.median(err), np.quantile(err, 0.9))
