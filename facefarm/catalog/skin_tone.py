"""Skin colour from melanin and haemoglobin, and the melanin <-> Monk Skin Tone mapping.

The mapping, written down:

* ``melanin`` is a continuous 0..1 coordinate. Monk tone ``k`` (1..10) covers the decile
  ``[(k - 1) / 10, k / 10)`` (melanin 1.0 is tone 10): ``monk_tone(m) = min(10, floor(10 m) + 1)``.
* The albedo model is a one-layer Beer-Lambert skin with a surface floor::

      linear_albedo_c = FLOOR + BASE_c * exp(-(melanin ** GAMMA) * MELANIN_ABS_c
                                             - (haemoglobin - 0.5) * HAEMOGLOBIN_ABS_c)

  ``FLOOR`` is the light reflected before any pigment (air/stratum-corneum interface),
  ``melanin ** GAMMA`` the effective melanin concentration, and haemoglobin absorbs mostly
  green and blue, so more of it reads redder.
* ``BASE``, ``MELANIN_ABS``, ``FLOOR`` and ``GAMMA`` are least-squares fitted in CIELAB
  (``tools/skin_albedo_fit.py``) to *measured* skin albedo: the six Fitzpatrick types of the
  Physically Based database (``FITZPATRICK_ALBEDO``, linear sRGB, from measured spectral
  reflectance; CC0), placed at ``FITZPATRICK_MELANIN`` on the melanin axis, i.e. on the Monk
  tones commonly paired with them (I ~ Monk 1-2, II ~ 3, III ~ 4-5, IV ~ 5-6, V ~ 7-8,
  VI ~ 9-10). CIE76 dE <= 6 at every anchor.

The Monk orbs (``MONK_SRGB``) are display swatches, not albedos: orbs 1-3 are nearly grey
(CIELAB chroma 6-14) where measured fair skin has chroma 15-20, and orbs 9-10 are darker
than any measured skin. An albedo fitted to the orbs themselves (this module's model until
0.3.0) rendered light skin as grey plaster. So the orb nearest an albedo here can be another
tone's: orbs 4, 4, 5 for tones 1-3 (they are paler than any fair skin) and 8 for tones 9-10,
within three tones and never out of order. The Monk label stays the melanin decile.

Nothing here is a medical or anthropological claim; it is a reproducible way to put a
Monk label on a rendered albedo.
"""

from __future__ import annotations

import math

from facefarm.catalog.colors import RGB, hex_to_srgb, linear_to_srgb, srgb_to_linear

#: The ten Monk Skin Tone orbs, tone 1 (lightest) .. 10 (darkest), sRGB hex.
MONK_SRGB: tuple[str, ...] = (
    "#f6ede4",
    "#f3e7db",
    "#f7ead0",
    "#eadaba",
    "#d7bd96",
    "#a07e56",
    "#825c43",
    "#604134",
    "#3a312a",
    "#292420",
)

#: Measured diffuse albedo of skin, Fitzpatrick types I..VI, linear sRGB: the "Skin I".."Skin VI"
#: entries of the Physically Based database (https://physicallybased.info, CC0 1.0), which cites
#: the spectral measurements of Jakubiec's Spectral Materials Database.
FITZPATRICK_ALBEDO: tuple[RGB, ...] = (
    (0.847, 0.638, 0.552),
    (0.799, 0.485, 0.347),
    (0.623, 0.433, 0.343),
    (0.436, 0.227, 0.131),
    (0.283, 0.148, 0.079),
    (0.090, 0.050, 0.020),
)
#: Where each Fitzpatrick type sits on the melanin axis (the centre of the Monk tones paired with it).
FITZPATRICK_MELANIN: tuple[float, ...] = (0.10, 0.25, 0.40, 0.55, 0.70, 0.90)

# Fitted constants (linear RGB channels); see the module docstring.
BASE: RGB = (0.8878, 0.6065, 0.5098)
MELANIN_ABS: RGB = (2.8730, 3.4797, 4.8256)
FLOOR = 0.01089
GAMMA = 2.2425
#: Per-channel absorption of haemoglobin relative to the 0.5 reference (redder when higher).
HAEMOGLOBIN_ABS: RGB = (0.04, 0.40, 0.26)
#: The haemoglobin value the fit was made at.
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
    return albedo_model(melanin, haemoglobin, BASE, MELANIN_ABS, FLOOR, GAMMA)


def albedo_model(melanin: float, haemoglobin: float, base: RGB, melanin_abs: RGB, floor: float, gamma: float) -> RGB:
    """The albedo model with its constants as arguments (``tools/skin_albedo_fit.py`` fits them):
    per channel ``floor + base * exp(-melanin ** gamma * melanin_abs - (haemoglobin - 0.5) *
    HAEMOGLOBIN_ABS)``, capped at 1, melanin and haemoglobin clipped to 0..1."""
    m = min(max(float(melanin), 0.0), 1.0) ** gamma
    h = min(max(float(haemoglobin), 0.0), 1.0) - REFERENCE_HAEMOGLOBIN
    return tuple(
        min(1.0, floor + b * math.exp(-m * a - h * ha))  # type: ignore[return-value]
        for b, a, ha in zip(base, melanin_abs, HAEMOGLOBIN_ABS)
    )


def skin_albedo_srgb(melanin: float, haemoglobin: float = REFERENCE_HAEMOGLOBIN) -> RGB:
    """The same albedo as sRGB in 0..1 (what the records carry as ``albedo_rgb``)."""
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
