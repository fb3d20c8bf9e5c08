"""Light colour and placement helpers used by the compositor."""

from __future__ import annotations

import numpy as np

from facefarm.catalog.colors import kelvin_to_srgb, srgb_to_linear


def kelvin_to_linear_rgb(kelvin: float) -> tuple[float, float, float]:
    """Linear RGB (max 1) of a black body at ``kelvin``; see :func:`facefarm.catalog.colors.kelvin_to_srgb`."""
    lin = [srgb_to_linear(c) for c in kelvin_to_srgb(kelvin)]
    m = max(lin)
    return (lin[0] / m, lin[1] / m, lin[2] / m)


def direction_pose(
    azimuth_deg: float, elevation_deg: float, distance: float = 1.0, target=(0.0, 0.0, 0.0)
) -> np.ndarray:
    """(4, 4) light-to-world pose of a light on a sphere around ``target`` aiming at it.

    Azimuth 0 = in front of the face (+z), positive towards the subject's left (+x);
    elevation positive upwards. The light's local -z points at the target.
    """
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    d = np.array([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)])
    pos = np.asarray(target, float) + distance * d
    z = d  # local +z points away from the target, so -z shines at it
    up = np.array([0.0, 1.0, 0.0]) if abs(d[1]) < 0.99 else np.array([0.0, 0.0, 1.0])
    x = np.cross(up, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = x, y, z, pos
    return pose
