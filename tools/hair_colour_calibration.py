"""Fit the fast back-end's hair albedo to Cycles' Principled Hair, and report how well they agree.

    .venv/bin/python tools/hair_colour_calibration.py            # check the constants in use
    .venv/bin/python tools/hair_colour_calibration.py --fit      # also fit new ones

Renders long-haired heads (default catalog, ``--samples``, each made a 30-year-old in a t-shirt
with no glasses, hat or beard; yaw 25 degrees, 160 px, strand detail 1, no white balance) under a
uniform grey world with both back-ends (Standard view, Cycles at 16 samples with the denoiser)
for melanin 0.1..0.95 x redness 0.05..0.9, and compares the median linear colour of the hair
pixels. Both draw the same strands: at fewer, thicker strands Cycles' hair pixels come out
~20 % brighter (more of what is behind shows between strands), so the detail is pinned. How far
the back-ends agree depends on the head (see ``facefarm.compose.hair.colour``). ``--fit``
models the fast back-end's response as linear in the albedo (the measured residual is under
0.006), inverts it at Cycles' colours, and fits ``A exp(-B sigma**P) + C`` (per channel A, B;
shared P, C) to the albedos that result, in log space. The constants go into
``facefarm.compose.hair.colour``.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

GRID = [(m, r) for m in (0.1, 0.3, 0.5, 0.7, 0.85, 0.95) for r in (0.05, 0.5, 0.9)]
SIZE = 160


def _linear(rgb: np.ndarray) -> np.ndarray:
    c = rgb.astype(np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def measure(grid=GRID, samples=(3,)) -> list[tuple[float, float, np.ndarray, np.ndarray, np.ndarray]]:
    """(melanin, redness, fast-back-end albedo, fast median colour, Cycles median colour) per point."""
    from facefarm.catalog import load_catalog, resolve
    from facefarm.compose.compositor import compose
    from facefarm.compose.hair.colour import hair_albedo_linear
    from facefarm.head.model import HeadModel
    from facefarm.render.cycles.renderer import CyclesRenderer
    from facefarm.render.pyrender.renderer import PyrenderRenderer
    from facefarm.scene.classes import CLASS_IDS
    from facefarm.scene.model import Environment

    head = HeadModel.load()
    catalog = load_catalog("facefarm/assets/catalogs/default.json")
    world = Environment(hdri=None, color=(0.6, 0.6, 0.6), background=(0.3, 0.3, 0.3))
    out = []
    with (
        PyrenderRenderer(view_transform="Standard") as fast,
        CyclesRenderer(samples=16, denoise=True, view_transform="Standard") as slow,
    ):
        for index, (mel, red) in ((i, mr) for i in samples for mr in grid):
            base = resolve(catalog, 0, index)
            s = base.model_copy(
                update={
                    "hair": base.hair.model_copy(update={"style": "long", "melanin": mel, "redness": red, "grey": 0.0}),
                    "facial_hair": base.facial_hair.model_copy(update={"style": "none"}),
                    "age_years": 30.0,
                    "clothing": base.clothing.model_copy(update={"id": "tshirt"}),
                    "glasses": base.glasses.model_copy(update={"present": False}),
                    "headwear": base.headwear.model_copy(update={"id": "none", "color_rgb": None}),
                    "head_pose": base.head_pose.model_copy(update={"yaw_deg": 25.0, "pitch_deg": 0.0, "roll_deg": 0.0}),
                    "camera": base.camera.model_copy(update={"width": SIZE, "height": SIZE, "white_balance": 0.0}),
                    "render": base.render.model_copy(update={"hair_detail": 1.0}),
                }
            )
            scene = replace(compose(s, head, "cycles"), environment=world, lights=())
            medians = []
            for r in (fast, slow):
                res = r.render(scene)
                medians.append(np.median(_linear(res.rgb[res.segmentation == CLASS_IDS["HAIR"]]), axis=0))
            out.append((mel, red, hair_albedo_linear(mel, red, 0.0), *medians))
            print(
                f"sample {index} melanin {mel:.2f} redness {red:.2f}  fast {np.round(medians[0], 4)}  cycles "
                f"{np.round(medians[1], 4)}  cycles/fast {np.round(medians[1] / np.maximum(medians[0], 1e-4), 2)}",
                flush=True,
            )
    return out


def fit(rows) -> None:
    from scipy.optimize import least_squares

    from facefarm.compose.hair.colour import absorption

    a = np.array([r[2] for r in rows])
    fast = np.array([r[3] for r in rows])
    cyc = np.array([r[4] for r in rows])
    k, s = np.empty(3), np.empty(3)
    for c in range(3):
        k[c], s[c] = np.polyfit(a[:, c], fast[:, c], 1)
        print(
            f"channel {c}: fast = {k[c]:.3f} albedo + {s[c]:.4f} (max residual "
            f"{np.abs(k[c] * a[:, c] + s[c] - fast[:, c]).max():.4f})"
        )
    target = (cyc - s) / k
    sigma = np.array([absorption(r[0], r[1]) for r in rows])

    def model(p):
        return p[:3] * np.exp(-p[3:6] * sigma ** p[7]) + p[6]

    res = least_squares(
        lambda p: (np.log(np.maximum(model(p), 1e-6)) - np.log(np.maximum(target, 1e-3))).ravel(),
        x0=[0.6, 0.6, 0.6, 2, 2, 2, 0.001, 0.5],
        bounds=([0] * 6 + [0, 0.2], [5] * 3 + [20] * 3 + [0.05, 1.5]),
    )
    p = res.x
    print(f"_A = np.array([{p[0]:.4f}, {p[1]:.4f}, {p[2]:.4f}])")
    print(f"_B = np.array([{p[3]:.4f}, {p[4]:.4f}, {p[5]:.4f}])")
    print(f"_P = {p[7]:.4f}")
    print(f"_C = {p[6]:.4f}")
    print("largest albedo error:", np.round(np.abs(model(p) - target).max(axis=0), 4))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fit", action="store_true", help="fit new constants from this run")
    ap.add_argument("--samples", default="3", help="catalog indices of the heads, comma separated")
    args = ap.parse_args()
    rows = measure(samples=tuple(int(i) for i in args.samples.split(",")))
    ratio = np.array([r[4] / np.maximum(r[3], 1e-4) for r in rows])
    print(
        "cycles/fast per channel: median",
        np.round(np.median(ratio, axis=0), 2),
        "range",
        np.round(ratio.min(axis=0), 2),
        "..",
        np.round(ratio.max(axis=0), 2),
    )
    if args.fit:
        fit(rows)


if __name__ == "__main__":
    main()
