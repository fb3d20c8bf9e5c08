"""The light-into-the-mouth estimate the fast back-end shades the mouth's inside with."""

import numpy as np

from facefarm.compose.cavity import LEFT_CORNER, LOWER_INNER, RIGHT_CORNER, UPPER_INNER, mouth_light

FORWARD = np.array([0.0, 0.0, 1.0])


def _landmarks(height: float, width: float = 0.04) -> np.ndarray:
    """70 points with an inner-lip loop (60-67) ``width`` x ``height`` round (0, 0, 0.1), facing +z."""
    lm = np.zeros((70, 3))
    a = np.linspace(0.0, 2 * np.pi, 8, endpoint=False)
    lm[60:68] = np.column_stack([0.5 * width * np.cos(a), 0.5 * height * np.sin(a), np.full(8, 0.1)])
    lm[RIGHT_CORNER], lm[LEFT_CORNER] = (-width / 2, 0.0, 0.1), (width / 2, 0.0, 0.1)
    lm[UPPER_INNER], lm[LOWER_INNER] = (0.0, height / 2, 0.1), (0.0, -height / 2, 0.1)
    return lm


def test_light_fades_behind_the_opening_and_needs_the_surface_to_face_it():
    depths = np.array([-0.01, 0.0005, 0.005, 0.01, 0.03])
    points = np.column_stack([np.zeros(5), np.zeros(5), 0.1 - depths])
    facing = np.tile(FORWARD, (5, 1))
    wide = mouth_light(points, facing, _landmarks(0.02), FORWARD)
    assert wide.dtype == np.float32
    assert wide[0] == 1.0 and wide[1] > 0.9  # in front of / just behind the opening
    assert np.all(np.diff(wide[1:]) < 0) and wide[-1] < 0.2  # darker the deeper
    narrow = mouth_light(points, facing, _landmarks(0.005), FORWARD)
    assert np.all(narrow[2:] < wide[2:])  # a narrower opening lets in less
    away = mouth_light(points[2:], -facing[2:], _landmarks(0.02), FORWARD)
    np.testing.assert_array_equal(away, 0.0)  # facing into the head: no light
    sideways = mouth_light(points[2:3], np.array([[1.0, 0.0, 0.0]]), _landmarks(0.02), FORWARD)
    assert 0.0 < sideways[0] < wide[2]  # the opening seen at a slant


def test_a_closed_mouth_lets_no_light_in():
    points = np.array([[0.0, 0.0, 0.095], [0.0, 0.0, 0.105]])
    light = mouth_light(points, np.tile(FORWARD, (2, 1)), _landmarks(0.0), FORWARD)
    np.testing.assert_array_equal(light, [0.0, 1.0])
