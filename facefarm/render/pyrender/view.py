"""View transforms (scene-linear -> display sRGB) for the fast back-end, as 3-D lookup tables.

The Cycles back-end turns linear light into 8-bit pixels with one of Blender's OCIO
view transforms ("AgX" by default: a soft highlight roll-off; "Standard": the plain
sRGB curve, clipping at 1). The rasteriser applies the same transform through a
lookup table baked here: per channel, linear Rec.709 values are log2-encoded over
``[LOG2_MIN, LOG2_MAX]`` (a little wider than AgX's own 25-stop log encoding), and the table
holds the display-encoded result on a ``size``^3 grid of those codes (within a level or
two of the exact transform, see the tests).

"Standard" is computed here; every other view comes from Blender's OCIO config in the
installed ``bpy`` wheel, through the PyOpenColorIO module bundled with it (found
without importing bpy).
"""

from __future__ import annotations

import importlib.util
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

#: Table domain in stops (AgX encodes 25 stops from about 2^-12.5); 2^0 = 1 falls on a grid
#: point of the 65-entry axis, where "Standard" clips.
LOG2_MIN = -12.8
LOG2_MAX = 12.8
DEFAULT_SIZE = 65


def decode(codes: np.ndarray) -> np.ndarray:
    """Log codes in 0..1 -> linear values; code 0 stands for black (and anything darker than 2^LOG2_MIN)."""
    lin = np.exp2(LOG2_MIN + np.asarray(codes, np.float64) * (LOG2_MAX - LOG2_MIN))
    return np.where(np.asarray(codes) <= 0, 0.0, lin)


def encode(linear: np.ndarray) -> np.ndarray:
    """Linear values -> log codes in 0..1 (the shader does the same)."""
    lg = np.log2(np.maximum(np.asarray(linear, np.float64), 1e-30))
    return np.clip((lg - LOG2_MIN) / (LOG2_MAX - LOG2_MIN), 0.0, 1.0)


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """The sRGB transfer curve (IEC 61966-2-1) after clipping to 0..1."""
    c = np.clip(linear, 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1 / 2.4) - 0.055)


@lru_cache(maxsize=None)
def _ocio_processor(view: str, display: str = "sRGB"):
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"view transform {view!r} needs Blender's OCIO config: pip install bpy==5.0.1 "
            "(or use view_transform='Standard')"
        )
    root = Path(spec.submodule_search_locations[0])
    configs = sorted(root.glob("*/datafiles/colormanagement/config.ocio"))
    sites = sorted(root.glob("*/python/lib/python*/site-packages"))
    if not configs or not sites:
        raise RuntimeError(f"no OCIO config / bundled PyOpenColorIO under {root}")
    if str(sites[-1]) not in sys.path:
        sys.path.append(str(sites[-1]))  # appended: never shadows the venv's own packages
    import PyOpenColorIO as ocio

    config = ocio.Config.CreateFromFile(str(configs[-1]))
    if view not in config.getViews(display):
        raise ValueError(f"unknown view transform {view!r}; have {list(config.getViews(display))}")
    return config.getProcessor("Linear Rec.709", display, view, ocio.TRANSFORM_DIR_FORWARD).getDefaultCPUProcessor()


def apply_view(linear: np.ndarray, view: str) -> np.ndarray:
    """Reference transform (no table): (..., 3) linear Rec.709 -> (..., 3) float display values 0..1."""
    x = np.asarray(linear, np.float32)
    if view == "Standard":
        return srgb_encode(x).astype(np.float32)
    out = np.ascontiguousarray(x.reshape(1, -1, 3)).copy()
    _ocio_processor(view).applyRGB(out)
    return np.clip(out.reshape(x.shape), 0.0, 1.0)


@lru_cache(maxsize=4)
def view_lut(view: str = "AgX", size: int = DEFAULT_SIZE) -> np.ndarray:
    """(size, size, size, 3) float32 table indexed [blue, green, red] (the layout glTexImage3D expects)."""
    codes = np.linspace(0.0, 1.0, size)
    b, g, r = np.meshgrid(codes, codes, codes, indexing="ij")
    lin = decode(np.stack([r, g, b], axis=-1))
    lut = apply_view(lin.reshape(-1, 3), view).reshape(size, size, size, 3).astype(np.float32)
    lut.setflags(write=False)
    return lut


def apply_lut(linear: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """What the shader computes, in numpy: log-encode, then trilinear lookup; (..., 3) -> (..., 3)."""
    n = lut.shape[0]
    x = encode(linear) * (n - 1)
    i0 = np.clip(np.floor(x).astype(np.int64), 0, n - 2)
    f = x - i0
    out = 0.0
    for dr in (0, 1):
        for dg in (0, 1):
            for db in (0, 1):
                w = (
                    (f[..., 0] if dr else 1 - f[..., 0])
                    * (f[..., 1] if dg else 1 - f[..., 1])
                    * (f[..., 2] if db else 1 - f[..., 2])
                )
                out = out + w[..., None] * lut[i0[..., 2] + db, i0[..., 1] + dg, i0[..., 0] + dr]
    return np.asarray(out)
