"""Fit the skin albedo model's constants to measured skin albedo, and report the fit.

    .venv/bin/python tools/skin_albedo_fit.py          # how well the constants in use fit
    .venv/bin/python tools/skin_albedo_fit.py --fit    # also fit new ones

The anchors are ``FITZPATRICK_ALBEDO`` at ``FITZPATRICK_MELANIN`` (see
``facefarm.catalog.skin_tone``); the fit is least squares on CIELAB differences (CIE76) of the
sRGB-encoded albedo at haemoglobin 0.5. Prints, per Monk tone, the albedo at the decile centre
and the orb nearest it. The constants go into ``facefarm.catalog.skin_tone``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from facefarm.catalog import skin_tone as st  # noqa: E402
from facefarm.catalog.colors import linear_to_srgb  # noqa: E402

# BASE (3), MELANIN_ABS (3), FLOOR, GAMMA
_LOWER = [0.3] * 3 + [0.0] * 3 + [0.0, 0.5]
_UPPER = [1.0] * 3 + [40.0] * 3 + [0.05, 5.0]


def albedo(params: np.ndarray, melanin: np.ndarray) -> np.ndarray:
    """(n, 3) linear albedo of the model (``skin_tone.albedo_model``) with ``params`` at the
    reference haemoglobin."""
    base, absorb, floor, gamma = tuple(params[:3]), tuple(params[3:6]), float(params[6]), float(params[7])
    return np.array(
        [st.albedo_model(m, st.REFERENCE_HAEMOGLOBIN, base, absorb, floor, gamma) for m in np.asarray(melanin, float)]
    )


def lab(linear: np.ndarray) -> np.ndarray:
    return np.array([st.srgb_to_lab(tuple(linear_to_srgb(float(c)) for c in np.clip(row, 0, 1))) for row in linear])


def anchor_errors(params: np.ndarray) -> np.ndarray:
    """(6,) CIE76 dE of the model against each Fitzpatrick anchor."""
    got = lab(albedo(params, np.asarray(st.FITZPATRICK_MELANIN)))
    return np.linalg.norm(got - lab(np.asarray(st.FITZPATRICK_ALBEDO)), axis=1)


def fit(start: np.ndarray) -> np.ndarray:
    from scipy.optimize import least_squares

    target = lab(np.asarray(st.FITZPATRICK_ALBEDO))
    m = np.asarray(st.FITZPATRICK_MELANIN)
    return least_squares(lambda x: (lab(albedo(x, m)) - target).ravel(), start, bounds=(_LOWER, _UPPER)).x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", action="store_true", help="fit new constants (starting from those in use)")
    args = ap.parse_args()
    params = np.r_[st.BASE, st.MELANIN_ABS, st.FLOOR, st.GAMMA]
    if args.fit:
        params = fit(params)
        print(f"BASE = {tuple(round(float(v), 4) for v in params[:3])}")
        print(f"MELANIN_ABS = {tuple(round(float(v), 4) for v in params[3:6])}")
        print(f"FLOOR = {params[6]:.5f}\nGAMMA = {params[7]:.4f}")
    print("dE at the Fitzpatrick anchors I..VI:", " ".join(f"{e:.2f}" for e in anchor_errors(params)))
    for tone in range(1, 11):
        m = (tone - 0.5) / 10
        lin = albedo(params, np.array([m]))[0]
        srgb = tuple(linear_to_srgb(float(c)) for c in lin)
        print(
            f"Monk {tone:2d} (melanin {m:.2f}): linear {np.round(lin, 3)}, sRGB "
            f"{tuple(round(255 * c) for c in srgb)}, nearest orb {st.nearest_monk_tone(srgb)}"
        )


if __name__ == "__main__":
    main()
