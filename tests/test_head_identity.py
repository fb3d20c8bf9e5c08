"""Identity: MakeHuman's macro weighting, parameter validation, shapes and their symmetry."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from facefarm.head import macro as hm
from facefarm.head.model import IdentityParams
from facefarm.scene.classes import CLASS_IDS

MIRROR_X = np.array([-1.0, 1.0, 1.0])


def asymmetry(head, v) -> float:
    return float(np.abs(v[head.mirror] * MIRROR_X - v).max())


# ---------------------------------------------------------------- MakeHuman's weighting
@pytest.mark.parametrize("years,slider", [(1, 0.0), (10, 0.1875), (25, 0.5), (90, 1.0), (57.5, 0.75)])
def test_age_mapping(years, slider):
    assert hm.age_slider(years) == pytest.approx(slider)
    assert hm.age_years(slider) == pytest.approx(years)


@pytest.mark.parametrize("years,dominant", [(1, "baby"), (10, "child"), (25, "young"), (90, "old")])
def test_age_breakpoints_select_one_target_set(years, dominant):
    f = hm.factors(
        age=hm.age_slider(years),
        gender=0.5,
        ancestry={a: 1 / 3 for a in hm.ANCESTRIES},
        muscle=0.5,
        weight=0.5,
        proportions=0.5,
    )
    assert f[dominant] == pytest.approx(1.0, abs=1e-3)
    assert sum(f[a] for a in hm.AGES) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("seed", range(5))
def test_macro_weights_are_partitions_of_unity(seed):
    rng = np.random.default_rng(seed)
    anc = rng.dirichlet([1, 1, 1])
    f = hm.factors(
        age=rng.uniform(),
        gender=rng.uniform(),
        ancestry=dict(zip(hm.ANCESTRIES, anc)),
        muscle=rng.uniform(),
        weight=rng.uniform(),
        proportions=0.5,
    )
    names = hm.target_names()
    w = dict(zip(names, hm.target_weights(names, f)))
    race = sum(v for k, v in w.items() if k.split("-")[0] in hm.ANCESTRIES)
    universal = sum(v for k, v in w.items() if k.startswith("universal-"))
    assert race == pytest.approx(1.0, abs=2e-3)  # ancestry x gender x age factors each sum to 1
    assert universal == pytest.approx(1.0, abs=2e-3)
    assert all(v >= 0 for v in w.values())
    # proportions 0.5 ("regular") applies no proportions target at all
    assert sum(v for k, v in w.items() if k.startswith("proportions/")) == 0.0


def test_weights_follow_file_name_factors():
    f = hm.factors(
        age=0.75,
        gender=0.25,
        ancestry={"african": 0.2, "asian": 0.3, "caucasian": 0.5},
        muscle=1.0,
        weight=0.0,
        proportions=1.0,
    )
    (w,) = hm.target_weights(["caucasian-male-old"], f)
    assert w == pytest.approx(0.5 * 0.25 * 0.5)
    (w,) = hm.target_weights(["universal-female-young-maxmuscle-minweight"], f)
    assert w == pytest.approx(0.75 * 0.5 * 1.0 * 1.0)
    (w,) = hm.target_weights(["proportions/female-old-maxmuscle-minweight-idealproportions"], f)
    assert w == pytest.approx(0.75 * 0.5)


# ---------------------------------------------------------------- IdentityParams
def test_identity_params_defaults_and_freezing():
    p = IdentityParams()
    assert sum(p.ancestry.values()) == pytest.approx(1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.age_years = 3.0
    with pytest.raises(TypeError):
        p.ancestry["asian"] = 1.0
    assert hash(p) == hash(IdentityParams())
    assert p == IdentityParams()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"ancestry": {"african": 0.5, "asian": 0.2, "caucasian": 0.2}}, "sum to 1"),
        ({"ancestry": {"african": 1.0, "asian": 0.0}}, "exactly the keys"),
        ({"age_years": 0.5}, "age_years"),
        ({"age_years": 95.0}, "age_years"),
        ({"weight": 1.2}, "weight"),
        ({"details": {"nose-hump": 1.5}}, "within -1..1"),
    ],
)
def test_identity_params_reject_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        IdentityParams(**kwargs)


def test_unknown_or_out_of_range_details(head):
    with pytest.raises(KeyError, match="identity_names"):
        head.shape(IdentityParams(details={"nose-size": 0.2}))
    with pytest.raises(ValueError, match="0.0..1.0"):
        head.shape(IdentityParams(details={"head-oval": -0.5}))


# ---------------------------------------------------------------- shapes
def test_identity_names_are_stable_and_signed(head):
    names = head.identity_names
    assert len(names) > 100 and len(set(names)) == len(names)
    for expected in (
        "nose-hump",
        "chin-width",
        "mouth-scale-horiz",
        "l-ear-scale",
        "r-ear-scale",
        "head-fat",
        "eyebrows-trans-down-up",
        "neck-scale-horiz",
    ):
        assert expected in names
        assert head.identity_ranges[expected] == (-1.0, 1.0)
    assert head.identity_ranges["head-oval"] == (0.0, 1.0)


def test_shape_is_float32_finite_and_deterministic(head):
    p = IdentityParams(age_years=42.0, gender=0.8, details={"nose-hump": 0.3, "l-ear-scale": -0.5})
    a, b = head.shape(p), head.shape(p)
    assert a.dtype == np.float32 and a.shape == (head.n_vertices, 3)
    assert np.isfinite(a).all() and np.array_equal(a, b)


def test_default_identity_is_close_to_but_not_the_base_mesh(head):
    # MakeHuman's default human applies the race targets at 1/3 each; on the face they are small
    face = (head.vertex_part == 0) & ~np.isin(head.vertex_class, [CLASS_IDS["NECK"], CLASS_IDS["MOUTH_INTERIOR"]])
    d = np.abs(head.shape(IdentityParams()) - head.neutral)[face].max()
    assert 0.0005 < d < 0.02


def test_age_1_head_is_smaller_than_age_30(head):
    def size(v):
        face = v[(head.vertex_part == 0) & (head.vertex_class != CLASS_IDS["NECK"])]
        return np.ptp(face, axis=0)

    baby, adult = size(head.shape(IdentityParams(age_years=1))), size(head.shape(IdentityParams(age_years=30)))
    assert (baby < 0.85 * adult).all()
    eyes = lambda p: np.linalg.norm(np.diff(head.eye_centres(head.shape(p)), axis=0))  # noqa: E731
    assert eyes(IdentityParams(age_years=1)) < 0.75 * eyes(IdentityParams(age_years=30))


def test_weight_and_fat_change_the_right_places(head):
    # MakeHuman's weight targets reshape the neck and shoulders; a young adult's face keeps
    # its shape (the face gets fuller through details such as head-fat)
    neck = head.vertex_class == CLASS_IDS["NECK"]
    d = np.linalg.norm(head.shape(IdentityParams(weight=1.0)) - head.shape(IdentityParams(weight=0.0)), axis=1)
    assert d[neck].max() > 0.002

    def width(p):
        v = head.shape(p)
        cheeks = v[(head.vertex_class == CLASS_IDS["SKIN"]) & (np.abs(v[:, 1] + 0.06) < 0.01) & (v[:, 2] > -0.04)]
        return np.ptp(cheeks[:, 0])

    assert width(IdentityParams(details={"head-fat": 1.0})) > width(IdentityParams()) + 0.003
    assert width(IdentityParams(details={"head-fat": -1.0})) < width(IdentityParams()) - 0.003


def test_a_detail_moves_its_own_region(head):
    base = head.shape(IdentityParams())
    for name, cls in (
        ("nose-hump", "NOSE"),
        ("l-ear-scale", "LEFT_EAR"),
        ("mouth-upperlip-volume", "TOP_LIP"),
        ("r-eye-bag", "RIGHT_EYE"),
    ):
        moved = np.linalg.norm(head.shape(IdentityParams(details={name: 1.0})) - base, axis=1)
        assert moved.max() > 0.001, name
        centre = (moved[:, None] * base).sum(axis=0) / moved.sum()
        target = base[head.vertex_class == CLASS_IDS[cls]].mean(axis=0)
        assert np.linalg.norm(centre - target) < 0.03, name


def test_eyes_follow_the_face(head):
    base = head.shape(IdentityParams())
    v = head.shape(IdentityParams(details={"l-eye-trans-down-up": 1.0}))
    r = [np.linalg.norm(v[head.eyes_slice(e)] - head.eye_centres(v)[e], axis=1) for e in (0, 1)]
    assert np.ptp(r[1]) < 1e-5  # still a sphere
    c0, c1 = head.eye_centres(base), head.eye_centres(v)
    assert (c1[1, 1] - c0[1, 1]) - (c1[0, 1] - c0[0, 1]) > 0.001  # the left eye rose against the right
    grown = head.shape(
        IdentityParams(details={"head-scale-vert": 1.0, "head-scale-horiz": 1.0, "head-scale-depth": 1.0})
    )
    assert np.linalg.norm(grown[head.eyes_slice(1)] - head.eye_centres(grown)[1], axis=1).mean() > r[0].mean() * 1.02


def test_base_mesh_and_macros_are_mirror_symmetric(head):
    assert asymmetry(head, head.neutral) < 1e-7
    rng = np.random.default_rng(7)
    for _ in range(3):
        anc = rng.dirichlet([1, 1, 1])
        p = IdentityParams(
            age_years=float(rng.uniform(1, 90)),
            gender=float(rng.uniform()),
            ancestry=dict(zip(("african", "asian", "caucasian"), map(float, anc))),
            muscle=float(rng.uniform()),
            weight=float(rng.uniform()),
            proportions=float(rng.uniform()),
        )
        # MakeHuman's targets store 3 decimals of a decimetre: symmetric to 0.1 mm
        assert asymmetry(head, head.shape(p)) < 1.5e-4


def test_symmetric_details_give_symmetric_heads(head):
    rng = np.random.default_rng(11)
    details = {}
    for name in head.identity_names:
        if name.startswith("r-") or name.endswith("-trans-in-out"):
            continue  # right side follows the left; trans-in-out is a sideways shift by design
        lo, hi = head.identity_ranges[name]
        details[name] = float(rng.uniform(lo, hi) * 0.3)
        if name.startswith("l-"):
            details["r-" + name[2:]] = details[name]
    assert asymmetry(head, head.shape(IdentityParams(details=details))) < 1e-3
    shifted = head.shape(IdentityParams(details={"nose-trans-in-out": 1.0}))
    assert asymmetry(head, shifted) > 1e-3  # and the asymmetric ones really are
