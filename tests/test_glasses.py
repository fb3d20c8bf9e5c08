"""Glasses fitted to babies, adults, the elderly, extreme weights and big expressions.

The fit measures clearance with its own closest-point query (geometry.mesh_closest); these tests check the result with
independent tools: trimesh's closest point on every nearby head triangle (with a proof that
no nearer triangle was skipped), segment-triangle crossings both ways, and the generalised
winding number for "outside" - so a fit that only fools its own distance query still fails.
The helpers at the top are reused by tests/test_garments.py and tests/test_hair.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from trimesh import triangles as tm_triangles

from facefarm.catalog.colors import srgb_to_linear
from facefarm.compose import glasses as G
from facefarm.scene.classes import CLASS_IDS

# ------------------------------------------------------------------------ independent checks


def head_surface(head, v: np.ndarray, parts=("skin", "eye_r", "eye_l", "lash_r", "lash_l")):
    """(vertices, faces) of the head parts the worn items must not touch."""
    names = list(head.part_names)
    sel = np.isin(head.face_part, [names.index(p) for p in parts])
    return np.asarray(v, np.float64), np.asarray(head.faces[sel], np.int64)


class _Triangles:
    """Triangles of one mesh for exact proximity queries: candidate triangles of a query point
    are those whose bounding sphere (centroid, reach) lies within the query radius, found
    through one k-d tree per size class so large triangles do not widen every search."""

    def __init__(self, v: np.ndarray, f: np.ndarray):
        self.tri = np.asarray(v, np.float64)[np.asarray(f)]
        self.cent = self.tri.mean(axis=1)
        self.reach = np.linalg.norm(self.tri - self.cent[:, None], axis=2).max(axis=1)
        level = np.ceil(np.log2(np.maximum(self.reach, 1e-4) / 0.002)).clip(0, None).astype(int)
        self.levels = []
        for k in np.unique(level):
            ids = np.flatnonzero(level == k)
            self.levels.append((ids, float(self.reach[ids].max()), cKDTree(self.cent[ids])))

    def pairs(self, points: np.ndarray, radius: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, triangles) with |point - centroid| <= radius[row] + reach[triangle]."""
        rows, tris = [], []
        for ids, reach, tree in self.levels:
            lists = tree.query_ball_point(points, r=radius + reach)
            r = np.repeat(np.arange(len(points)), [len(x) for x in lists])
            t = ids[np.fromiter((i for x in lists for i in x), np.int64, count=len(r))]
            keep = np.linalg.norm(points[r] - self.cent[t], axis=1) <= radius[r] + self.reach[t]
            rows.append(r[keep])
            tris.append(t[keep])
        return np.concatenate(rows), np.concatenate(tris)


def surface_gaps(points: np.ndarray, v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """(n,) exact unsigned distance from each point to the triangle mesh (v, f): every
    triangle that could be nearer than an upper bound (distance to the nearest vertex) is
    measured with trimesh's closest point."""
    points = np.asarray(points, np.float64)
    tris = _Triangles(v, f)
    used = np.unique(f)
    upper, _ = cKDTree(np.asarray(v, np.float64)[used]).query(points)
    out = upper.copy()
    for i in range(0, len(points), 512):
        pc = points[i : i + 512]
        rows, t = tris.pairs(pc, upper[i : i + 512])
        if len(rows):
            q = tm_triangles.closest_point(tris.tri[t], pc[rows])
            np.minimum.at(out[i : i + 512], rows, np.linalg.norm(q - pc[rows], axis=1))
    return out


def crossings(va: np.ndarray, fa: np.ndarray, vb: np.ndarray, fb: np.ndarray) -> int:
    """How many edges of mesh A pierce a triangle of mesh B, plus edges of B piercing A."""
    return _edges_through(va, fa, vb, fb) + _edges_through(vb, fb, va, fa)


def _edges_through(va, fa, vb, fb) -> int:
    e = np.unique(np.sort(np.concatenate([fa[:, [0, 1]], fa[:, [1, 2]], fa[:, [2, 0]]]), axis=1), axis=0)
    return int(segments_hit(va[e[:, 0]], va[e[:, 1]], vb, fb).sum())


def segments_hit(p0: np.ndarray, p1: np.ndarray, vb: np.ndarray, fb: np.ndarray) -> np.ndarray:
    """(n,) how many triangles of (vb, fb) each segment p0[i] -> p1[i] passes through."""
    count = np.zeros(len(p0), int)
    # only segments inside B's bounding box (grown by their length) can reach it
    lo, hi = vb.min(axis=0), vb.max(axis=0)
    half = 0.5 * np.linalg.norm(p1 - p0, axis=1)
    mid = 0.5 * (p0 + p1)
    near = np.flatnonzero(np.all((mid >= lo - half[:, None]) & (mid <= hi + half[:, None]), axis=1))
    if len(near) == 0:
        return count
    tris = _Triangles(vb, fb)
    ei, ti = tris.pairs(mid[near], half[near])
    if len(ei) == 0:
        return count
    ei = near[ei]
    a, b, c = tris.tri[ti, 0], tris.tri[ti, 1], tris.tri[ti, 2]
    o, d = p0[ei], p1[ei] - p0[ei]
    e1, e2 = b - a, c - a
    h = np.cross(d, e2)
    det = (e1 * h).sum(1)
    ok = np.abs(det) > 1e-18
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = o - a
    u = inv * (s * h).sum(1)
    q = np.cross(s, e1)
    w = inv * (d * q).sum(1)
    t = inv * (e2 * q).sum(1)
    hit = ok & (u >= 0) & (w >= 0) & (u + w <= 1) & (t >= 0) & (t <= 1)
    np.add.at(count, ei[hit], 1)
    return count


def closed_skin(head, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The skin with every hole (neck crop, eye openings) capped by a fan: a closed surface."""
    vv, f = head_surface(head, v, parts=("skin",))
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    key = np.sort(e, axis=1)
    _, inv, cnt = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    border = e[cnt[inv.ravel()] == 1]
    nxt = dict(zip(border[:, 0].tolist(), border[:, 1].tolist()))
    caps, seen, extra = [], set(), []
    for start in list(nxt):
        if start in seen:
            continue
        loop, cur = [], start
        while cur not in seen:
            seen.add(cur)
            loop.append(cur)
            cur = nxt[cur]
        c = len(vv) + len(extra)
        extra.append(vv[loop].mean(axis=0))
        caps += [[b, a, c] for a, b in zip(loop, loop[1:] + loop[:1])]
    return np.vstack([vv, extra]), np.vstack([f, caps])


def winding_numbers(points: np.ndarray, v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """(n,) generalised winding number (Jacobson et al. 2013): ~1 inside a closed mesh, ~0 outside."""
    tri = v[f]
    out = np.zeros(len(points))
    for i in range(0, len(points), 64):
        p = points[i : i + 64, None, None, :]
        r = tri[None] - p  # (n, F, 3, 3)
        ln = np.linalg.norm(r, axis=3)
        a, b, c = r[..., 0, :], r[..., 1, :], r[..., 2, :]
        num = (a * np.cross(b, c)).sum(-1)
        den = (
            ln[..., 0] * ln[..., 1] * ln[..., 2]
            + (a * b).sum(-1) * ln[..., 2]
            + (b * c).sum(-1) * ln[..., 0]
            + (c * a).sum(-1) * ln[..., 1]
        )
        out[i : i + 64] = 2 * np.arctan2(num, den).sum(axis=1) / (4 * np.pi)
    return out


def component_seeds(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """One vertex id per connected component of (v, f)."""
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]]])
    g = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(len(v), len(v)))
    _, lab = connected_components(g, directed=False)
    used = np.unique(f)
    return np.array([used[lab[used] == k][0] for k in np.unique(lab[used])])


def assert_worn_clear(meshes, head, v, min_gap: float, what: str):
    """Every vertex of ``meshes`` at least ``min_gap`` m from the head, no crossings, outside."""
    hv, hf = head_surface(head, v)
    cv, cf = closed_skin(head, v)
    for m in meshes:
        mv, mf = m.vertices.astype(np.float64), m.faces.astype(np.int64)
        gaps = surface_gaps(mv, hv, hf)
        assert gaps.min() >= min_gap, (
            f"{what}: {m.name} comes within {gaps.min() * 1e3:.2f} mm of the head "
            f"(at {np.round(mv[np.argmin(gaps)] * 1e3, 1)} mm); need >= {min_gap * 1e3:.1f} mm"
        )
        n = crossings(mv, mf, hv, hf)
        assert n == 0, f"{what}: {m.name} and the head cross {n} times"
        seeds = component_seeds(mv, mf)
        wn = winding_numbers(mv[seeds], cv, cf)
        assert np.all(wn < 0.5), f"{what}: a part of {m.name} is inside the head (winding {wn.max():.2f})"


# ------------------------------------------------------------------------ identities
SMILE = {
    "jawOpen": 0.5,
    "mouthSmileLeft": 1.0,
    "mouthSmileRight": 1.0,
    "cheekSquintLeft": 1.0,
    "cheekSquintRight": 1.0,
    "eyeSquintLeft": 0.6,
    "eyeSquintRight": 0.6,
}
PEOPLE = {
    "baby": dict(age_years=1.0, gender=0.3, ancestry={"african": 0.0, "asian": 1.0, "caucasian": 0.0}),
    "child": dict(age_years=6.0, gender=0.7, ancestry={"african": 1.0, "asian": 0.0, "caucasian": 0.0}),
    "woman": dict(age_years=25.0, gender=0.0, weight=0.0, ancestry={"african": 0.0, "asian": 0.0, "caucasian": 1.0}),
    "heavy_man": dict(
        age_years=45.0, gender=1.0, weight=1.0, muscle=1.0, ancestry={"african": 0.5, "asian": 0.0, "caucasian": 0.5}
    ),
    "elder": dict(age_years=88.0, gender=0.2, ancestry={"african": 0.0, "asian": 0.6, "caucasian": 0.4}),
    "thin_man": dict(
        age_years=60.0, gender=0.9, weight=0.0, muscle=0.0, ancestry={"african": 0.3, "asian": 0.3, "caucasian": 0.4}
    ),
}


def person(head, name: str, smile: bool = False) -> np.ndarray:
    from facefarm.head.model import IdentityParams

    v = head.shape(IdentityParams(**PEOPLE[name]))
    if smile:
        v = v + head.expression_offsets(v, SMILE)
    return np.asarray(v, np.float64)


# each family on two people, one of them smiling with the jaw open
CASES = [
    ("round", "baby", False),
    ("round", "heavy_man", True),
    ("rectangular", "woman", True),
    ("rectangular", "elder", False),
    ("square", "child", True),
    ("square", "thin_man", False),
    ("oval", "elder", True),
    ("oval", "baby", False),
    ("aviator", "heavy_man", False),
    ("aviator", "child", False),
    ("cat-eye", "woman", False),
    ("cat-eye", "thin_man", True),
    ("browline", "thin_man", False),
    ("browline", "baby", True),
    ("rimless", "child", False),
    ("rimless", "woman", True),
]


@pytest.mark.parametrize("family,who,smile", CASES)
def test_glasses_clear_the_head(head, family, who, smile):
    v = person(head, who, smile)
    fit = G.fit_glasses(G.GlassesParams(family, thickness_mm=4.5), head, v)
    assert_worn_clear(fit.meshes, head, v, min_gap=0.001, what=f"{family} on {who}{' smiling' * smile}")


def test_checker_sees_glasses_pushed_into_the_face(head):
    """The checks above must be able to fail: the same glasses 9 mm further back cross the face."""
    v = person(head, "woman")
    fit = G.fit_glasses(G.GlassesParams("rectangular"), head, v)
    hv, hf = head_surface(head, v)
    frame = next(m for m in fit.meshes if m.material.kind == "glasses_frame")
    moved = frame.vertices.astype(np.float64) - [0.0, 0.0, 0.009]
    assert surface_gaps(moved, hv, hf).min() < 0.001
    assert crossings(moved, frame.faces.astype(np.int64), hv, hf) > 0


@pytest.mark.parametrize("who", ["baby", "woman", "elder"])
def test_glasses_sit_on_the_face(head, who):
    """Lenses in front of the pupils at a plausible vertex distance; temples reach the ears."""
    v = person(head, who)
    fit = G.fit_glasses(G.GlassesParams("oval"), head, v)
    pupils = head.eye_centres(v)
    ipd = np.linalg.norm(pupils[1] - pupils[0])
    cornea = max(v[head.eyes_slice(0), 2].max(), v[head.eyes_slice(1), 2].max())
    for side, name in ((0, "glasses_lens_r"), (1, "glasses_lens_l")):
        lens = next(m for m in fit.meshes if m.name == name).vertices.astype(np.float64)
        centre = 0.5 * (lens.min(axis=0) + lens.max(axis=0))
        assert abs(centre[1] - pupils[side, 1]) < 0.25 * np.ptp(lens[:, 1]), f"{name} not at pupil height"
        assert abs(centre[0] - pupils[side, 0]) < 0.15 * ipd, f"{name} not in front of the pupil"
        back = lens[np.abs(lens[:, 0] - centre[0]) < 0.004]
        vd = back[:, 2].min() - cornea
        assert 0.007 < vd < 0.022, f"vertex distance {vd * 1e3:.1f} mm"
    assert 0.007 < fit.vertex_distance < 0.022
    frame = np.concatenate([m.vertices for m in fit.meshes if m.material.kind == "glasses_frame"])
    for cls, sign in (("RIGHT_EAR", -1), ("LEFT_EAR", 1)):
        ear = v[head.vertex_class == CLASS_IDS[cls]]
        side = frame[frame[:, 0] * sign > 0]
        tail = side[np.argmin(side[:, 2])]
        assert tail[2] < ear[:, 2].max(), "temple stops before the ear"
        assert ear[:, 1].min() < tail[1] < ear[:, 1].max() + 0.01, "temple end not beside the ear"


def test_children_get_smaller_glasses(head):
    small = G.fit_glasses(G.GlassesParams("round"), head, person(head, "baby"))
    big = G.fit_glasses(G.GlassesParams("round"), head, person(head, "heavy_man"))
    assert small.lens_width < 0.8 * big.lens_width
    assert small.bridge_width < big.bridge_width


def test_families_data_and_lens_outline():
    fams = G.families()
    assert len(fams) >= 8
    assert {"round", "rectangular", "square", "oval", "aviator", "cat-eye", "browline", "rimless"} <= set(fams)
    for name, fam in fams.items():
        o = G.lens_outline(fam.outline, 0.05)
        assert np.ptp(o[:, 0]) == pytest.approx(0.05, rel=1e-3), name
        assert np.ptp(o[:, 1]) == pytest.approx(0.05 * fam.outline.aspect, rel=1e-3), name
        area2 = (o[:, 0] * np.roll(o[:, 1], -1) - np.roll(o[:, 0], -1) * o[:, 1]).sum()
        assert area2 > 0, f"{name}: outline must run counter-clockwise"
    # the aviator's lowest point leans towards the nose (-u), the cat-eye's highest to the temple
    av = G.lens_outline(fams["aviator"].outline, 0.05)
    assert av[np.argmin(av[:, 1]), 0] < -0.002
    ce = G.lens_outline(fams["cat-eye"].outline, 0.05)
    assert ce[np.argmax(ce[:, 1]), 0] > 0.01


def test_meshes_materials_and_classes(head):
    v = person(head, "woman")
    params = G.GlassesParams(
        "browline", color_rgb=(0.5, 0.1, 0.1), lens_tint_rgb=(0.4, 0.3, 0.2), lens_transmission=0.6
    )
    meshes = G.fit_glasses(params, head, v).meshes
    lenses = [m for m in meshes if m.material.kind == "glasses_lens"]
    frames = [m for m in meshes if m.material.kind == "glasses_frame"]
    assert len(lenses) == 2 and frames
    for m in meshes:
        assert np.all(m.face_class == CLASS_IDS["GLASSES"]), m.name
        assert m.faces.dtype == np.int32 and m.vertices.dtype == np.float32
        e = np.sort(np.concatenate([m.faces[:, [0, 1]], m.faces[:, [1, 2]], m.faces[:, [2, 0]]]), axis=1)
        _, cnt = np.unique(e, axis=0, return_counts=True)
        assert np.all(cnt == 2), f"{m.name} is not a closed surface"
    for m in lenses:
        assert not m.occludes_landmarks and m.material.alpha < 1.0
        # what passes through is the tint times the transmission (0.6)
        assert max(m.material.base_color) == pytest.approx(0.6 * srgb_to_linear(0.4), rel=1e-6)
    assert all(m.occludes_landmarks for m in frames)
    assert {m.material.frame_material for m in frames} >= {"acetate", "metal"}


def test_from_sample_reads_the_catalog_sample():
    from facefarm.catalog import Catalog, resolve

    cat = Catalog.model_validate({"catalog_version": 1, "glasses": {"probability": 1.0}})
    s = resolve(cat, seed=3, index=0)
    p = G.GlassesParams.from_sample(s)
    assert p is not None and p.family == s.glasses.family and p.thickness_mm == s.glasses.thickness_mm
    none = resolve(Catalog.model_validate({"catalog_version": 1, "glasses": {"probability": 0.0}}), 3, 0)
    assert G.GlassesParams.from_sample(none) is None
