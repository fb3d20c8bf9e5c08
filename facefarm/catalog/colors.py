"""Colour conversions shared by the catalog: hex strings, sRGB <-> linear, colour temperature.

Catalog specs and resolved samples state colours as **sRGB** triples in 0..1 (what a
colour picker shows); renderers convert to linear with :func:`srgb_to_linear`.
"""

from __future__ import annotations

import math
import re

RGB = tuple[float, float, float]

HEX_PATTERN = r"^#[0-9a-fA-F]{6}$"
_HEX = re.compile(HEX_PATTERN)


def hex_to_srgb(value: str) -> RGB:
    """``"#rrggbb"`` -> sRGB floats in 0..1."""
    if not _HEX.match(value):
        raise ValueError(f"colour {value!r} is not of the form '#rrggbb'")
    return tuple(int(value[i : i + 2], 16) / 255.0 for i in (1, 3, 5))  # type: ignore[return-value]


def srgb_to_linear(c: float) -> float:
    """One sRGB channel (0..1) -> linear (0..1), IEC 61966-2-1."""
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def rgb(values) -> RGB:
    """Any three numbers (a tuple, a list, a numpy array) as a float RGB triple."""
    r, g, b = (float(c) for c in values)
    return (r, g, b)


def srgb_to_linear_rgb(values) -> RGB:
    """An sRGB triple (0..1) -> linear, channel by channel."""
    r, g, b = (srgb_to_linear(float(c)) for c in values)
    return (r, g, b)


def linear_to_srgb(c: float) -> float:
    """One linear channel (0..1, clipped) -> sRGB (0..1)."""
    c = min(max(c, 0.0), 1.0)
    return c * 12.92 if c <= 0.0031308 else 1.055 * c ** (1.0 / 2.4) - 0.055


def kelvin_to_srgb(kelvin: float) -> RGB:
    """Colour of a black body at ``kelvin`` (1000..40000 K) as sRGB 0..1, normalised so max = 1.

    Tanner Helland's fit to Mitchell Charity's black-body table; good to a few percent,
    which is all a light colour needs. 6600 K is close to white.
    """
    t = min(max(kelvin, 1000.0), 40000.0) / 100.0
    if t <= 66:
        r = 255.0
        g = 99.4708025861 * math.log(t) - 161.1195681661
        b = 0.0 if t <= 19 else 138.5177312231 * math.log(t - 10) - 305.0447927307
    else:
        r = 329.698727446 * (t - 60) ** -0.1332047592
        g = 288.1221695283 * (t - 60) ** -0.0755148492
        b = 255.0
    rgb = [min(max(x, 0.0), 255.0) / 255.0 for x in (r, g, b)]
    m = max(rgb)
    return tuple(x / m for x in rgb)  # type: ignore[return-value]
