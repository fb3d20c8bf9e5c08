"""The compositor: a resolved sample -> Scene. Pure numpy; no renderer needed."""

from __future__ import annotations

import numpy as np
import pytest

from facefarm.catalog import load_catalog, resolve
from facefarm.catalog.skin_tone import skin_albedo_linear
from facefarm.compose.compositor import compose
from facefarm.geometry.pose import pose_matrix
from facefarm.scene.classes import CLASS_IDS

VALID_IDS = set(CLASS_IDS.values())


@pytest.fixture(scope="module")
def catalog():
    return load_catalog("facefarm/assets/catalogs/default.json")


def _with(sample, **updates):
    """A copy of a resolved sample with nested fields replaced, e.g. head_pose={"yaw_deg": 30}."""
    upd = {}
    for key, value in updates.items():
        part = getattr(sample, key)
        upd[key] = part.model_copy(update=value) if isinstance(value, dict) else value
    return sample.model_copy(update=upd)


def _mesh(scene, name):
    return next(m for m in scene.meshes if m.name == name)


def test_compose_is_deterministic(catalog, head):
    a, b = compose(resolve(catalog, 0, 5), head), compose(resolve(catalog, 0, 5), head)
    assert len(a.meshes) == len(b.meshes)
    for ma, mb in zip(a.meshes, b.meshes):
        np.testing.assert_array_equal(ma.vertices, mb.vertices)
        np.testing.assert_array_equal(ma.face_class, mb.face_class)
    np.testing.assert_array_equal(a.landmarks.points, b.landmarks.points)
    np.testing.assert_array_equal(a.camera.K, b.camera.K)


def test_scene_classes_come_from_the_schema(catalog, head):
    scene = compose(resolve(catalog, 0, 1), head)
    for m in scene.meshes:
        assert set(np.unique(m.face_class).tolist()) <= VALID_IDS, m.name
        assert m.faces.max() < len(m.vertices)
    assert set(np.unique(_mesh(scene, "eye_r").face_class)) == {CLASS_IDS["RIGHT_EYE"]}
    assert set(np.unique(_mesh(scene, "eye_l").face_class)) == {CLASS_IDS["LEFT_EYE"]}
    # the subject's right eye is on the image left in a frontal view
    s = _with(resolve(catalog, 0, 1), head_pose={"yaw_deg": 0.0, "pitch_deg": 0.0, "roll_deg": 0.0})
    scene = compose(s, head)
    uv, _ = scene.camera.project(scene.landmarks.points[[68, 69]])
    assert uv[0, 0] < uv[1, 0]


def test_head_pose_rotates_landmarks_about_the_pivot(catalog, head):
    s = resolve(catalog, 0, 2)
    front = compose(_with(s, head_pose={"yaw_deg": 0.0, "pitch_deg": 0.0, "roll_deg": 0.0}), head)
    turned = compose(_with(s, head_pose={"yaw_deg": 30.0, "pitch_deg": 10.0, "roll_deg": -5.0}), head)
    R = pose_matrix(30.0, 10.0, -5.0)
    expected = front.landmarks.points @ R.T
    np.testing.assert_allclose(turned.landmarks.points, expected, atol=1e-6)
    # yaw + turns the nose tip towards the subject's left (+x), pitch + lifts it
    nose_front, nose_turned = front.landmarks.points[30], turned.landmarks.points[30]
    assert nose_turned[0] > nose_front[0] + 0.01
    assert nose_turned[1] > nose_front[1]
    np.testing.assert_allclose(turned.head_pose[:3, :3], R, atol=1e-12)


def test_camera_frames_the_face(catalog, head):
    s = _with(
        resolve(catalog, 0, 3),
        head_pose={"yaw_deg": 0.0, "pitch_deg": 0.0, "roll_deg": 0.0},
        camera={"principal_offset_px": (0.0, 0.0), "position_jitter_m": (0.0, 0.0, 0.0)},
    )
    scene = compose(s, head)
    uv, z = scene.camera.project(scene.landmarks.points[:68])
    centre = uv.mean(axis=0)
    w, h = scene.camera.width, scene.camera.height
    assert abs(centre[0] - w / 2) < 0.08 * w and abs(centre[1] - h / 2) < 0.15 * h
    assert np.all(z > 0)
    assert np.isclose(np.median(z), s.camera.distance_m, rtol=0.1)


def test_gaze_moves_the_pupils(catalog, head):
    s = _with(resolve(catalog, 0, 4), head_pose={"yaw_deg": 0.0, "pitch_deg": 0.0, "roll_deg": 0.0})
    ahead = compose(_with(s, expression={"gaze_yaw_deg": 0.0, "gaze_pitch_deg": 0.0}), head)
    left = compose(_with(s, expression={"gaze_yaw_deg": 25.0, "gaze_pitch_deg": 0.0}), head)
    up = compose(_with(s, expression={"gaze_yaw_deg": 0.0, "gaze_pitch_deg": 20.0}), head)
    p0, pl, pu = (x.landmarks.points[68:70] for x in (ahead, left, up))
    assert np.all(pl[:, 0] > p0[:, 0] + 0.003)  # towards the subject's left
    assert np.all(pu[:, 1] > p0[:, 1] + 0.002)  # up
    # the rest of the face does not move with the eyes
    np.testing.assert_allclose(left.landmarks.points[27:36], ahead.landmarks.points[27:36], atol=1e-9)


def test_children_have_smaller_heads(catalog, head):
    s = resolve(catalog, 0, 6)
    child = compose(_with(s, age_years=3.0), head)
    adult = compose(_with(s, age_years=35.0), head)
    assert child.meta["head_scale"] < 0.92 * adult.meta["head_scale"]


def test_skin_colour_follows_melanin_and_lips_are_redder(catalog, head):
    s = resolve(catalog, 0, 7)
    light = compose(_with(s, skin={"melanin": 0.1}), head)
    dark = compose(_with(s, skin={"melanin": 0.9}), head)
    skin_l, skin_d = _mesh(light, "skin"), _mesh(dark, "skin")
    cheek = skin_l.face_class == CLASS_IDS["SKIN"]
    vi = np.unique(skin_l.faces[cheek])
    lum_l = skin_l.vertex_colors[vi].mean(axis=0)
    lum_d = skin_d.vertex_colors[vi].mean(axis=0)
    assert np.all(lum_d < 0.5 * lum_l)
    # the skin average stays close to the albedo model (mottle and blush are small)
    expected = np.asarray(skin_albedo_linear(0.1, s.skin.haemoglobin))
    assert np.allclose(np.median(skin_l.vertex_colors[vi], axis=0), expected, rtol=0.2)
    lips = np.unique(skin_l.faces[np.isin(skin_l.face_class, [CLASS_IDS["TOP_LIP"], CLASS_IDS["BOTTOM_LIP"]])])
    rg_lips = skin_l.vertex_colors[lips, 0] / skin_l.vertex_colors[lips, 1]
    rg_skin = skin_l.vertex_colors[vi, 0] / skin_l.vertex_colors[vi, 1]
    assert np.median(rg_lips) > 1.2 * np.median(rg_skin)


def test_eyes_have_dark_pupils_and_coloured_irises(catalog, head):
    s = resolve(catalog, 0, 8)
    scene = compose(s, head)
    eye = _mesh(scene, "eye_r")
    pupil = scene.landmarks.points[68]
    d = np.linalg.norm(eye.vertices - pupil, axis=1)
    assert eye.vertex_colors[np.argmin(d)].max() < 0.05  # the front pole is pupil-black
    assert eye.vertex_colors.max(axis=1).max() > 0.5  # and there is white sclera


def test_strand_count_follows_pixel_density_and_the_catalog_can_override_it(catalog, head):
    from facefarm.render.backends import backend

    def strand_detail(px, name):
        return backend(name).strands.detail(px)

    # linear in pixel density, clipped per back-end, on a 1/16 grid
    assert strand_detail(800.0, "pyrender") < strand_detail(1600.0, "pyrender") <= 1.5
    assert strand_detail(10.0, "pyrender") == 0.25 and strand_detail(1e6, "cycles") == 8.0
    assert strand_detail(10.0, "cycles") == 0.5
    assert strand_detail(1650.0, "cycles") > strand_detail(1650.0, "pyrender")
    assert (16 * strand_detail(1234.0, "pyrender")) % 1 == 0

    s = _with(resolve(catalog, 0, 3), hair={"style": "long", "density": 1.0})
    auto = compose(s, head)
    hair = sum(len(c.points) for c in auto.curves if c.name.startswith("hair"))
    # the sample's own framing picks the count; a catalog value wins
    px_per_m = auto.camera.K[0, 0] / s.camera.distance_m
    assert auto.meta["hair_detail"] == strand_detail(px_per_m, "pyrender")
    fine = compose(_with(s, render={"hair_detail": 2 * auto.meta["hair_detail"]}), head)
    assert fine.meta["hair_detail"] == 2 * auto.meta["hair_detail"]
    fine_hair = sum(len(c.points) for c in fine.curves if c.name.startswith("hair"))
    assert 1.6 * hair < fine_hair < 2.4 * hair
    # and the identity keeps its hairstyle decisions: same number of strand sets, same colours
    assert [c.material.base_color for c in auto.curves] == [c.material.base_color for c in fine.curves]


def test_white_balance_neutralises_the_light_on_the_face_as_far_as_the_catalog_says(catalog, head):
    from facefarm.scene import white_balance

    s = resolve(catalog, 0, 5)
    full = compose(_with(s, camera={"white_balance": 1.0}), head)
    off = compose(_with(s, camera={"white_balance": 0.0}), head)
    half = compose(_with(s, camera={"white_balance": 0.5}), head)
    assert off.white_balance == (1.0, 1.0, 1.0)
    # the light on the face: the camera aims at the face centre from about distance_m
    eye = full.camera.camera_to_world[:3, 3]
    face = eye + full.camera.camera_to_world[:3, 2] * s.camera.distance_m
    e = white_balance.illuminant(full.environment, full.lights, face, eye - face)
    share = 1.0 if e[2] >= e[0] else white_balance.WARM_SHARE
    expect = (e @ np.array([0.2126, 0.7152, 0.0722]) / e) ** share
    np.testing.assert_allclose(full.white_balance, expect, rtol=0.02)
    np.testing.assert_allclose(half.white_balance, np.sqrt(full.white_balance), rtol=1e-6)
    assert np.ptp(full.white_balance) > 0.05  # this sample's light is coloured
