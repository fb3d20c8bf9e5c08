"""Jaw landmarks in the annotators' convention (``landmarks_contour``): on the face's outline."""

from __future__ import annotations

import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from facefarm.catalog import load_catalog, resolve  # noqa: E402
from facefarm.sample.labels import FACE_CLASSES  # noqa: E402

pytestmark = pytest.mark.slow

#: Classes of the face's front (the segmentation face box's): a pixel of one of these is inside
#: the outline (the heads here have no beard).
FACE = list(FACE_CLASSES)


@pytest.fixture(scope="module")
def turned(head):
    """Bare default-catalog heads turned 35 degrees either way and frontal: (yaw, scene, result, labels)."""
    from facefarm.compose.compositor import compose
    from facefarm.render.backends import backend
    from facefarm.render.pyrender.renderer import PyrenderRenderer
    from facefarm.sample.labels import landmark_labels

    cat = load_catalog("facefarm/assets/catalogs/default.json")
    renderer = PyrenderRenderer()
    out = []
    try:
        for index in range(4):
            for yaw in (-35.0, 0.0, 35.0):
                s = resolve(cat, 0, index)
                s = s.model_copy(
                    update={
                        "head_pose": s.head_pose.model_copy(update={"yaw_deg": yaw, "pitch_deg": 0.0, "roll_deg": 0.0}),
                        "hair": s.hair.model_copy(update={"style": "bald"}),
                        "facial_hair": s.facial_hair.model_copy(update={"style": "none"}),
                        "glasses": s.glasses.model_copy(update={"present": False}),
                        "headwear": s.headwear.model_copy(update={"id": "none"}),
                        "camera": s.camera.model_copy(update={"width": 192, "height": 192}),
                    }
                )
                scene = compose(s, head, backend("pyrender").strands)
                result = renderer.render(scene)
                out.append((yaw, scene, result, landmark_labels(scene, result)))
    finally:
        renderer.close()
    return out


def _outside_within(seg: np.ndarray, uv: np.ndarray, direction: np.ndarray, steps_px: float) -> bool:
    """Does a pixel off the face front lie within ``steps_px`` from ``uv`` along ``direction``?"""
    for t in np.arange(0.5, steps_px + 0.01, 0.5):
        u, v = (uv + t * direction).astype(int)
        if not (0 <= v < seg.shape[0] and 0 <= u < seg.shape[1]) or seg[v, u] not in FACE:
            return True
    return False


def test_far_jaw_points_sit_on_the_cheek_outline(turned):
    on_outline = {"contour": [], "xray": []}
    for yaw, scene, result, labels in turned:
        if yaw == 0.0:
            continue
        uv, contour = labels["uv"][:17], labels["contour"]["uv"][:17]
        centre = labels["uv"][30]  # the nose tip: the far side lies beyond it in the image
        far = np.flatnonzero(~labels["visible"][:17])
        assert len(far) >= 3  # a 35-degree turn hides the far jaw's anchored points
        assert labels["contour"]["visible"][far].mean() >= 0.8  # on the outline, they are seen
        for i in far:
            away = np.array([np.sign(contour[i, 0] - centre[0]), 0.0])
            on_outline["contour"].append(_outside_within(result.segmentation, contour[i], away, 3.0))
            on_outline["xray"].append(_outside_within(result.segmentation, uv[i], away, 3.0))
    assert np.mean(on_outline["contour"]) >= 0.9, on_outline
    assert np.mean(on_outline["xray"]) <= 0.5  # the anchored points lie inside the face


def test_frontal_contour_stays_near_the_anchors_and_other_points_are_unchanged(turned):
    for yaw, scene, result, labels in turned:
        uv, contour = labels["uv"][:70], labels["contour"]["uv"]
        np.testing.assert_array_equal(contour[17:48], uv[17:48])
        np.testing.assert_array_equal(contour[68:], uv[68:70])
        np.testing.assert_array_equal(labels["contour"]["visible"][17:48], labels["visible"][17:48])
        if yaw == 0.0:
            eye = np.linalg.norm(uv[45] - uv[36])
            assert np.linalg.norm(contour[:17] - uv[:17], axis=1).max() < 0.15 * eye
            assert labels["contour"]["visible"][:17].all()


LIP_CLASSES = [10, 11]  # TOP_LIP, BOTTOM_LIP


def test_frontal_contour_lips_stay_near_the_xray_lips(turned):
    for yaw, scene, result, labels in turned:
        if yaw != 0.0:
            continue
        uv, contour = labels["uv"][48:68], labels["contour"]["uv"][48:68]
        eye = np.linalg.norm(labels["uv"][45] - labels["uv"][36])
        moved = np.linalg.norm(contour - uv, axis=1)
        assert moved.max() < 0.06 * eye, moved / eye
        assert moved.max() > 0.0  # the outer lip points move onto the rendered lip edge
        assert abs(moved[0] - moved[6]) < 0.02 * eye  # mirrored corners move alike


def test_far_side_contour_lips_sit_on_the_lip_edge(turned):
    on_edge = []
    for yaw, scene, result, labels in turned:
        if yaw == 0.0:
            continue
        seg, contour = result.segmentation, labels["contour"]["uv"]
        # the far side lies beyond the upper lip's middle in the image (image right for yaw > 0)
        far_outer = [i for i in range(48, 60) if (contour[i, 0] - contour[51, 0]) * np.sign(yaw) > 0]
        for i in far_outer:
            u, v = np.floor(contour[i]).astype(int)
            patch = np.isin(seg[v - 1 : v + 2, u - 1 : u + 2], LIP_CLASSES)
            on_edge.append(bool(patch.any() and not patch.all()))  # lip and non-lip within 1 px
    assert len(on_edge) >= 12
    assert np.mean(on_edge) >= 0.9, on_edge
