"""Does landmark visibility agree with what the image shows?

    python tools/visibility_report.py [-n 24] [--catalog facefarm/assets/catalogs/default.json]
                                      [--max-yaw 20] [--seed 0] [--details] [--json out.json]

Renders the first ``n`` samples of a catalog with the fast back-end (in memory, nothing
written), keeps the near-frontal ones (|yaw| <= ``--max-yaw`` in the camera frame) and
counts, per region of the 68-point layout (+ pupils):

* ``hidden_seen``: flagged not visible while the segmentation pixel under the point shows a
  class its region expects (skin, nose, eye, brow, lip, mouth interior, beard on the jaw);
* ``visible_covered``: flagged visible while neither its pixel nor any 1-px neighbour shows
  such a class (hair, glasses, headwear, clothing, background there instead);
* ``hidden_covered``: flagged not visible, its pixel showing something else (as it should).

``hidden_seen`` over-counts where the head hides itself with a surface of the same class
(the far cheek over the far jaw at larger yaw); ``--details`` prints each such point's depth
gap (point depth minus the nearest rendered depth around it) so those can be told apart.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import numpy as np  # noqa: E402

from facefarm.catalog import load_catalog  # noqa: E402
from facefarm.sample.labels import landmark_labels  # noqa: E402
from facefarm.sample.renderer import SampleRenderer, one_blas_thread  # noqa: E402
from facefarm.scene.classes import CLASS_IDS  # noqa: E402

C = CLASS_IDS
SKIN, BROWS, EYES = {C["SKIN"]}, {C["RIGHT_BROW"], C["LEFT_BROW"]}, {C["RIGHT_EYE"], C["LEFT_EYE"]}
LIPS, MOUTH = {C["TOP_LIP"], C["BOTTOM_LIP"]}, {C["MOUTH_INTERIOR"]}

#: name -> (first, end, classes the pixel of a visible point of the region may show)
REGIONS = {
    "jaw": (0, 17, SKIN | {C["BEARD"], C["NECK"], C["RIGHT_EAR"], C["LEFT_EAR"]}),
    "brows": (17, 27, SKIN | BROWS),
    "nose": (27, 36, SKIN | {C["NOSE"]}),
    "eyes": (36, 48, SKIN | EYES),
    "outer_lip": (48, 60, SKIN | LIPS | MOUTH),
    "inner_lip": (60, 68, LIPS | MOUTH),
    "pupils": (68, 70, EYES),
}


def neighbourhood_classes(seg: np.ndarray, uv: np.ndarray, radius: int = 1) -> np.ndarray:
    """(K, (2r+1)^2) classes of the pixel containing each point (column 0) and its neighbours."""
    h, w = seg.shape
    i = np.clip(np.floor(uv[:, 0]).astype(int), 0, w - 1)
    j = np.clip(np.floor(uv[:, 1]).astype(int), 0, h - 1)
    offs = [(0, 0)] + [
        (dj, di) for dj in range(-radius, radius + 1) for di in range(-radius, radius + 1) if (dj, di) != (0, 0)
    ]
    return np.stack([seg[np.clip(j + dj, 0, h - 1), np.clip(i + di, 0, w - 1)] for dj, di in offs], axis=1)


def depth_gap(depth: np.ndarray, uv: np.ndarray, z: np.ndarray) -> np.ndarray:
    """(K,) point depth minus the nearest rendered depth at the 2 x 2 centres around it (m)."""
    h, w = depth.shape
    i0 = np.floor(uv[:, 0] - 0.5).astype(int)
    j0 = np.floor(uv[:, 1] - 0.5).astype(int)
    best = np.full(len(z), np.inf)
    for di in (0, 1):
        for dj in (0, 1):
            d = depth[np.clip(j0 + dj, 0, h - 1), np.clip(i0 + di, 0, w - 1)].astype(np.float64)
            gap = np.where(d > 0, z - d, np.inf)
            best = np.where(np.abs(gap) < np.abs(best), gap, best)
    return best


def evaluate(samples) -> dict:
    """samples: iterable of (sample_id, yaw_deg, labels, segmentation, occluder_depth) -> per-region counts."""
    keys = ("points", "visible", "hidden_seen", "visible_covered", "hidden_covered")
    out = {name: dict.fromkeys(keys, 0) for name in REGIONS}
    details = []
    for sid, yaw, lab, seg, occ in samples:
        uv, z, vis = lab["uv"][:70], lab["xyz_camera"][:70, 2], lab["visible"][:70]
        classes = neighbourhood_classes(seg, uv)
        gap = depth_gap(occ, uv, z)
        for name, (a, b, expected) in REGIONS.items():
            exp = np.isin(classes[a:b], list(expected))
            seen = exp[:, 0] & lab["in_frame"][a:b]
            hs = ~vis[a:b] & seen
            vc = vis[a:b] & ~exp.any(axis=1)
            r = out[name]
            r["points"] += b - a
            r["visible"] += int(vis[a:b].sum())
            r["hidden_seen"] += int(hs.sum())
            r["visible_covered"] += int(vc.sum())
            hc = ~vis[a:b] & ~seen
            r["hidden_covered"] += int(hc.sum())
            for k in np.flatnonzero(hs | vc | hc):
                details.append(
                    {
                        "sample": sid,
                        "yaw": round(float(yaw), 1),
                        "point": int(a + k),
                        "kind": "hidden_seen" if hs[k] else "visible_covered" if vc[k] else "hidden_covered",
                        "pixel_class": int(classes[a + k, 0]),
                        "gap_mm": round(1e3 * float(gap[a + k]), 2),
                    }
                )
    return {"regions": out, "details": details}


def render_samples(catalog_path: str, n: int, seed: int, max_yaw: float):
    """Yield (sample_id, yaw, labels, segmentation, occluder_depth) of the near-frontal samples."""
    cat = load_catalog(catalog_path)
    sr = SampleRenderer(cat, backend="pyrender")
    try:
        for index in range(n):
            with one_blas_thread():
                prep = sr.prepare(seed, index, n)
                result = sr.backend.render(prep.scene)
                lab = landmark_labels(prep.scene, result)
            yaw = lab["head_pose"]["yaw_deg"]
            if abs(yaw) > max_yaw:
                continue
            occ = result.occluder_depth if result.occluder_depth is not None else result.depth
            yield prep.sample.sample_id, yaw, lab, result.segmentation, occ
    finally:
        sr.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=24)
    ap.add_argument("--catalog", default="facefarm/assets/catalogs/default.json")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-yaw", type=float, default=20.0)
    ap.add_argument("--details", action="store_true", help="print every disagreeing point")
    ap.add_argument("--json", help="write the counts (and details) here")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    samples = list(render_samples(a.catalog, a.n, a.seed, a.max_yaw))
    rep = evaluate(samples)
    print(f"{len(samples)} of {a.n} samples with |yaw| <= {a.max_yaw:g} deg ({time.perf_counter() - t0:.0f} s)")
    print(
        f"{'region':<10} {'points':>6} {'visible':>8} {'hidden_seen':>12} {'visible_covered':>16}"
        f" {'hidden_covered':>15}"
    )
    for name, r in rep["regions"].items():
        print(
            f"{name:<10} {r['points']:>6} {r['visible']:>8} {r['hidden_seen']:>12} {r['visible_covered']:>16}"
            f" {r['hidden_covered']:>15}"
        )
    if a.details:
        for d in rep["details"]:
            print(d)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rep, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
