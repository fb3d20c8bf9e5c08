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
