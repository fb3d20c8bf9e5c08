"""Expression basis: the 52 Face Units move the right regions, on any identity."""

from __future__ import annotations

import numpy as np
import pytest

from facefarm.head.model import IdentityParams
from facefarm.scene.classes import CLASS_IDS

MIRROR_X = np.array([-1.0, 1.0, 1.0])


@pytest.fixture(scope="module")
def adult(head):
    return head.shape(IdentityParams(age_years=30.0))


def test_52_arkit_units(head):
    names = head.expression_names
    assert len(names) == 52 and len(set(names)) == 52
    for n in ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft", "tongueOut", "browInnerUp"):
        assert n in names


def test_every_unit_moves_something(head, adult):
    for n in head.expression_names:
        assert np.abs(head.expression_offsets(adult, {n: 1.0})).max() > 0.001, n


def test_offsets_are_linear_float32_and_zero_without_weights(head, adult):
    o = head.expression_offsets(adult, {})
    assert o.dtype == np.float32 and o.shape == adult.shape and not o.any()
    a = head.expression_offsets(adult, {"mouthPucker": 0.4})
    b = head.expression_offsets(adult, {"mouthPucker": 0.8})
    assert np.allclose(2 * a, b, atol=1e-6)
    with pytest.raises(KeyError, match="expression_names"):
        head.expression_offsets(adult, {"smile": 1.0})


def test_jaw_open_lowers_chin_lip_and_lower_teeth(head, adult):
    o = head.expression_offsets(adult, {"jawOpen": 1.0})
    lower_teeth = head.vertex_part == head.part_names.index("teeth_lower")
    upper_teeth = head.vertex_part == head.part_names.index("teeth_upper")
    assert o[lower_teeth, 1].mean() < -0.01
    assert np.abs(o[upper_teeth]).max() < 1e-6  # the skull does not move
    lip = lambda c: o[head.vertex_class == CLASS_IDS[c], 1].mean()  # noqa: E731
    assert lip("BOTTOM_LIP") < -0.01
    assert lip("BOTTOM_LIP") < lip("TOP_LIP") - 0.01
    # the chin: the lowest face skin on the front midline (below it is NECK)
    front_mid = (head.vertex_class == CLASS_IDS["SKIN"]) & (np.abs(adult[:, 0]) < 0.01) & (adult[:, 2] > -0.02)
    chin = np.flatnonzero(front_mid)[np.argmin(adult[front_mid, 1])]
    assert adult[chin, 1] < -0.08
    assert o[chin, 1] < -0.005


def test_blink_left_closes_the_subjects_left_upper_lid(head, adult):
    o = head.expression_offsets(adult, {"eyeBlinkLeft": 1.0})
    c = head.eye_centres(adult)
    skin = head.vertex_part == 0
    # visible upper lids: skin above and in front of each eyeball centre (the Face Units also
    # nudge the other eye's inner corner and hidden socket vertices a little)
    near = lambda e: (
        skin
        & (np.linalg.norm(adult - c[e], axis=1) < 0.02)
        & (adult[:, 1] > c[e][1])  # noqa: E731
        & (adult[:, 2] > c[e][2])
        & (np.abs(adult[:, 0] - c[e][0]) < 0.012)
    )
    assert o[near(1), 1].min() < -0.005  # the left upper lid comes down
    assert np.abs(o[near(0)]).max() < 0.05 * np.abs(o[near(1)]).max()  # the right one stays
    lash_l = head.vertex_part == head.part_names.index("lash_l")
    assert o[lash_l, 1].min() < -0.005


def test_smile_right_lifts_the_subjects_right_mouth_corner(head, adult):
    o = head.expression_offsets(adult, {"mouthSmileRight": 1.0})
    lips = np.isin(head.vertex_class, [CLASS_IDS["TOP_LIP"], CLASS_IDS["BOTTOM_LIP"]])
    right_corner = np.flatnonzero(lips)[np.argmin(adult[lips, 0])]
    left_corner = np.flatnonzero(lips)[np.argmax(adult[lips, 0])]
    assert o[right_corner, 1] > 0.003 and o[right_corner, 0] < 0  # up and outwards (-x)
    assert np.linalg.norm(o[left_corner]) < 0.2 * np.linalg.norm(o[right_corner])


def test_left_and_right_units_mirror_each_other(head):
    v = head.neutral
    for n in head.expression_names:
        if not n.endswith("Left"):
            continue
        left = head.expression_offsets(v, {n: 1.0})
        right = head.expression_offsets(v, {n[:-4] + "Right": 1.0})
        # the Face Units are symmetric to about 1 mm out of several centimetres
        assert np.abs(left[head.mirror] * MIRROR_X - right).max() < 0.0025, n
        assert (left[:, 0] != 0).any()


def test_eye_look_rotates_the_eyeball_about_its_centre(head, adult):
    o = head.expression_offsets(adult, {"eyeLookUpLeft": 1.0})
    moved = adult + o
    assert np.allclose(head.eye_centres(moved), head.eye_centres(adult), atol=1e-5)
    r0 = np.linalg.norm(adult[head.eyes_slice(1)] - head.eye_centres(adult)[1], axis=1)
    r1 = np.linalg.norm(moved[head.eyes_slice(1)] - head.eye_centres(moved)[1], axis=1)
    assert np.allclose(r0, r1, atol=1e-6)
    up = head.eye_axes(moved)[1, 1] - head.eye_axes(adult)[1, 1]
    assert up > 0.1  # about 10 degrees
    assert np.abs(o[head.eyes_slice(0)]).max() < 1e-7


def test_offsets_scale_with_the_head(head):
    """A baby's jaw opens a baby's distance, a large head's further (the units are authored on the base mesh)."""

    def chin_drop(p):
        v = head.shape(p)
        o = head.expression_offsets(v, {"jawOpen": 1.0})
        return -o[head.vertex_class == CLASS_IDS["BOTTOM_LIP"], 1].mean()

    baby, adult = chin_drop(IdentityParams(age_years=1)), chin_drop(IdentityParams(age_years=30))
    assert 0.5 * adult < baby < 0.85 * adult
    ratio = np.linalg.norm(np.diff(head.eye_centres(head.shape(IdentityParams(age_years=1))), axis=0)) / np.linalg.norm(
        np.diff(head.eye_centres(head.shape(IdentityParams(age_years=30))), axis=0)
    )
    assert baby / adult == pytest.approx(ratio, abs=0.15)


@pytest.mark.parametrize(
    "params",
    [
        IdentityParams(age_years=1),
        IdentityParams(age_years=90, weight=1.0),
        IdentityParams(weight=0.0, muscle=1.0, gender=1.0),
    ],
)
def test_extreme_identities_keep_the_mouth_intact(head, params):
    """Open jaw on extreme shapes: lips stay ordered and no face flips inside out."""
    v = head.shape(params)
    w = v + head.expression_offsets(v, {"jawOpen": 1.0, "mouthSmileLeft": 0.5, "mouthSmileRight": 0.5})
    skin = head.face_part == 0
    f = head.faces[skin]
    n0 = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    n1 = np.cross(w[f[:, 1]] - w[f[:, 0]], w[f[:, 2]] - w[f[:, 0]])
    cos = (n0 * n1).sum(1) / (np.linalg.norm(n0, axis=1) * np.linalg.norm(n1, axis=1))
    # a baby's chin folds over its short neck in a hidden crease; elsewhere no face turns over
    assert (cos > -0.2).mean() > 0.99
    top = w[head.vertex_class == CLASS_IDS["TOP_LIP"], 1].mean()
    bottom = w[head.vertex_class == CLASS_IDS["BOTTOM_LIP"], 1].mean()
    assert top > bottom + 0.005
