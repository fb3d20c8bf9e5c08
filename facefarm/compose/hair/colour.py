"""Hair colour from melanin and redness, one colour in both back-ends.

Cycles' Principled Hair BSDF (melanin parametrization, Blender's constants) makes a fibre's
absorption ``sigma = q (1 - r) EUMELANIN + q r PHEOMELANIN`` with ``q = -ln(max(1 - m, 1e-4))``
for melanin ``m`` and redness ``r``. Its colour parametrization takes the colour
``exp(-sqrt(sigma) D(0.3))`` for the same ``sigma`` (:func:`cycles_colour`).

The fast back-end draws strands as ribbons with an albedo. :func:`albedo` is the albedo at
which they look like Cycles' strands of the same ``sigma``. It was fitted to both back-ends
rendering the same long-haired head under a uniform grey world, for melanin 0.1..0.95 and
redness 0.05..0.9 (``tools/hair_colour_calibration.py`` renders the grid, fits the constants
below and prints the agreement). How far they agree depends on the head: the rasteriser has
no shadows, so where Cycles' hair shadows itself more (thick hair lying on itself) it comes
out darker there than here. Fitted on one head (Cycles / fast 0.90-1.06 per channel there); on
two other heads 0.63-0.99 (median 0.75), on a third ~0.55. Fitting all three together made the
first two 1.2-1.7x too dark, so the constants stay those of the one head.

Grey hairs: a lock whose share ``g`` of hairs has lost its pigment mixes the pigmented colour
with that of grey hair (melanin ``GREY_MELANIN``, a third of the redness) by ``g ** 2``, not
``g``. Light that a grey hair scatters passes through its neighbours, and a pigmented
neighbour absorbs it, so a third grey still reads as dark salt and pepper, as it does in
photographs. Cycles gets the same mix in its own colour space (:func:`cycles_lock_colour`).
"""

from __future__ import annotations

import numpy as np

#: Cycles' absorption of eumelanin and pheomelanin per unit concentration (linear RGB).
EUMELANIN = np.array([0.506, 0.841, 1.653])
PHEOMELANIN = np.array([0.343, 0.733, 1.924])
#: Melanin of a grey hair (what is left of its pigment), and the share of the redness it keeps.
GREY_MELANIN = 0.08
GREY_REDNESS = 0.3
#: The fast back-end's albedo for absorption sigma: A exp(-B sigma**P) + C (see module docstring).
_A = np.array([0.7529, 0.7029, 0.8417])
_B = np.array([3.2543, 3.0902, 3.4267])
_P = 0.7246
_C = 0.0009


def absorption(melanin: float, redness: float) -> np.ndarray:
    """(3,) fibre absorption of Cycles' melanin parametrization."""
    m = min(max(float(melanin), 0.0), 1.0)
    r = min(max(float(redness), 0.0), 1.0)
    q = -np.log(max(1.0 - m, 1e-4))
    return q * (1.0 - r) * EUMELANIN + q * r * PHEOMELANIN


def cycles_colour(sigma: np.ndarray, azimuthal_roughness: float = 0.3) -> np.ndarray:
    """(3,) the colour Cycles' colour parametrization turns back into ``sigma``."""
    x = float(azimuthal_roughness)
    d = ((((0.245 * x + 5.574) * x - 10.73) * x + 2.532) * x - 0.215) * x + 5.969
    return np.exp(-np.sqrt(np.asarray(sigma, np.float64)) * d)


def albedo(sigma: np.ndarray) -> np.ndarray:
    """(3,) the fast back-end's strand albedo that looks like Cycles' fibres of ``sigma``."""
    return _A * np.exp(-_B * np.asarray(sigma, np.float64) ** _P) + _C


def hair_albedo_linear(melanin: float, redness: float, grey: float) -> np.ndarray:
    """(3,) linear albedo of a lock of hair (strands in the fast back-end, painted brows and
    scalp in both): melanin 0..1, redness (pheomelanin share) 0..1, grey share 0..1."""
    pigmented = albedo(absorption(melanin, redness))
    return _grey_mix(pigmented, albedo(absorption(GREY_MELANIN, GREY_REDNESS * redness)), grey)


def cycles_lock_colour(melanin: float, redness: float, grey: float) -> np.ndarray:
    """(3,) the colour for Cycles' colour parametrization of the same lock: its pigmented and
    grey hairs' colours mixed as :func:`hair_albedo_linear` mixes them."""
    pigmented = cycles_colour(absorption(melanin, redness))
    return _grey_mix(pigmented, cycles_colour(absorption(GREY_MELANIN, GREY_REDNESS * redness)), grey)


def _grey_mix(pigmented: np.ndarray, grey_hair: np.ndarray, grey: float) -> np.ndarray:
    g = float(np.clip(grey, 0.0, 1.0))
    return pigmented + (grey_hair - pigmented) * g * g
