"""HDRI environments: where they are, how to read them, and how a world direction maps onto them.

The registry knows the 8 CC0 studio-light HDRIs shipped inside the ``bpy`` wheel
(``bpy/5.0/datafiles/studiolights/world/*.exr``: city, courtyard, forest, interior,
night, studio, sunrise, sunset) plus any ``.exr``/``.hdr`` files in user folders
(``FACEFARM_HDRI_DIRS``, ``os.pathsep``-separated, or the ``extra_dirs`` argument).
An HDRI's id is its file stem; user folders are searched before the built-ins.

Direction convention (shared by every back-end; it is Blender's world mapping seen
through the usual y-up -> z-up change of axes ``(x, y, z) -> (x, -z, y)``):

* ``u = 0.5 + atan2(z, x) / (2 pi)``: fraction of the image width from the left;
  the image centre looks along +x (the subject's left), ``u = 0.75`` along +z
  (in front of the face);
* ``t = arccos(y) / pi``: fraction of the image height from the *top* row (+y up).

``Environment.rotation_deg`` turns the map about world +y (right-handed): light that
sits at direction ``d`` in the map arrives from world direction ``R_y(rotation) d``,
so a world direction ``w`` is looked up at ``R_y(-rotation) w``. In Blender this is a
Mapping node (type ``POINT``) rotating the generated texture vector by ``-rotation``
about its z axis.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

HDRI_SUFFIXES = (".exr", ".hdr")
HDRI_DIRS_ENV = "FACEFARM_HDRI_DIRS"


@lru_cache(maxsize=None)
def builtin_hdri_dir() -> Path | None:
    """The studio-light folder inside the installed ``bpy`` wheel, found without importing bpy."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        hits = sorted(Path(root).glob("*/datafiles/studiolights/world"))
        if hits:
            return hits[-1]
    return None


def hdri_dirs(extra_dirs: tuple[str | os.PathLike, ...] = ()) -> list[Path]:
    """Folders searched for HDRIs, in priority order: ``extra_dirs``, ``$FACEFARM_HDRI_DIRS``, bpy's."""
    env = [p for p in os.environ.get(HDRI_DIRS_ENV, "").split(os.pathsep) if p]
    dirs = [Path(p) for p in (*extra_dirs, *env)]
    builtin = builtin_hdri_dir()
    if builtin is not None:
        dirs.append(builtin)
    return dirs


def available_hdris(extra_dirs: tuple[str | os.PathLike, ...] = ()) -> dict[str, str]:
    """``{id: absolute path}`` of every HDRI found; the first folder holding an id wins."""
    found: dict[str, str] = {}
    for d in hdri_dirs(extra_dirs):
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            if p.suffix.lower() in HDRI_SUFFIXES and p.stem not in found:
                found[p.stem] = str(p.resolve())
    return found


def hdri_path(hdri_id: str, extra_dirs: tuple[str | os.PathLike, ...] = ()) -> str:
    """Absolute path of the HDRI called ``hdri_id`` (a file stem, or an existing file path)."""
    if Path(hdri_id).suffix.lower() in HDRI_SUFFIXES and Path(hdri_id).is_file():
        return str(Path(hdri_id).resolve())
    found = available_hdris(extra_dirs)
    if hdri_id not in found:
        raise KeyError(f"unknown HDRI {hdri_id!r}; known: {sorted(found)} (add folders with ${HDRI_DIRS_ENV})")
    return found[hdri_id]


def load_equirect(path: str | os.PathLike) -> np.ndarray:
    """Read an equirectangular HDRI: (H, W, 3) float32 linear RGB, read-only, cached by path and mtime."""
    p = Path(path).resolve()
    return _load_equirect(str(p), p.stat().st_mtime_ns)


@lru_cache(maxsize=16)
def _load_equirect(path: str, _mtime_ns: int) -> np.ndarray:
    # OpenCV only decodes EXR when this is set before cv2 is first imported.
    os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
    import cv2

    img = cv2.imread(path, cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH)
    if img is None:
        raise OSError(
            f"cannot read HDRI {path} (OpenCV built without OpenEXR, or not an image; "
            "OPENCV_IO_ENABLE_OPENEXR=1 must be set before cv2 is imported)"
        )
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    img = np.ascontiguousarray(img[:, :, 2::-1], dtype=np.float32)  # BGR(A) -> RGB
    np.maximum(img, 0.0, out=img)  # some HDRIs carry tiny negative values from compression
    img.setflags(write=False)
    return img


def rotation_y(deg: float) -> np.ndarray:
    """(3, 3) right-handed rotation about +y by ``deg`` degrees."""
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def direction_to_equirect(directions: np.ndarray, rotation_deg: float = 0.0) -> np.ndarray:
    """World directions (n, 3) -> (n, 2) ``(u, t)`` image fractions (see the module docstring)."""
    d = np.asarray(directions, np.float64) @ rotation_y(rotation_deg)  # = R_y(-rot) @ d per row
    d = d / np.linalg.norm(d, axis=-1, keepdims=True)
    u = 0.5 + np.arctan2(d[..., 2], d[..., 0]) / (2.0 * np.pi)
    t = np.arccos(np.clip(d[..., 1], -1.0, 1.0)) / np.pi
    return np.stack([u % 1.0, t], axis=-1)


def equirect_directions(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit directions at the pixel centres of an (H, W) equirect map (map frame) and their solid angles.

    Returns ((H, W, 3) float64, (H, W) float64 steradians; the solid angles sum to 4 pi).
    """
    u = (np.arange(width) + 0.5) / width
    t = (np.arange(height) + 0.5) / height
    phi = (u - 0.5) * 2.0 * np.pi  # atan2(z, x)
    theta = t * np.pi  # angle from +y
    st = np.sin(theta)[:, None]
    d = np.stack(
        [st * np.cos(phi)[None, :], np.repeat(np.cos(theta)[:, None], width, 1), st * np.sin(phi)[None, :]], axis=-1
    )
    band = np.cos(np.pi * np.arange(height) / height) - np.cos(np.pi * np.arange(1, height + 1) / height)
    solid = np.repeat((band * 2.0 * np.pi / width)[:, None], width, axis=1)
    return d, solid


def sample_equirect(image: np.ndarray, directions: np.ndarray, rotation_deg: float = 0.0) -> np.ndarray:
    """Bilinear radiance lookup: (H, W, 3) map, (..., 3) world directions -> (..., 3) float32.

    Wraps around horizontally and clamps at the poles, like a GL texture with
    ``GL_REPEAT`` in u and ``GL_CLAMP_TO_EDGE`` in t.
    """
    shape = np.shape(directions)[:-1]
    ut = direction_to_equirect(np.reshape(directions, (-1, 3)), rotation_deg)
    h, w = image.shape[:2]
    x = ut[:, 0] * w - 0.5
    y = np.clip(ut[:, 1] * h - 0.5, 0.0, h - 1.0)
    x0 = np.floor(x).astype(np.int64)
    y0 = np.minimum(np.floor(y).astype(np.int64), h - 2) if h > 1 else np.zeros_like(x0)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    x0 %= w
    x1 = (x0 + 1) % w
    y1 = np.minimum(y0 + 1, h - 1)
    out = (image[y0, x0] * (1 - fx) + image[y0, x1] * fx) * (1 - fy) + (
        image[y1, x0] * (1 - fx) + image[y1, x1] * fx
    ) * fy
    return out.astype(np.float32).reshape(*shape, 3)


def pixel_rays(camera) -> np.ndarray:
    """(H, W, 3) float64 unit world directions through the pixel centres of a :class:`Camera`."""
    u = np.arange(camera.width) + 0.5
    v = np.arange(camera.height) + 0.5
    uu, vv = np.meshgrid(u, v)
    pix = np.stack([uu, vv, np.ones_like(uu)], axis=-1)
    cam = pix @ np.linalg.inv(camera.K).T
    world = cam @ camera.world_to_camera[:3, :3]  # camera -> world rotation is R^T
    return world / np.linalg.norm(world, axis=-1, keepdims=True)


def background_image(camera, environment) -> np.ndarray:
    """What the camera sees of the environment alone: (H, W, 3) float32 linear RGB.

    The HDRI (times ``intensity``) when ``background == "hdri"`` and an HDRI is set;
    a solid colour otherwise (``background`` if it is a colour, else ``environment.color``).
    """
    h, w = camera.height, camera.width
    bg = environment.background
    if isinstance(bg, str) and environment.hdri is not None:
        img = load_equirect(hdri_path(environment.hdri))
        return sample_equirect(img, pixel_rays(camera), environment.rotation_deg) * np.float32(environment.intensity)
    colour = environment.color if isinstance(bg, str) else bg
    return np.broadcast_to(np.asarray(colour, np.float32), (h, w, 3)).copy()
