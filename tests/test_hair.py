"""Hair, brows and facial hair fitted to the head: placement, collision, face clearance, colour, budget.

Collision is checked against the exact closed skin (nearest triangle, pseudo-normal sign) and,
independently, by the winding number of the same closed mesh; face clearance by projecting
strands frontally onto the eye, nose and mouth regions of each identity.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

import numpy as np
import pytest
from test_glasses import surface_gaps

from facefarm.catalog import load_catalog, resolve
from facefarm.catalog.vocabulary import FACIAL_HAIR_STYLES, HAIR_STYLES
from facefarm.compose.compositor import identity_params
from facefarm.compose.hair import styles as hair_styles
from facefarm.compose.hair.colour import hair_albedo_linear
from facefarm.compose.hair.strands import hair_strands, head_frame
from facefarm.compose.posed_head import PosedHead
from facefarm.head.model import HeadModel
from facefarm.paths import ASSETS
from facefarm.scene.classes import CLASS_IDS

SHORT_STYLES = ("buzz", "short", "fade", "receding", "balding")


@lru_cache(maxsize=None)
def _head() -> HeadModel:
    return HeadModel.load()


@lru_cache(maxsize=None)
def _catalog():
    return load_catalog(ASSETS / "catalogs" / "default.json")


def _sample(index: int, style: str, beard: str = "none", **identity):
    """A real resolved sample with the hair style (and beard, identity fields) swapped in."""
    s = resolve(_catalog(), seed=3, index=index, n_total=100)
    upd = {
        "hair": s.hair.model_copy(update={"style": style}),
        "facial_hair": s.facial_hair.model_copy(update={"style": beard}),
    }
    upd.update(identity)
    return s.model_copy(update=upd)


def _vertices(sample, units: dict | None = None) -> np.ndarray:
    head = _head()
    v = head.shape(identity_params(sample))
    if units:
        v = v + head.expression_offsets(v, units)
    return v


def _winding(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(n,) generalised winding number of a closed triangle mesh at ``points`` (1 inside, 0 outside)."""
    tri = vertices[faces]
    out = np.zeros(len(points))
    for i in range(0, len(points), 128):
        p = points[i : i + 128, None, None, :]
        a, b, c = (tri[None, :, k] - p[:, :, 0] for k in range(3))
        la, lb, lc = (np.linalg.norm(x, axis=-1) for x in (a, b, c))
        det = (a * np.cross(b, c)).sum(-1)
        den = la * lb * lc + (a * b).sum(-1) * lc + (b * c).sum(-1) * la + (c * a).sum(-1) * lb
        out[i : i + 128] = (2 * np.arctan2(det, den)).sum(-1) / (4 * np.pi)
    return out


# ---- the style library ------------------------------------------------------------------------


def test_library_covers_the_catalog_vocabulary():
    scalp, facial = hair_styles.scalp_style_ids(), hair_styles.facial_style_ids()
    assert len(scalp) >= 16
    assert set(HAIR_STYLES) <= set(scalp), set(HAIR_STYLES) - set(scalp)
    assert set(FACIAL_HAIR_STYLES) <= set(facial), set(FACIAL_HAIR_STYLES) - set(facial)
    for required in (
        "buzz",
        "fade",
        "bob",
        "wavy",
        "curly",
        "afro",
        "braids",
        "locs",
        "ponytail",
        "bun",
        "receding",
        "balding",
        "bald",
    ):
        assert required in scalp


def test_library_rejects_unknown_fields(tmp_path, monkeypatch):
    doc = json.loads(hair_styles.STYLES_PATH.read_text())
    doc["scalp"]["buzz"]["lenght_m"] = [0.01, 0.02]
    bad = tmp_path / "styles.json"
    bad.write_text(json.dumps(doc))
    monkeypatch.setattr(hair_styles, "STYLES_PATH", bad)
    hair_styles.library.cache_clear()
    try:
        with pytest.raises(ValueError, match="lenght_m"):
            hair_styles.library()
    finally:
        monkeypatch.undo()
        hair_styles.library.cache_clear()
    with pytest.raises(KeyError, match="known"):
        hair_styles.scalp_style("mullet")


# ---- fitting: outside the skin ----------------------------------------------------------------

# (sample index, hair style, beard, identity overrides): babies to elderly, different ancestries
CASES = [
    (0, "long", "none", {"age_years": 34.0, "gender": 0.1}),
    (
        1,
        "braids",
        "full_beard",
        {"age_years": 40.0, "gender": 0.9, "ancestry_weights": {"african": 1.0, "asian": 0.0, "caucasian": 0.0}},
    ),
    (2, "ponytail", "none", {"age_years": 8.0, "gender": 0.2}),
    (3, "afro", "goatee", {"age_years": 25.0, "gender": 0.8}),
    (
        4,
        "bun",
        "none",
        {"age_years": 70.0, "gender": 0.0, "ancestry_weights": {"african": 0.0, "asian": 1.0, "caucasian": 0.0}},
    ),
    (5, "short", "stubble", {"age_years": 1.5, "gender": 0.5}),
    (6, "balding", "moustache", {"age_years": 82.0, "gender": 1.0}),
]


@pytest.mark.parametrize("index,style,beard,ident", CASES, ids=[c[1] for c in CASES])
def test_strands_stay_outside_the_skin(index, style, beard, ident):
    sample = _sample(index, style, beard, **ident)
    v = _vertices(sample, {"jawOpen": 0.3, "browInnerUp": 0.5})
    curves = hair_strands(PosedHead.pose(sample, _head(), v))
    names = {re.sub(r"_grey\d*$", "", c.name) for c in curves}
    assert {"hair", "brow_r", "brow_l"} <= names, names
    assert ("beard" in names) == (beard != "none")
    surface = head_frame(_head(), v).surface
    rng = np.random.default_rng(0)
    for c in curves:
        assert c.points.dtype == np.float32 and c.points.ndim == 3 and c.points.shape[2] == 3
        assert c.radius.shape == c.points.shape[:2] and (c.radius > 0).all()
        pts = c.points.reshape(-1, 3).astype(np.float64)
        # every point: the collision surface's own exact signed distance (exact closest point,
        # pseudo-normal sign)
        d = surface.query(pts).distance
        assert d.min() >= 0.5e-3, f"{style}/{c.name}: a point is {d.min() * 1e3:.2f} mm from the skin"
        # a random subset, independently: trimesh's closest point on every triangle that could
        # be nearest agrees on the distance, and the winding number on the side
        idx = rng.choice(len(pts), size=min(1000, len(pts)), replace=False)
        gap = surface_gaps(pts[idx], surface.vertices, surface.faces)
        assert np.abs(np.abs(d[idx]) - gap).max() < 1e-6
        exact = d[idx]
        if c.class_id in (CLASS_IDS["HAIR"], CLASS_IDS["BEARD"]):
            w = _winding(pts[idx[:150]], surface.vertices, surface.faces)
            inside = pts[idx[:150]][(w >= 0.5) & (exact[:150] > 2e-3)]
            assert (w[exact[:150] <= 2e-3] < 0.5).all(), f"{style}/{c.name}: a point near the skin is inside"
            # allowed only where the skin itself folds into itself (some identity shapes overlap
            # under a short chin): there the skin just outside its own surface is "inside" too
            assert all(_skin_overlaps_near(surface, q) for q in inside), (
                f"{style}/{c.name}: {len(inside)} points inside by winding number"
            )
        # roots sit on the skin (bound to the mesh), not floating
        root_d = surface.query(c.points[:, 0].astype(np.float64)).distance
        assert np.median(root_d) < 2.5e-3, f"{style}/{c.name}: roots float {np.median(root_d) * 1e3:.1f} mm"


def _skin_overlaps_near(surface, point: np.ndarray, radius: float = 0.01) -> bool:
    """True when skin vertices within ``radius`` of ``point``, moved 0.3 mm out along their
    normals, are inside the surface by winding number (the mesh overlaps itself there)."""
    near = np.linalg.norm(surface.vertices - point, axis=1) < radius
    probe = surface.vertices[near] + 3e-4 * surface.normals[near]
    return bool(len(probe)) and bool((_winding(probe, surface.vertices, surface.faces) >= 0.5).any())


def test_winding_check_catches_a_point_inside():
    sample = _sample(0, "short")
    v = _vertices(sample)
    surface = head_frame(_head(), v).surface
    centre = v[np.isin(_head().vertex_class, [CLASS_IDS["LEFT_EAR"], CLASS_IDS["RIGHT_EAR"]])].mean(axis=0)
    w = _winding(np.stack([centre, centre + [0, 0, 0.5]]), surface.vertices, surface.faces)
    assert w[0] > 0.9 and abs(w[1]) < 0.1
    # and the overlap exemption does not excuse a point just inside smooth skin (the crown)
    top = int(np.argmax(surface.vertices[:, 1]))
    below_crown = surface.vertices[top] - 1e-3 * surface.normals[top]
    assert _winding(below_crown[None], surface.vertices, surface.faces)[0] > 0.5
    assert not _skin_overlaps_near(surface, below_crown)
    assert surface.query(centre[None]).distance[0] < -0.01


# ---- the face stays clear -----------------------------------------------------------------------


def _face_regions(v: np.ndarray) -> list[np.ndarray]:
    """Frontal (x, y) point sets of the eyes (the front cap of each eyeball: iris and the sclera
    around it), nose and mouth of this identity."""
    head = _head()
    eyes = []
    for e, c in enumerate(head.eye_centres(v)):
        ball = v[head.eyes_slice(e)]
        r = np.linalg.norm(ball - c, axis=1).max()
        eyes.append(ball[ball[:, 2] > c[2] + 0.6 * r, :2])
    vc = head.vertex_class
    return eyes + [v[np.isin(vc, [CLASS_IDS[c] for c in g]), :2] for g in (("NOSE",), ("TOP_LIP", "BOTTOM_LIP"))]


def _inside_hull(points: np.ndarray, hull_points: np.ndarray, margin: float) -> np.ndarray:
    from scipy.spatial import Delaunay

    centre = hull_points.mean(axis=0)
    grown = centre + (hull_points - centre) * (1 + margin / max(np.ptp(hull_points, axis=0).min(), 1e-6))
    return Delaunay(grown).find_simplex(points) >= 0


@pytest.mark.parametrize("style", SHORT_STYLES + ("long", "curly"))
def test_hair_leaves_eyes_nose_and_mouth_clear(style):
    child = SHORT_STYLES.index(style) % 2 if style in SHORT_STYLES else style == "curly"
    ident = {"age_years": 4.0, "gender": 0.3} if child else {"age_years": 30.0, "gender": 0.7}
    sample = _sample(7, style, **ident)
    sample = sample.model_copy(update={"hair": sample.hair.model_copy(update={"curl": 0.7})})
    v = _vertices(sample)
    curves = [c for c in hair_strands(PosedHead.pose(sample, _head(), v)) if c.class_id == CLASS_IDS["HAIR"]]
    pts = np.concatenate([c.points.reshape(-1, 3) for c in curves]).astype(np.float64)
    front = pts[pts[:, 2] > -0.01]  # in front of the eyeballs' centres: could cover the face
    regions = _face_regions(v)
    checked = regions if style in SHORT_STYLES else regions[:2]  # long hair may frame the mouth
    for reg in checked:
        hit = _inside_hull(front[:, :2], reg, margin=0.002)
        assert not hit.any(), f"{style}: {hit.sum()} hair points in front of a face feature"


def test_fringe_stays_above_the_brows():
    sample = _sample(9, "bob", age_years=30.0)
    # find an identity whose bob has a fringe; the fringe is an identity-level draw
    for idx in range(9, 40):
        sample = _sample(idx, "bob", age_years=30.0)
        v = _vertices(sample)
        hair = [c for c in hair_strands(PosedHead.pose(sample, _head(), v)) if c.class_id == CLASS_IDS["HAIR"]]
        pts = np.concatenate([c.points.reshape(-1, 3) for c in hair]).astype(np.float64)
        over_forehead = pts[(pts[:, 2] > 0.0) & (np.abs(pts[:, 0]) < 0.03)]
        if len(over_forehead) > 50:
            brows = np.isin(_head().vertex_class, [CLASS_IDS["LEFT_BROW"], CLASS_IDS["RIGHT_BROW"]])
            assert over_forehead[:, 1].min() > v[brows, 1].max(), "the fringe falls below the brows"
            return
    pytest.fail("no identity in 30 drew a fringe (fringe_probability 0.4)")


# ---- binding, identity, determinism ------------------------------------------------------------


def test_roots_follow_the_mesh_through_expression():
    sample = _sample(10, "short", "full_beard", age_years=45.0, gender=1.0)
    sample = sample.model_copy(
        update={
            "hair": sample.hair.model_copy(update={"grey": 0.0}),
            "facial_hair": sample.facial_hair.model_copy(update={"grey": 0.0}),
        }
    )
    still = hair_strands(PosedHead.pose(sample, _head(), _vertices(sample)))
    moved = hair_strands(PosedHead.pose(sample, _head(), _vertices(sample, {"jawOpen": 1.0})))
    b0 = next(c for c in still if c.name == "beard")
    b1 = next(c for c in moved if c.name == "beard")
    assert b0.points.shape == b1.points.shape
    r0, r1 = b0.points[:, 0], b1.points[:, 0]
    chin = (np.abs(r0[:, 0]) < 0.02) & (r0[:, 1] < -0.08) & (r0[:, 2] > 0)
    assert chin.sum() > 50
    assert np.median(r0[chin, 1] - r1[chin, 1]) > 0.01, "chin beard roots did not follow the opening jaw"
    h0 = next(c for c in still if c.name == "hair")
    h1 = next(c for c in moved if c.name == "hair")
    assert np.abs(h0.points[:, 0] - h1.points[:, 0]).max() < 2e-3, "scalp roots moved with the jaw"


def test_same_identity_same_hair_and_heads_differ():
    a = _sample(11, "medium", age_years=30.0)
    v = _vertices(a)
    h1 = hair_strands(PosedHead.pose(a, _head(), v))
    h2 = hair_strands(PosedHead.pose(a, _head(), v))
    assert all(np.array_equal(x.points, y.points) for x, y in zip(h1, h2))
    baby = _sample(11, "medium", age_years=1.0)
    vb = _vertices(baby)
    hb = next(c for c in hair_strands(PosedHead.pose(baby, _head(), vb)) if c.name == "hair")
    ha = next(c for c in h1 if c.name == "hair")
    # the baby's roots sit on the baby's (smaller) head and the hair is shorter
    assert np.ptp(hb.points[:, 0, 0]) < np.ptp(ha.points[:, 0, 0])
    seg = lambda c: np.linalg.norm(np.diff(c.points, axis=1), axis=-1).sum(axis=1).mean()  # noqa: E731
    assert seg(hb) < 0.5 * seg(ha)


def test_bald_has_no_scalp_hair_but_keeps_brows():
    s = _sample(12, "bald")
    curves = hair_strands(PosedHead.pose(s, _head(), _vertices(s)))
    assert not [c for c in curves if c.class_id == CLASS_IDS["HAIR"]]
    assert {c.class_id for c in curves} >= {CLASS_IDS["LEFT_BROW"], CLASS_IDS["RIGHT_BROW"]}


# ---- colour, gravity, budget ---------------------------------------------------------------------


def test_grey_fraction_and_melanin():
    """A strand stands for a lock of hairs (more at low detail): grey hair comes as locks of
    mixed grey share whose mean is the sample's grey fraction; coarse strands mix more than fine
    ones; a lock's colour brightens with its grey share; locks of one kind keep their melanin
    for Cycles, mixed locks are coloured by their albedo there."""
    s = _sample(13, "short")
    s = s.model_copy(update={"hair": s.hair.model_copy(update={"grey": 0.4, "melanin": 0.9, "redness": 0.2})})

    def locks(detail):
        curves = [
            c
            for c in hair_strands(PosedHead.pose(s, _head(), _vertices(s)), detail=detail)
            if c.class_id == CLASS_IDS["HAIR"]
        ]
        share = {"hair": 0.0, "hair_grey": 1.0, **{f"hair_grey{p}": p / 100 for p in (25, 50, 75)}}
        return curves, np.concatenate([np.full(len(c.points), share[c.name]) for c in curves])

    coarse, g_coarse = locks(0.44)
    fine, g_fine = locks(8.0)
    for g in (g_coarse, g_fine):
        assert abs(g.mean() - 0.4) < 0.05
    mixed = lambda g: np.mean((g > 0) & (g < 1))  # noqa: E731
    assert mixed(g_coarse) > 0.8 and mixed(g_fine) < mixed(g_coarse) - 0.2
    by_share = sorted(coarse + fine, key=lambda c: c.name)
    lum = {c.name: float(np.dot(c.material.base_color, [0.2126, 0.7152, 0.0722])) for c in by_share}
    names = [n for n in ("hair", "hair_grey25", "hair_grey50", "hair_grey75", "hair_grey") if n in lum]
    assert len(names) >= 4 and all(lum[a] < lum[b] for a, b in zip(names, names[1:]))
    pig = next(c for c in fine if c.name == "hair")
    grey = next(c for c in fine if c.name == "hair_grey")
    assert pig.material.melanin == pytest.approx(0.9) and pig.material.redness == pytest.approx(0.2)
    assert grey.material.melanin < 0.15 and pig.material.lock_color is None
    assert all(c.material.lock_color is not None for c in coarse if "_grey" in c.name and c.name != "hair_grey")
    assert pig.material.kind == "hair"
    # a third grey still reads dark: grey hairs brighten the lock by their share squared
    third = _luminance(hair_albedo_linear(0.9, 0.2, 1 / 3))
    assert third < 0.3 * _luminance(hair_albedo_linear(0.9, 0.2, 1.0))


def _luminance(rgb) -> float:
    return float(np.dot(rgb, [0.2126, 0.7152, 0.0722]))


def test_long_hair_falls_with_world_gravity():
    s = _sample(14, "long", age_years=30.0)
    v = _vertices(s)
    for g in (np.array([0.0, -1.0, 0.0]), np.array([0.5, -0.866, 0.0])):
        hair = next(c for c in hair_strands(PosedHead.pose(s, _head(), v), gravity=g) if c.name == "hair")
        tips = hair.points[:, -1].astype(np.float64) - hair.points[:, -4].astype(np.float64)
        length = np.linalg.norm(tips, axis=1)
        assert (length > 1e-4).mean() > 0.99, "strands collapsed at their tips"
        tips = tips[length > 1e-4] / length[length > 1e-4, None]
        assert np.median(tips @ g) > 0.8, f"tips do not hang along {g}"


def test_strand_budget_and_detail():
    s = _sample(15, "short", "full_beard", age_years=40.0, gender=0.9)
    v = _vertices(s)
    low = hair_strands(PosedHead.pose(s, _head(), v))
    n_low = sum(len(c.points) for c in low)
    assert n_low <= 12_000
    assert sum(len(c.points) for c in low if c.class_id == CLASS_IDS["HAIR"]) <= 8_000
    assert all(2 <= c.points.shape[1] <= 16 for c in low)
    high = hair_strands(PosedHead.pose(s, _head(), v), detail=2.0)
    hair_lo = sum(len(c.points) for c in low if c.class_id == CLASS_IDS["HAIR"])
    hair_hi = sum(len(c.points) for c in high if c.class_id == CLASS_IDS["HAIR"])
    assert 1.8 < hair_hi / hair_lo < 2.2
    r_lo = np.median(np.concatenate([c.radius[:, 0] for c in low if c.name == "hair"]))
    r_hi = np.median(np.concatenate([c.radius[:, 0] for c in high if c.name == "hair"]))
    assert r_hi < r_lo


def _path_over_reach(sample, detail: float) -> np.ndarray:
    """(s,) per scalp strand: length of its polyline over the distance from root to tip."""
    curves = [
        c
        for c in hair_strands(PosedHead.pose(sample, _head(), _vertices(sample)), detail=detail)
        if c.class_id == CLASS_IDS["HAIR"]
    ]
    pts = np.concatenate([c.points for c in curves]).astype(np.float64)
    path = np.linalg.norm(np.diff(pts, axis=1), axis=-1).sum(axis=1)
    return path / np.maximum(np.linalg.norm(pts[:, -1] - pts[:, 0], axis=-1), 1e-9)


@pytest.mark.parametrize("detail", [0.44, 1.2], ids=["fast-256px", "cycles-512px"])
def test_coils_are_drawn_not_suggested(detail):
    """Tightly coiled hair gets the points its coils need (about five a turn), at the fast
    back-end's low detail as at Cycles': each strand winds, so its path is several times the
    distance it covers (a helix of pitch p and radius r: sqrt(p^2 + (2 pi r)^2) / p). With too few
    points a coil was only suggested by a wander and read as spikes (path ~ reach)."""
    s = _sample(3, "afro", age_years=25.0)
    coily = s.model_copy(update={"hair": s.hair.model_copy(update={"curl": 1.0})})
    assert np.median(_path_over_reach(coily, detail)) > 2.0
    straight = s.model_copy(update={"hair": s.hair.model_copy(update={"style": "short", "curl": 0.0})})
    assert np.median(_path_over_reach(straight, detail)) < 1.3
