"""The camera's white balance: gains from the light falling on the face (pure numpy, no render)."""

from __future__ import annotations

import numpy as np
import pytest

from facefarm.catalog import load_catalog, resolve
from facefarm.scene import white_balance as wb
from facefarm.scene.environment import available_hdris
from facefarm.scene.lighting import direction_pose
from facefarm.scene.model import Environment, Light

LUMA = np.array([0.2126, 0.7152, 0.0722])
BLUISH = Environment(hdri=None, color=(0.3, 0.45, 0.9))


def test_gains_turn_the_illuminant_grey_and_keep_its_luminance():
    e = np.array([0.5, 0.7, 1.2])
    g = np.array(wb.gains(e))
    out = g * e
    np.testing.assert_allclose(out, out[1], rtol=1e-12)  # grey
    assert np.isclose(out @ LUMA, e @ LUMA)  # exposure unchanged
    assert wb.gains(e, 0.0) == (1.0, 1.0, 1.0)  # strength 0: off
    np.testing.assert_allclose(wb.gains(e, 0.5), np.sqrt(g))  # part of the way
    assert max(wb.gains(np.array([1e-6, 1.0, 1.0]))) == wb.MAX_GAIN  # bounded


def test_warm_light_is_taken_only_part_of_the_way():
    warm = np.array([1.2, 0.7, 0.5])
    half = np.array(wb.gains(warm))
    np.testing.assert_allclose(half, (warm @ LUMA / warm) ** wb.WARM_SHARE)
    out = half * warm
    assert out[0] > out[1] > out[2]  # still warm, less so
    assert out[0] / out[2] < warm[0] / warm[2]


def test_illuminant_of_a_uniform_world_is_its_colour_times_intensity():
    e = wb.illuminant(BLUISH, [], np.zeros(3), np.array([0.0, 0.0, 1.0]))
    np.testing.assert_allclose(e / e[2], np.array(BLUISH.color) / BLUISH.color[2], rtol=0.01)
    brighter = Environment(hdri=None, color=BLUISH.color, intensity=2.0)
    np.testing.assert_allclose(wb.illuminant(brighter, [], np.zeros(3), np.array([0.0, 0.0, 1.0])), 2 * e)


def test_lights_count_on_the_camera_side_only():
    towards = np.array([0.0, 0.0, 1.0])
    base = wb.illuminant(BLUISH, [], np.zeros(3), towards)

    def red(azimuth):
        return Light(
            kind="point", color=(1.0, 0.0, 0.0), intensity=40.0, pose=direction_pose(azimuth, 0.0, 1.0, (0.0, 0.0, 0.0))
        )

    front = wb.illuminant(BLUISH, [red(0.0)], np.zeros(3), towards)
    behind = wb.illuminant(BLUISH, [red(180.0)], np.zeros(3), towards)
    assert front[0] > base[0] + 0.5 and np.allclose(front[1:], base[1:])
    np.testing.assert_allclose(behind, base)


def test_an_hdri_illuminant_turns_with_the_map():
    path = available_hdris().get("sunset")
    if path is None:
        pytest.skip("built-in HDRIs not found")
    towards = np.array([0.0, 0.0, 1.0])
    a = wb.illuminant(Environment(hdri="sunset", rotation_deg=0.0), [], np.zeros(3), towards)
    b = wb.illuminant(Environment(hdri="sunset", rotation_deg=180.0), [], np.zeros(3), towards)
    # turning the map 180 degrees is the same as the camera looking from behind
    c = wb.illuminant(Environment(hdri="sunset", rotation_deg=0.0), [], np.zeros(3), -towards)
    assert np.abs(a - b).max() > 0.05 * a.max()
    np.testing.assert_allclose(b, c, rtol=1e-6, atol=1e-9)


def test_catalog_sets_how_far_the_camera_corrects():
    full = resolve(load_catalog({"catalog_version": 1}), 0, 0)
    assert full.camera.white_balance == 1.0
    spread = load_catalog(
        {"catalog_version": 1, "camera": {"white_balance": {"kind": "uniform", "min": 0.2, "max": 0.6}}}
    )
    values = [resolve(spread, 0, i).camera.white_balance for i in range(20)]
    assert all(0.2 <= v <= 0.6 for v in values) and len(set(values)) > 10
