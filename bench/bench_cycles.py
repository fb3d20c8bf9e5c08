"""What a photoreal (Cycles, CPU here) sample costs, and whether a long-lived renderer leaks.

    .venv/bin/python -m bench.bench_cycles [--quick] [--samples 16,64,128] [--images 2] \
        [--rss-renders 200] [--rss-size 128]

1. Seconds per 512 x 512 image for each path-tracing sample count: real heads from
   the default catalog (resolve + compose are not timed), split into scene build,
   Cycles render (beauty + label layers, denoiser included) and pass readback, with
   the process CPU seconds beside the wall time (the machine may be shared).
2. RSS over ``--rss-renders`` renders by one renderer (small images, scenes cycling
   through a few real heads), sampled along the way, with and without ``recycle_every``.

Prints a Markdown section on stdout (``bench/run.py`` collects it); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import sys
import time

import numpy as np


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)  # Cycles' threads are in this process
    return r.ru_utime + r.ru_stime


def _at_size(scene, size: int):
    """The same scene seen through the same lens at ``size`` x ``size`` pixels."""
    cam = scene.camera
    f = size / cam.width
    K = cam.K.copy()
    K[:2] *= f
    return dataclasses.replace(scene, camera=dataclasses.replace(
        cam, K=K, width=size, height=int(round(cam.height * f))))


def _scenes(n: int, size: int) -> list:
    from facefarm.catalog import load_catalog, resolve
    from facefarm.paths import ASSETS
    from facefarm.pipeline.compose import compose
    from facefarm.pipeline.head_model import HeadModel

    catalog = load_catalog(ASSETS / "catalogs" / "default.json")
    head = HeadModel.load()
    return [_at_size(compose(resolve(catalog, 0, i), head), size) for i in range(n)]


def _log(*a) -> None:
    print(*a, file=sys.stderr, flush=True)


def time_per_image(sample_counts, n_images: int, size: int = 512) -> list[dict]:
    from facefarm.pipeline.render_cycles import CyclesRenderer

    scenes = _scenes(n_images, size)
    rows = []
    for spp in sample_counts:
        with CyclesRenderer(samples=spp) as r:
            r.render(_at_size(scenes[0], 32))  # first-render costs (kernels, OIDN) out of the timing
            walls, cpus, parts = [], [], []
            for sc in scenes:
                c0, t0 = _cpu_s(), time.perf_counter()
                out = r.render(sc)
                walls.append(time.perf_counter() - t0)
                cpus.append(_cpu_s() - c0)
                parts.append(out.timings)
                _log(f"{spp} spp: {walls[-1]:.1f} s wall, {cpus[-1]:.1f} s CPU {out.timings}")
        rows.append({"spp": spp, "wall": float(np.mean(walls)), "cpu": float(np.mean(cpus)),
                     **{k: float(np.mean([p[k] for p in parts])) for k in parts[0]}})
    return rows


def rss_over_renders(n_renders: int, size: int, recycle_every: int | None,
                     checkpoints=(1, 10, 25, 50, 100, 150, 200)) -> dict[int, float]:
    from facefarm.pipeline.render_cycles import CyclesRenderer

    scenes = _scenes(6, size)
    rss = {}
    with CyclesRenderer(samples=4, recycle_every=recycle_every) as r:
        for i in range(1, n_renders + 1):
            r.render(scenes[i % len(scenes)])
            if i in checkpoints or i == n_renders:
                rss[i] = _rss_mb()
                _log(f"recycle_every={recycle_every}: {i} renders, RSS {rss[i]:.0f} MB")
    return rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="16 and 64 spp, one image each; RSS at 64 px, 100 renders with recycling")
    ap.add_argument("--samples", default="16,64,128")
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--rss-renders", type=int, default=200)
    ap.add_argument("--rss-size", type=int, default=128)
    a = ap.parse_args()
    counts = (16, 64) if a.quick else tuple(int(s) for s in a.samples.split(","))
    n_images = 1 if a.quick else a.images
    rss_size = 64 if a.quick else a.rss_size
    n_recycled = min(100, a.rss_renders) if a.quick else a.rss_renders
    load = os.getloadavg()[0]

    rows = time_per_image(counts, n_images)
    rss_plain = rss_over_renders(a.rss_renders, rss_size, None)
    rss_recycled = rss_over_renders(n_recycled, rss_size, 50)

    out = ["## Cycles back-end (CPU)", "",
           f"Real heads from `assets/catalogs/default.json`, 512 x 512, {n_images} image(s) per row, "
           f"adaptive sampling + OpenImageDenoise, one renderer reused. Wall seconds depend on what else "
           f"runs (load average {load:.1f} at the start); CPU seconds are the process total over "
           f"all threads.",
           "", "| samples/px | wall s/image | CPU s/image | build s | render s | readback s |",
           "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        out.append(f"| {r['spp']} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['build_s']:.2f} | "
                   f"{r['render_s']:.1f} | {r['readback_s']:.3f} |")
    out += ["", f"RSS of one process over {a.rss_renders} renders ({rss_size} px, 4 spp, six heads in "
            f"turn); the recycled run follows in the same process, so its RSS starts where the first ended:",
            "", "| renders | RSS MB | RSS MB, recycle_every=50 |", "| ---: | ---: | ---: |"]
    for i in rss_plain:
        recycled = f"{rss_recycled[i]:.0f}" if i in rss_recycled else "-"
        out.append(f"| {i} | {rss_plain[i]:.0f} | {recycled} |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
