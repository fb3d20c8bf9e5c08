"""Skin colour from melanin and haemoglobin, and the melanin <-> Monk Skin Tone mapping.

The mapping, written down:

* ``melanin`` is a continuous 0..1 coordinate. Monk tone ``k`` (1..10) covers the decile
  ``[(k - 1) / 10, k / 10)`` (melanin 1.0 is tone 10): ``monk_tone(m) = min(10, floor(10 m) + 1)``.
* The albedo model is a one-layer Beer-Lambert skin with a surface floor::

      linear_albedo_c = FLOOR + BASE_c * exp(-(melanin ** GAMMA) * MELANIN_ABS_c
                                             - (haemoglobin - 0.5) * HAEMOGLOBIN_ABS_c)

  ``FLOOR`` is the light reflected before any pigment (air/stratum-corneum interface),
  ``melanin ** GAMMA`` the effective melanin concentration (albedo falls slowly for light
  skin and quickly for dark skin, as measured reflectance does), and haemoglobin absorbs
  mostly green and blue, so more of it reads redder.
* ``BASE``, ``MELANIN_ABS``, ``FLOOR`` and ``GAMMA`` were least-squares fitted (in CIELAB)
  so that at haemoglobin 0.5 the decile centres ``(k - 0.5) / 10`` reproduce the ten Monk
  orbs (``MONK_SRGB``, from the Monk Skin Tone scale): CIE76 dE <= 5 for every orb
  (2.9..4.7). Everywhere on 0..1 the orb nearest to ``skin_albedo_srgb(m, 0.5)`` is
  ``monk_tone(m)`` or a neighbour of it (the two agree on ~88 % of the range).

Nothing here is a medical or anthropological claim; it is a reproducible way to put a
Monk label on a rendered albedo.
"""

from __future__ import annotations

import math

from facefarm.catalog.colors import RGB, hex_to_srgb, linear_to_srgb, srgb_to_linear

#: The ten Monk Skin Tone orbs, tone 1 (lightest) .. 10 (darkest), sRGB hex.
MONK_SRGB: tuple[str, ...] = (
    "#f6ede4", "#f3e7db", "#f7ead0", "#eadaba", "#d7bd96",
    "#a07e56", "#825c43", "#604134", "#3a312a", "#292420",
)

# Fitted constants (linear RGB channels); see the module docstring.
BASE: RGB = (0.9383, 0.8567, 0.7357)
MELANIN_ABS: RGB = (6.5635, 9.7620, 15.0773)
FLOOR = 0.02491
GAMMA = 3.2808
#: Per-channel absorption of haemoglobin relative to the 0.5 reference (redder when higher).
HAEMOGLOBIN_ABS: RGB = (0.04, 0.40, 0.26)
#: The haemoglobin value the Monk fit was made at.
REFERENCE_HAEMOGLOBIN = 0.5


def monk_tone(melanin: float) -> int:
    """Monk Skin Tone (1..10) of a melanin value in 0..1 (deciles; see module docstring)."""
    m = min(max(float(melanin), 0.0), 1.0)
    return min(10, int(math.floor(m * 10.0)) + 1)


def melanin_range(tone: int) -> tuple[float, float]:
    """The melanin interval ``[lo, hi)`` that :func:`monk_tone` maps to ``tone`` (1..10)."""
    if not 1 <= tone <= 10:
        raise ValueError(f"Monk tone must be 1..10, got {tone}")
    return (tone - 1) / 10.0, tone / 10.0


def skin_albedo_linear(melanin: float, haemoglobin: float = REFERENCE_HAEMOGLOBIN) -> RGB:
    """Diffuse skin albedo, linear RGB in 0..1, for melanin and haemoglobin in 0..1."""
    m = min(max(float(melanin), 0.0), 1.0) ** GAMMA
    h = min(max(float(haemoglobin), 0.0), 1.0) - REFERENCE_HAEMOGLOBIN
    return tuple(min(1.0, FLOOR + b * math.exp(-m * a - h * ha))  # type: ignore[return-value]
                 for b, a, ha in zip(BASE, MELANIN_ABS, HAEMOGLOBIN_ABS))


def skin_albedo_srgb(melanin: float, haemoglobin: float = REFERENCE_HAEMOGLOBIN) -> RGB:
    """The same albedo as sRGB in 0..1 (what the Monk orbs are compared against)."""
    return tuple(linear_to_srgb(c) for c in skin_albedo_linear(melanin, haemoglobin))  # type: ignore[return-value]


def srgb_to_lab(rgb: RGB) -> tuple[float, float, float]:
    """sRGB 0..1 -> CIELAB (D65), for colour differences (CIE76 dE = Euclidean distance)."""
    lin = [srgb_to_linear(c) for c in rgb]
    m = ((0.4124, 0.3576, 0.1805), (0.2126, 0.7152, 0.0722), (0.0193, 0.1192, 0.9505))
    white = (0.95047, 1.0, 1.08883)
    xyz = [sum(m[i][j] * lin[j] for j in range(3)) / white[i] for i in range(3)]
    f = [v ** (1 / 3) if v > 0.008856 else 7.787 * v + 16 / 116 for v in xyz]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def nearest_monk_tone(rgb: RGB) -> int:
    """The Monk tone (1..10) whose orb is closest in CIELAB to an sRGB colour."""
    lab = srgb_to_lab(rgb)
    dists = [math.dist(lab, srgb_to_lab(hex_to_srgb(h))) for h in MONK_SRGB]
    return 1 + dists.index(min(dists))
