"""Image-based lighting for a rasteriser without IBL: an HDRI split into suns, SH irradiance and a glossy map.

pyrender has no environment lighting, so the fast back-end approximates it:

* the few very bright, compact regions (sun, lamps, softboxes) become directional
  lights carrying their excess energy (``suns``), so they keep crisp highlights and
  do not ring in the spherical harmonics;
* what remains (``residual``, the map with those regions clamped) gives the diffuse
  term as 9 second-order spherical-harmonic irradiance coefficients (Ramamoorthi &
  Hanrahan 2001), and the glossy term by mip-mapped lookups along the reflection.

All directions here are in the *map* frame (the HDRI before ``rotation_deg``); the
renderer rotates normals into it. Radiance is linear RGB, irradiance W/m^2-like units
in the same scale (a uniform map of radiance L gives irradiance pi * L).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import ndimage

from facefarm.scene.environment import equirect_directions, hdri_path, load_equirect

#: Work resolution (width) for finding suns and projecting onto SH; energy is preserved by area averaging.
_WORK_WIDTH = 256
#: A pixel is "light source" when brighter than this many times the map's mean radiance.
_SUN_FACTOR = 12.0
_MAX_SUNS = 2
#: Cosine-lobe convolution weights per SH band (pi, 2pi/3, pi/4).
_A_HAT = np.array(
    [np.pi, 2 * np.pi / 3, 2 * np.pi / 3, 2 * np.pi / 3, np.pi / 4, np.pi / 4, np.pi / 4, np.pi / 4, np.pi / 4]
)
_LUMA = np.array([0.2126, 0.7152, 0.0722])


@dataclass(frozen=True)
class EnvLighting:
    """An environment reduced to what the rasteriser's shader evaluates (map frame).

    radiance : (H, W, 3) float32 linear radiance, the map itself (what the background shows)
    residual : (H, W, 3) float32 linear radiance, the map with ``suns`` clamped away
    sh : (9, 3) float32 irradiance SH coefficients (basis of :func:`sh_basis`), E(n) = sh_basis(n) @ sh
    suns : tuple of (direction (3,) unit, irradiance (3,) linear RGB) directional lights
    """

    radiance: np.ndarray
    residual: np.ndarray
    sh: np.ndarray
    suns: tuple[tuple[np.ndarray, np.ndarray], ...]
    key: str


def sh_basis(d: np.ndarray) -> np.ndarray:
    """Real SH basis up to l = 2 at unit directions (..., 3) -> (..., 9); same order as the shader."""
    x, y, z = d[..., 0], d[..., 1], d[..., 2]
    return np.stack(
        [
            0.282095 * np.ones_like(x),
            0.488603 * y,
            0.488603 * z,
            0.488603 * x,
            1.092548 * x * y,
            1.092548 * y * z,
            0.315392 * (3 * z * z - 1),
            1.092548 * x * z,
            0.546274 * (x * x - y * y),
        ],
        axis=-1,
    )


def _downsample(img: np.ndarray, width: int) -> np.ndarray:
    h, w = img.shape[:2]
    f = max(1, w // width)
    if f == 1 or h % f or w % f:
        return np.asarray(img, np.float64)
    return img.reshape(h // f, f, w // f, f, 3).mean(axis=(1, 3), dtype=np.float64)


def lighting_from_map(img: np.ndarray, key: str = "") -> EnvLighting:
    """Split an equirect map (H, W, 3) float linear into suns + SH irradiance + clamped residual."""
    work = _downsample(img, _WORK_WIDTH)
    dirs, solid = equirect_directions(*work.shape[:2])
    luma = work @ _LUMA
    mean = float((luma * solid).sum() / solid.sum())
    thr = max(_SUN_FACTOR * mean, 1e-6)
    clamp_mask = np.zeros(luma.shape, bool)
    suns = []
    labels, n = ndimage.label(luma > thr)
    if n:
        # rank connected bright regions by the energy above the threshold they carry
        excess = np.clip(luma - thr, 0.0, None) * solid
        energy = ndimage.sum(excess, labels, index=np.arange(1, n + 1))
        for lab in np.argsort(energy)[::-1][:_MAX_SUNS] + 1:
            region = labels == lab
            scale = np.clip(1.0 - thr / np.maximum(luma[region], 1e-12), 0.0, None)
            power = work[region] * scale[:, None] * solid[region][:, None]  # (m, 3) excess irradiance
            total = power.sum(axis=0)
            if total @ _LUMA < 0.02 * np.pi * mean:  # too weak to matter as a separate light
                continue
            w = power @ _LUMA
            direction = (dirs[region] * w[:, None]).sum(axis=0)
            direction /= np.linalg.norm(direction)
            suns.append((direction.astype(np.float32), total.astype(np.float32)))
            clamp_mask |= region
    residual_work = np.where(
        clamp_mask[..., None], work * np.minimum(1.0, thr / np.maximum(luma, 1e-12))[..., None], work
    )
    coeffs = np.einsum("hwk,hwc,hw->kc", sh_basis(dirs), residual_work, solid)
    sh = (coeffs * _A_HAT[:, None]).astype(np.float32)

    # the same clamp at full resolution, for the glossy/background lookups
    h, w = img.shape[:2]
    full_mask = clamp_mask[(np.arange(h) * clamp_mask.shape[0]) // h][:, (np.arange(w) * clamp_mask.shape[1]) // w]
    full_luma = img @ _LUMA.astype(np.float32)
    factor = np.where(full_mask, np.minimum(1.0, thr / np.maximum(full_luma, 1e-12)), 1.0)
    residual = np.ascontiguousarray(img * factor[..., None], dtype=np.float32)
    residual.setflags(write=False)
    sh.setflags(write=False)
    radiance = np.asarray(img, np.float32)
    if radiance.flags.writeable:
        radiance = radiance.copy()
        radiance.setflags(write=False)
    return EnvLighting(radiance=radiance, residual=residual, sh=sh, suns=tuple(suns), key=key)


def hdri_lighting(path: str) -> EnvLighting:
    """:func:`lighting_from_map` of an HDRI file, cached by path and modification time."""
    p = Path(path).resolve()
    return _hdri_lighting(str(p), p.stat().st_mtime_ns)


@lru_cache(maxsize=16)
def _hdri_lighting(path: str, mtime_ns: int) -> EnvLighting:
    return lighting_from_map(load_equirect(path), key=f"{path}@{mtime_ns}")


@lru_cache(maxsize=64)
def colour_lighting(colour: tuple[float, float, float]) -> EnvLighting:
    """A uniform world of linear radiance ``colour``."""
    img = np.broadcast_to(np.asarray(colour, np.float32), (4, 8, 3)).copy()
    return lighting_from_map(img, key=f"colour{tuple(float(c) for c in colour)}")


def environment_lighting(env) -> EnvLighting:
    """The :class:`EnvLighting` of a Scene's ``Environment``: its HDRI's, or its plain colour's."""
    if env.hdri is not None:
        return hdri_lighting(hdri_path(env.hdri))
    return colour_lighting(tuple(float(c) for c in env.color))


def irradiance(lighting: EnvLighting, normals: np.ndarray) -> np.ndarray:
    """SH + suns irradiance (..., 3) at unit normals (..., 3) in the map frame (for tests and CPU use)."""
    e = sh_basis(normals) @ lighting.sh
    for d, power in lighting.suns:
        e = e + np.clip(normals @ d, 0.0, None)[..., None] * power
    return e
