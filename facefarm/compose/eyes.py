"""Eye appearance and gaze: sclera, iris and pupil painted by angle from the gaze axis.

The compiled head's eyeballs are UV spheres whose vertex 0 is the front pole (the
pupil centre); gaze rotates them rigidly about their centres.
"""

from __future__ import annotations

import numpy as np

IRIS_HALF_ANGLE = np.radians(33.0)  # iris diameter ~ 11.5 mm on a 12 mm-radius eye
PUPIL_HALF_ANGLE = np.radians(11.0)
LIMBUS_WIDTH = np.radians(3.0)


def gaze_rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """(3, 3) rotation turning the eye's +z axis towards a gaze; yaw +: subject's left (+x), pitch +: up."""
    y, p = np.radians(yaw_deg), np.radians(pitch_deg)
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    return ry @ rx.T  # pitch up rotates +z towards +y


def eye_colors(angles: np.ndarray, iris_rgb, sclera_rgb=(0.72, 0.68, 0.64), rng=None) -> np.ndarray:
    """(n, 3) linear RGB per vertex: pupil, iris (darker limbal ring), sclera."""
    iris = np.asarray(iris_rgb, float)
    col = np.tile(np.asarray(sclera_rgb, float), (len(angles), 1))
    in_iris = angles < IRIS_HALF_ANGLE
    # radial iris texture: lighter near the pupil, dark limbal ring at the edge
    t = np.clip((angles - PUPIL_HALF_ANGLE) / (IRIS_HALF_ANGLE - PUPIL_HALF_ANGLE), 0, 1)
    shade = 1.25 - 0.55 * t
    col[in_iris] = iris * shade[in_iris, None]
    limbus = np.abs(angles - IRIS_HALF_ANGLE) < LIMBUS_WIDTH
    col[limbus] *= 0.35
    col[angles < PUPIL_HALF_ANGLE] = (0.01, 0.01, 0.012)
    return np.clip(col, 0.0, 1.0)
