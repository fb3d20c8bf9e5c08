"""The camera's white balance: per-channel gains that make the light falling on the face neutral.

A camera in auto white balance divides out the colour of the light. Without it a face in a
bluish map (the built-in courtyard, studio and city HDRIs are bluish) renders blue-grey,
and light skin, whose own colour is faint, reads as plaster. The gains are worked out once
per Scene by the compositor and stored on it (``Scene.white_balance``), so both back-ends
apply the same ones to scene-linear light before the view transform. Labels are untouched.

The illuminant is the irradiance a white Lambertian patch at the face would receive, averaged
over normals spread across the hemisphere that faces the camera. It counts the HDRI (its SH
irradiance plus extracted suns, rotated and scaled as rendered) and every extra light, with
the fast back-end's conversions of watts. The gains are ``strength``-th powers of luminance
over illuminant, per channel (half that power for warm light, as cameras keep warm scenes
warm): luminance is kept, so exposure does not change. They are bounded to
``[1 / MAX_GAIN, MAX_GAIN]``.
"""

from __future__ import annotations

import numpy as np

from facefarm.scene.env_lighting import environment_lighting, irradiance
from facefarm.scene.environment import rotation_y
from facefarm.scene.model import Environment, Light

_LUMA = np.array([0.2126, 0.7152, 0.0722])
#: No channel is scaled by more than this (or less than its inverse).
MAX_GAIN = 4.0
#: How far warm light is neutralised, relative to cool light (see :func:`gains`).
WARM_SHARE = 0.5


def hemisphere_normals(towards: np.ndarray) -> np.ndarray:
    """(9, 3) unit normals: ``towards`` and eight more tilted 45 degrees around it."""
    z = np.asarray(towards, np.float64) / np.linalg.norm(towards)
    up = np.array([0.0, 1.0, 0.0]) if abs(z[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = np.cross(up, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    a = np.radians(np.arange(0, 360, 45))
    tilted = np.cos(np.pi / 4) * z + np.sin(np.pi / 4) * (np.cos(a)[:, None] * x + np.sin(a)[:, None] * y)
    return np.vstack([z, tilted])


def illuminant(
    environment: Environment, lights: tuple[Light, ...] | list[Light], at: np.ndarray, towards: np.ndarray
) -> np.ndarray:
    """(3,) linear RGB irradiance at world point ``at``, averaged over :func:`hemisphere_normals`
    of the world direction ``towards`` (the camera)."""
    normals = hemisphere_normals(towards)
    env = environment
    # a world direction w is looked up in the map at R_y(-rotation) w
    e = irradiance(environment_lighting(env), normals @ rotation_y(-env.rotation_deg).T) * float(env.intensity)
    for light in lights:
        e = e + _light_irradiance(light, np.asarray(at, np.float64), normals)
    return np.clip(e, 0.0, None).mean(axis=0)


def _light_irradiance(light: Light, at: np.ndarray, normals: np.ndarray) -> np.ndarray:
    pose = np.asarray(light.pose, np.float64)
    colour = np.asarray(light.color, np.float64)
    if light.kind == "directional":
        to_light, scale = pose[:3, 2], float(light.intensity)  # the light shines along its local -z
    else:
        d = pose[:3, 3] - at
        r2 = max(float(d @ d), 1e-6)
        to_light = d / np.sqrt(r2)
        # watts -> radiant intensity, as the fast back-end: isotropic for point and spot,
        # one-sided Lambertian (on axis) for area lights
        per_sr = float(light.intensity) / (np.pi if light.kind == "area" else 4 * np.pi)
        scale = per_sr / r2
    return np.clip(normals @ to_light, 0.0, None)[:, None] * (scale * colour)[None]


def gains(illum: np.ndarray, strength: float = 1.0) -> tuple[float, float, float]:
    """Per-channel gains that bring the linear RGB ``illum`` to grey of the same luminance
    (``strength`` 1), part of the way (0..1), or not at all (0). Warm light (more red than blue)
    is taken only ``WARM_SHARE`` of that way, as cameras' auto white balance leaves a sunset or
    a tungsten room warm; taken all the way, light skin under it turned blue-grey."""
    e = np.maximum(np.asarray(illum, np.float64), 1e-12)
    y = float(e @ _LUMA)
    if y <= 1e-9:
        return (1.0, 1.0, 1.0)
    share = float(strength) * (WARM_SHARE if e[0] > e[2] else 1.0)
    g = np.clip((y / e) ** share, 1.0 / MAX_GAIN, MAX_GAIN)
    return (float(g[0]), float(g[1]), float(g[2]))
