"""Head pose: the rotation a head pose names, and the angles of a rotation, in one convention."""

from __future__ import annotations

import numpy as np

# OpenCV camera axes -> "viewer" axes (x right, y up, z towards the viewer)
_TO_VIEWER = np.diag([1.0, -1.0, -1.0])


def pose_matrix(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """(3, 3) head rotation R = Ry(yaw) @ Rx(pitch) @ Rz(roll).

    Yaw + turns the face towards the subject's left (+x), pitch + tilts the face up,
    roll + tilts the head towards the subject's left shoulder (the top of the head moves
    towards +x: clockwise as the camera sees it).
    """
    y, p, r = np.radians([yaw_deg, pitch_deg, roll_deg])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(-p), -np.sin(-p)], [0, np.sin(-p), np.cos(-p)]])
    rz = np.array([[np.cos(-r), -np.sin(-r), 0], [np.sin(-r), np.cos(-r), 0], [0, 0, 1]])
    return ry @ rx @ rz


def euler_from_rotation(R_head_to_camera: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) degrees of a head-to-camera rotation (OpenCV camera).

    Convention: with ``F = diag(1, -1, -1)`` (OpenCV camera -> viewer axes: x right,
    y up, z towards the camera), ``F @ R = Ry(yaw) @ Rx(-pitch) @ Rz(roll)``, the
    compositor's ``pose_matrix`` order. A face looking straight into the camera is
    (0, 0, 0); yaw + = the face turns towards the subject's left (image right);
    pitch + = chin up; roll + = the top of the head moves towards the subject's right
    shoulder (counter-clockwise in the image). Angles are about the camera axes, not
    about the ray to the head.
    """
    r = _TO_VIEWER @ np.asarray(R_head_to_camera, np.float64)
    yaw = np.degrees(np.arctan2(r[0, 2], r[2, 2]))
    pitch = np.degrees(np.arcsin(np.clip(r[1, 2], -1.0, 1.0)))
    roll = np.degrees(np.arctan2(r[1, 0], r[1, 1]))
    return float(yaw), float(pitch), float(roll)
