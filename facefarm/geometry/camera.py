"""The one camera model shared by every renderer and by the label code.

Conventions (OpenCV):

* camera frame: x right, y down, z forward (into the scene), metres;
* ``world_to_camera`` is a (4, 4) rigid transform taking world points (metres,
  head frame: +y up, +z out of the face) into the camera frame;
* pixel coordinates: origin at the top-left *corner* of the image, u right,
  v down; the centre of pixel (col i, row j) is at (i + 0.5, j + 0.5).
  So ``u = fx * x / z + cx`` and a centred principal point is ``cx = W / 2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# OpenCV camera axes -> OpenGL camera axes (x right, y up, z backward).
CV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])


@dataclass(frozen=True)
class Camera:
    """A pinhole camera. ``K``: (3, 3) float64 pixels; ``world_to_camera``: (4, 4) float64."""

    K: np.ndarray
    world_to_camera: np.ndarray
    width: int
    height: int
    near: float = 0.01
    far: float = 10.0

    @property
    def camera_to_world(self) -> np.ndarray:
        return np.linalg.inv(self.world_to_camera)

    def to_camera(self, points_world: np.ndarray) -> np.ndarray:
        """(n, 3) world metres -> (n, 3) camera-frame metres."""
        p = np.asarray(points_world, dtype=np.float64)
        return p @ self.world_to_camera[:3, :3].T + self.world_to_camera[:3, 3]

    def project(self, points_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project (n, 3) world points; returns ((n, 2) pixels, (n,) camera depth z in metres)."""
        pc = self.to_camera(points_world)
        z = pc[:, 2]
        uv = (pc @ self.K.T)[:, :2] / z[:, None]
        return uv, z

    def fov_y(self) -> float:
        """Vertical field of view in radians."""
        return 2.0 * np.arctan2(self.height / 2.0, self.K[1, 1])


def intrinsics(
    focal_mm: float,
    sensor_width_mm: float,
    width: int,
    height: int,
    principal_offset_px: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """K for square pixels from a focal length and a sensor width (both mm)."""
    f = focal_mm / sensor_width_mm * width
    cx = width / 2.0 + principal_offset_px[0]
    cy = height / 2.0 + principal_offset_px[1]
    return np.array([[f, 0.0, cx], [0.0, f, cy], [0.0, 0.0, 1.0]])


def look_at(eye: np.ndarray, target: np.ndarray, up=(0.0, 1.0, 0.0)) -> np.ndarray:
    """World-to-camera (4, 4) for an OpenCV camera at ``eye`` looking at ``target``."""
    eye = np.asarray(eye, float)
    z = np.asarray(target, float) - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, np.asarray(up, float))  # right = forward x up
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = -R @ eye
    return T
