"""Eyebrows: where they sit (brow-lid gap against real faces), how sex and age move them, and
their landmarks on the rendered brow."""

from __future__ import annotations

import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from facefarm.catalog import load_catalog, resolve  # noqa: E402
from facefarm.compose.compositor import identity_params  # noqa: E402
from facefarm.compose.hair.brows import identity_brow  # noqa: E402
from facefarm.scene.classes import CLASS_IDS  # noqa: E402

#: Brow-lid gap of real faces in outer-eye-corner distances: 0.165 in the mean of dlib's 300-W
#: predictor over real faces (OpenFace's TEMPLATE); the identities' own spread around it.
REAL_GAP = (0.14, 0.19)
EQUAL = {"african": 1 / 3, "asian": 1 / 3, "caucasian": 1 / 3}


def person(age: float = 30.0, gender: float = 0.5, index: int = 0, **eyebrows):
    """Default-catalog sample ``index`` made a mean face: no shape details, equal ancestry blend,
    average build, frontal, neutral, bald and bare, with the given age, gender and eyebrows."""
    s = resolve(load_catalog("facefarm/assets/catalogs/default.json"), 0, index)
    pose = s.head_pose.model_copy(update={"yaw_deg": 0.0, "pitch_deg": 0.0, "roll_deg": 0.0})
    expression = s.expression.model_copy(
        update={"units": {k: 0.0 for k in s.expression.units}, "blink": 0.0, "gaze_yaw_deg": 0.0, "gaze_pitch_deg": 0.0}
    )
    return s.model_copy(
        update={
            "age_years": age,
            "gender": gender,
            "muscle": 0.5,
            "weight": 0.5,
            "proportions": 0.5,
            "ancestry_weights": EQUAL,
            "shape_details": {},
            "head_pose": pose,
            "expression": expression,
            "hair": s.hair.model_copy(update={"style": "bald"}),
            "facial_hair": s.facial_hair.model_copy(update={"style": "none"}),
            "glasses": s.glasses.model_copy(update={"present": False}),
            "headwear": s.headwear.model_copy(update={"id": "none"}),
            "eyebrows": s.eyebrows.model_copy(update={"thickness": 0.5, "density": 0.8, **eyebrows}),
        }
    )


def gap(points: np.ndarray) -> float:
    """Brow-lid gap of (>= 68, 2+) points with y up, in |p36 - p45| (as bench/identity.py)."""
    p = np.asarray(points, float)[:68, :2]
    return float((p[17:27, 1].mean() - p[[37, 38, 43, 44], 1].mean()) / np.linalg.norm(p[45] - p[36]))


def brow_of(head, sample):
    rest = head.shape(identity_params(sample)).astype(np.float64)
    return identity_brow(sample, head, rest), rest


def test_mean_adult_brow_lid_gap_is_real(head):
    """The record's brow landmarks of neutral adult mean faces sit as far above the lids as real
    brows: each identity within the real spread, their mean near the real mean."""
    from facefarm.compose.compositor import compose

    gaps = []
    for i in range(4):  # four identities: their own random brow height and arch
        for g in (0.15, 0.85):
            scene = compose(person(gender=g, index=i), head)
            gaps.append(gap(scene.landmarks.points[:70]))
    assert all(REAL_GAP[0] - 0.03 < x < REAL_GAP[1] + 0.03 for x in gaps), gaps
    assert REAL_GAP[0] < np.mean(gaps) < REAL_GAP[1], gaps


def test_priors_move_brows_with_sex_and_age(head):
    """Men's brows lower, flatter and thicker than women's; elders' sparser with a lower tail;
    small children's thinner, sparser and lighter (same identity draws throughout)."""
    man, rest_m = brow_of(head, person(gender=1.0))
    woman, rest_w = brow_of(head, person(gender=0.0))
    lm_m = man.landmark_xy()
    lm_w = woman.landmark_xy()
    # in neutral-chart metres: the same chart for both, so lower means lower on the face
    assert lm_m[:, 1].mean() < lm_w[:, 1].mean() - 0.001
    arch = lambda b: b.line_y[2] - 0.5 * (b.line_y[0] + b.line_y[4])  # noqa: E731
    assert arch(man) < arch(woman)
    assert man.height.mean() > 1.15 * woman.height.mean()
    assert man.density > woman.density

    adult, _ = brow_of(head, person(age=35.0))
    elder, _ = brow_of(head, person(age=80.0))
    child, _ = brow_of(head, person(age=4.0))
    assert elder.density < 0.85 * adult.density
    assert elder.line_y[4] < adult.line_y[4] - 0.0008  # the tail droops
    assert child.density < 0.75 * adult.density and 0.85 * adult.melanin <= child.melanin < adult.melanin
    # thinner relative to the child's own eyes
    assert child.height.mean() / child.x[-1] < 0.9 * adult.height.mean() / adult.x[-1]

    thick, _ = brow_of(head, person(thickness=1.0))
    thin, _ = brow_of(head, person(thickness=0.0))
    assert thick.height.mean() > 1.4 * thin.height.mean()


def test_brow_hairs_grow_in_the_band_pointing_the_right_way(head):
    """Hairs grow from the identity's band: the medial head's upwards, the tail's laterally."""
    from facefarm.compose.compositor import compose

    scene = compose(person(index=1), head)
    brows = {c.name: np.asarray(c.points) for c in scene.curves if c.name.startswith("brow_l")}
    pts = np.concatenate(list(brows.values()))
    assert len(pts) > 100
    d = pts[:, -1] - pts[:, 0]
    x = pts[:, 0, 0]
    head_end, tail = x < np.quantile(x, 0.12), x > np.quantile(x, 0.8)
    assert np.median(d[head_end, 1]) > np.median(np.abs(d[head_end, 0]))  # up more than sideways
    assert np.median(d[tail, 0]) > 2 * np.median(np.abs(d[tail, 1]))  # lateral (+x on the left)


@pytest.mark.slow
def test_brow_landmarks_are_on_brow_pixels(head):
    """Each brow landmark in a 256 px frontal render is on its own brow (hairs or the skin
    labelled brow under them; on the upper edge, so at most a pixel off it) and visible."""
    from facefarm.compose.compositor import compose
    from facefarm.render.pyrender.renderer import PyrenderRenderer
    from facefarm.sample.labels import landmark_labels

    r = PyrenderRenderer()
    try:
        for i, g in ((0, 0.15), (2, 0.85), (3, 0.5)):
            scene = compose(person(gender=g, index=i), head)
            result = r.render(scene)
            labels = landmark_labels(scene, result)
            seg = np.asarray(result.segmentation)
            uv = np.asarray(labels["uv"])[17:27]
            col, row = np.floor(uv[:, 0]).astype(int), np.floor(uv[:, 1]).astype(int)
            want = np.array([CLASS_IDS["RIGHT_BROW"]] * 5 + [CLASS_IDS["LEFT_BROW"]] * 5)
            assert (seg[row, col] == want).sum() >= 8, (i, seg[row, col])
            near = [(seg[r - 1 : r + 2, c - 1 : c + 2] == w).any() for r, c, w in zip(row, col, want)]
            assert all(near), (i, near)
            assert np.asarray(labels["visible"])[17:27].all()
    finally:
        r.close()
