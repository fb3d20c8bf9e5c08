"""Does the fast back-end's hair cover like hair, and at what cost?

    PYOPENGL_PLATFORM=egl .venv/bin/python bench/hair_cover.py [--repo PATH] [-n 8] [--cover 32]

For the facefarm checkout at ``--repo`` (run it once per checkout, side by side, for a
before/after row): renders the first ``-n`` default samples at 256 px with the fast back-end
(after one warm-up sample) and reports the mean compose (``prepare``) and render + labels +
encode (``finish``) time per sample; then over the first ``--cover`` samples:

* ``skin_like``: the share of HAIR-labelled pixels whose colour is nearer the sample's median
  SKIN-labelled colour than its median HAIR colour (scalp or skin showing through hair, as the
  image shows it; lower is better);
* ``hair_px``: mean HAIR-labelled pixels per sample (the labelled hair footprint);
* ``dlib``: the share of samples dlib's HOG face detector finds a face in (when dlib is installed).

A benchmark: it asserts nothing; timings are wall clock on a shared machine (+-20 %).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.append(str(Path(__file__).resolve().parent.parent))  # this checkout, for bench.* (after --repo's)
from bench.checkout import import_repo  # noqa: E402

HERE = Path(__file__).resolve().parent


def skin_like_share(rgb: np.ndarray, seg: np.ndarray, hair_id: int, skin_id: int) -> tuple[float, int]:
    """(share of HAIR pixels nearer the median SKIN colour than the median HAIR colour, HAIR pixels)."""
    hair, skin = seg == hair_id, seg == skin_id
    if hair.sum() < 50 or skin.sum() < 50:
        return float("nan"), int(hair.sum())
    px = rgb[hair].astype(float)
    to_skin = np.linalg.norm(px - np.median(rgb[skin], axis=0), axis=1)
    to_hair = np.linalg.norm(px - np.median(px, axis=0), axis=1)
    return float(np.mean(to_skin < to_hair)), int(hair.sum())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, default=HERE.parent)
    ap.add_argument("-n", type=int, default=8, help="samples timed")
    ap.add_argument("--cover", type=int, default=32, help="samples measured for cover and detection")
    ap.add_argument("--label", default=None)
    a = ap.parse_args(argv)
    repo = a.repo.resolve()
    import_repo(repo)
    from facefarm.catalog import load_catalog
    from facefarm.sample.renderer import SampleRenderer
    from facefarm.scene.classes import CLASS_IDS

    n_total = max(a.n, a.cover)
    r = SampleRenderer(load_catalog(str(repo / "facefarm/assets/catalogs/default.json")))
    r.render(0, 0, n_total)  # warm-up: shaders, caches
    compose_s, finish_s, shares, hair_px, found = [], [], [], [], []
    try:
        import dlib

        detector = dlib.get_frontal_face_detector()
    except ImportError:
        detector = None
    for i in range(n_total):
        t0 = time.perf_counter()
        prepared = r.prepare(0, i, n_total)
        t1 = time.perf_counter()
        _, files = r.finish(prepared)
        t2 = time.perf_counter()
        if i < a.n:
            compose_s.append(t1 - t0)
            finish_s.append(t2 - t1)
        if i < a.cover:
            rgb = cv2.cvtColor(
                cv2.imdecode(np.frombuffer(files["image"], np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB
            )
            seg = cv2.imdecode(np.frombuffer(files["segmentation"], np.uint8), cv2.IMREAD_UNCHANGED)
            share, px = skin_like_share(rgb, seg, CLASS_IDS["HAIR"], CLASS_IDS["SKIN"])
            shares.append(share)
            hair_px.append(px)
            if detector is not None:
                found.append(len(detector(rgb, 1)) > 0)
    r.close()
    out = {
        "label": a.label or repo.name,
        "compose_ms": 1e3 * float(np.mean(compose_s)),
        "finish_ms": 1e3 * float(np.mean(finish_s)),
        "skin_like": float(np.nanmean(shares)),
        "hair_px": float(np.mean(hair_px)),
        "dlib": float(np.mean(found)) if found else None,
        "n": a.n,
        "cover": a.cover,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
