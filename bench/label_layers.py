"""What the optional label layers cost: amodal masks and normals in the fast back-end.

    PYOPENGL_PLATFORM=egl .venv/bin/python bench/label_layers.py [-n 8] [--size 256] [--rounds 3]

Composes the first ``-n`` default samples once, then renders each with the fast back-end with no
optional labels, with ``amodal_masks``, with ``normals`` and with both, interleaved (every
variant of a sample back to back, ``--rounds`` times, the minimum kept) so a busy machine slows
all variants alike; and encodes their files as the writer does. Prints the back-end's time per
sample and what each layer adds (render and encode), and the files' sizes. A benchmark: it asserts
nothing; wall clock on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

VARIANTS = {
    "none": frozenset(),
    "amodal_masks": frozenset({"amodal_masks"}),
    "normals": frozenset({"normals"}),
    "both": frozenset({"amodal_masks", "normals"}),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=8)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    import json

    from facefarm.catalog import load_catalog
    from facefarm.paths import CATALOGS
    from facefarm.sample import writer
    from facefarm.sample.renderer import SampleRenderer, one_blas_thread

    data = json.loads((CATALOGS / "default.json").read_text())
    data["render"] = {**data.get("render", {}), "resolution": [args.size, args.size]}
    sr = SampleRenderer(load_catalog(data))
    render_ms = {k: [] for k in VARIANTS}
    encode_ms = {k: [] for k in VARIANTS}
    sizes: dict[str, list[int]] = {}
    with one_blas_thread():
        scenes = [sr.prepare(0, i).scene for i in range(args.n)]
        sr.backend.render(scenes[0], labels=VARIANTS["both"])  # warm-up: shaders, textures
        for scene in scenes:
            best = {k: np.inf for k in VARIANTS}
            results = {}
            for _ in range(args.rounds):
                for name, labels in VARIANTS.items():
                    t0 = time.perf_counter()
                    results[name] = sr.backend.render(scene, labels=labels)
                    best[name] = min(best[name], 1e3 * (time.perf_counter() - t0))
            for name, r in results.items():
                render_ms[name].append(best[name])
                t0 = time.perf_counter()
                files = writer.encode_files(
                    r.rgb,
                    r.segmentation,
                    r.depth,
                    {},
                    extra={"segmentation_head": r.segmentation_head, "layers": r.layers, "normals": r.normals},
                )
                encode_ms[name].append(1e3 * (time.perf_counter() - t0))
                if name == "both":
                    for k, v in files.items():
                        sizes.setdefault(k, []).append(len(v))
    sr.close()
    base_r, base_e = np.mean(render_ms["none"]), np.mean(encode_ms["none"])
    print(f"\n{args.n} default samples at {args.size} px, fast back-end, min of {args.rounds} renders each\n")
    print("| labels | render ms / sample | + render | encode ms | + encode |")
    print("|---|---:|---:|---:|---:|")
    for name in VARIANTS:
        r, e = np.mean(render_ms[name]), np.mean(encode_ms[name])
        print(f"| {name} | {r:.0f} | {r - base_r:+.0f} | {e:.1f} | {e - base_e:+.1f} |")
    print("\n| file | mean KB |\n|---|---:|")
    for k, v in sizes.items():
        print(f"| {k} | {np.mean(v) / 1024:.1f} |")


if __name__ == "__main__":
    main()
