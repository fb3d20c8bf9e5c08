"""Eyeballs: subdivided onto their sphere and painted with a round pupil and iris."""

from __future__ import annotations

import numpy as np

from facefarm.compose import eyes


def _eyeball(head, eye: int):
    sl = head.eyes_slice(eye)
    faces = head.faces[np.isin(head.faces, np.arange(sl.start, sl.stop)).all(axis=1)] - sl.start
    return head.neutral[sl].astype(np.float64), faces


def test_painted_eyeball_stays_on_its_sphere_with_a_round_pupil_and_iris(head):
    v, f = _eyeball(head, 0)
    centre, axis = head.eye_centres(head.neutral)[0], head.eye_axes(head.neutral)[0]
    sv, sf, source, normals, colour = eyes.painted_eyeball(v, f, v, centre, axis, (0.3, 0.2, 0.1))
    assert len(source) == len(sf) and set(source) == set(range(len(f)))  # every face kept or split
    radius = np.linalg.norm(v - centre, axis=1).mean()
    np.testing.assert_allclose(np.linalg.norm(sv - centre, axis=1), radius, atol=1e-7)
    np.testing.assert_allclose(np.einsum("ij,ij->i", normals, (sv - centre) / radius), 1.0, atol=1e-5)
    d = (sv - centre) / radius
    angle = np.arccos(np.clip(d @ axis, -1, 1))
    # what the rasteriser draws: colours interpolated across each triangle. Points on the front
    # of the eyeball show pupil where they are within the pupil's angle, and only there (the
    # template's rings are ~10 degrees apart: painted on them, the pupil drew as a bar)
    rng = np.random.default_rng(0)
    front = np.flatnonzero((angle[sf] < np.radians(25.0)).any(axis=1))
    w = rng.dirichlet(np.ones(3), size=(len(front), 16))  # (faces, points, corners)
    points = np.einsum("fpc,fcd->fpd", w, d[sf[front]]).reshape(-1, 3)
    shown = np.einsum("fpc,fcd->fpd", w, colour[sf[front]]).reshape(-1, 3)
    true_angle = np.arccos(np.clip(points / np.linalg.norm(points, axis=1, keepdims=True) @ axis, -1, 1))
    dark = shown.sum(axis=1) < 0.5 * (
        3 * 0.01 + sum(eyes.eye_colors(np.array([eyes.PUPIL_HALF_ANGLE + 0.02]), (0.3, 0.2, 0.1))[0])
    )
    wrong = dark != (true_angle < eyes.PUPIL_HALF_ANGLE)
    away = np.abs(true_angle - eyes.PUPIL_HALF_ANGLE) > np.radians(1.5)  # the edge itself blurs
    assert wrong[away].mean() < 0.02


def _default_catalog(**changes):
    import json

    from facefarm import paths
    from facefarm.catalog import load_catalog

    data = json.loads((paths.ASSETS / "catalogs" / "default.json").read_text())
    data.update(changes)
    return load_catalog(data)


def test_identities_look_straight_ahead_at_rest(head):
    """Identity targets move and size the eye sockets; the eyeballs follow them but keep looking
    straight ahead (the sockets' shear turned some identities' eyes up to 6 degrees outwards each
    and down), and stay spheres of their fitted size."""
    from facefarm.catalog import resolve
    from facefarm.compose.compositor import identity_params

    cat = _default_catalog()
    for i in range(12):
        rest = head.shape(identity_params(resolve(cat, 0, i, 12))).astype(np.float64)
        axes = head.eye_axes(rest)
        np.testing.assert_allclose(axes, [[0, 0, 1], [0, 0, 1]], atol=1e-5)
        for e, c in enumerate(head.eye_centres(rest)):
            r = np.linalg.norm(rest[head.eyes_slice(e)] - c, axis=1)
            r0 = np.linalg.norm(head.neutral[head.eyes_slice(e)] - head.eye_centres(head.neutral)[e], axis=1)
            np.testing.assert_allclose(r / r.mean(), r0 / r0.mean(), atol=1e-4)  # a scaled template


def test_eye_labels_follow_the_gaze_and_the_lids(head):
    """`eyes` in the labels: gaze vectors are the resolved gaze turned into the camera frame, each
    from its eyeball centre through its pupil landmark; openness is 1 with the lids at rest, near 0
    for a blink and above 1 for surprise; a mirrored record swaps and mirrors the eyes."""
    from facefarm.catalog import resolve
    from facefarm.compose.compositor import compose
    from facefarm.compose.eyes import gaze_rotation
    from facefarm.sample.labels import eye_labels, head_pose_in_camera

    def scene_of(expression):
        cat = _default_catalog(expression=expression, render={"resolution": [64, 64]})
        sample = resolve(cat, 0, 1, 4)
        return sample, compose(sample, head)

    sample, scene = scene_of({"presets": "neutral", "intensity": 0.0, "blink_probability": 0.0})
    eyes_cam = eye_labels(scene)
    ex = sample.expression
    rot = head_pose_in_camera(scene)["rotation"]  # head -> camera
    expected = rot @ gaze_rotation(ex.gaze_yaw_deg, ex.gaze_pitch_deg) @ np.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(eyes_cam["gaze"], [expected, expected], atol=1e-5)
    pupils = scene.camera.to_camera(scene.landmarks.points[68:70])
    towards = pupils - eyes_cam["centre"]
    np.testing.assert_allclose(towards / np.linalg.norm(towards, axis=1, keepdims=True), eyes_cam["gaze"], atol=1e-6)
    assert abs(ex.gaze_yaw_deg) + abs(ex.gaze_pitch_deg) > 1.0  # the check above had a gaze to follow
    gaze_lids = eyes_cam["openness"]  # the lids follow the gaze a little
    assert np.all(np.abs(gaze_lids - 1.0) < 0.25), gaze_lids

    _, closed = scene_of({"presets": "neutral", "intensity": 0.0, "blink_probability": 1.0})
    assert np.all(eye_labels(closed)["openness"] < 0.1), eye_labels(closed)["openness"]
    _, wide = scene_of({"presets": "surprise", "intensity": 1.0, "blink_probability": 0.0})
    assert np.all(eye_labels(wide)["openness"] > 1.05), eye_labels(wide)["openness"]
    assert eye_labels(closed)["aperture_m"].max() < 0.5 * eyes_cam["aperture_m"].min()
