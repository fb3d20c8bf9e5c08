"""What a photoreal (Cycles, CPU here) sample costs, and whether a long-lived renderer leaks.

    .venv/bin/python -m bench.bench_cycles [--quick] [--runs 256:16:8,512:16,512:64] [--images 2] \
        [--rss-renders 120] [--rss-size 128]

1. Seconds per whole sample (resolve, compose, render, labels, encode, write) for each
   image size and path-tracing sample count: real heads from the default catalog, the
   render split into scene build, Cycles' path tracing (beauty + label layers, denoiser
   included) and pass readback, with the process CPU seconds beside the wall time (the
   machine may be shared); overhead = everything but the path tracing. What a sample's hair
   and clothes cost varies a lot between samples, so cheap rows time more of them (``size:spp:images``),
   and each row gives the spread of the per-sample overhead too.
2. The first row's samples through a render worker's shard loop, composing the next sample
   while Cycles renders (the workers' default for Cycles) or not.
3. RSS over ``--rss-renders`` renders by one renderer (small images, scenes cycling
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
    return dataclasses.replace(
        scene, camera=dataclasses.replace(cam, K=K, width=size, height=int(round(cam.height * f)))
    )


def _catalog(size: int, spp: int):
    import json

    from facefarm.catalog import load_catalog
    from facefarm.paths import ASSETS

    spec = json.loads((ASSETS / "catalogs" / "default.json").read_text())
    spec["render"] = {
        **spec.get("render", {}),
        "backend": "cycles",
        "samples": spp,
        "resolution": [size, size],
        "device": "cpu",
    }
    return load_catalog(spec)


def _scenes(n: int, size: int) -> list:
    from facefarm.catalog import resolve
    from facefarm.compose.compositor import compose
    from facefarm.head.model import HeadModel

    catalog = _catalog(size, 4)
    head = HeadModel.load()
    return [compose(resolve(catalog, 0, i), head) for i in range(n)]


def _log(*a) -> None:
    print(*a, file=sys.stderr, flush=True)


STAGES = ("resolve", "compose", "render", "labels", "encode", "write")


def _warm_up(sr, n_images: int) -> None:
    """Once-per-process costs out of the timing: Cycles' kernels and OIDN (a first render), each
    HDRI's importance map and the per-surface-level skin charts the first ``n_images`` samples
    use (each of their scenes composed and rendered once, at 32 px) by ``sr``, a SampleRenderer."""
    from facefarm.catalog import resolve
    from facefarm.compose.compositor import compose

    for i in range(n_images):
        sr.backend.render(_at_size(compose(resolve(sr.catalog, 0, i), sr.head, "cycles"), 32))


def time_per_image(runs) -> list[dict]:
    """Whole samples (resolve ... write) through :class:`SampleRenderer` with the Cycles back-end:
    per stage, and the back-end's own split of its render stage (build, path tracing, readback)."""
    import tempfile

    from facefarm.sample.renderer import SampleRenderer
    from facefarm.sample.store import open_store

    rows = []
    for size, spp, n_images in runs:
        sr = SampleRenderer(_catalog(size, spp))
        _warm_up(sr, n_images)
        walls, cpus, stages, parts = [], [], [], []
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(tmp)
            for i in range(n_images):
                c0, t0 = _cpu_s(), time.perf_counter()
                rec = sr.render_to(store, 0, i)
                walls.append(time.perf_counter() - t0)
                cpus.append(_cpu_s() - c0)
                stages.append(rec["render"]["seconds"])
                parts.append(sr.last_backend_timings)
                _log(f"{spp} spp: {walls[-1]:.1f} s wall, {cpus[-1]:.1f} s CPU {stages[-1]} {parts[-1]}")
        sr.close()
        over = [w - p["render_s"] for w, p in zip(walls, parts)]
        row = {
            "size": size,
            "spp": spp,
            "images": n_images,
            "wall": float(np.mean(walls)),
            "cpu": float(np.mean(cpus)),
            "overhead_pct_range": (
                100 * min(o / w for o, w in zip(over, walls)),
                100 * max(o / w for o, w in zip(over, walls)),
            ),
            **{k: float(np.mean([p[k] for p in parts])) for k in parts[0]},
            **{k: float(np.mean([s.get(k, 0.0) for s in stages])) for k in STAGES},
        }
        row["overhead"] = row["wall"] - row["render_s"]  # everything but Cycles' own path tracing
        rows.append(row)
    return rows


def compose_ahead(size: int, spp: int, n_images: int) -> list[dict]:
    """The same samples through a render worker's shard loop (what ``facefarm render`` runs),
    composing one sample ahead or not: wall seconds per sample and the mean of Cycles' own
    path tracing, so the overhead a worker really pays."""
    import tempfile

    from facefarm.farm.workers import SampleWorker

    spec = _catalog(size, spp).model_dump(mode="json")
    rows = []
    for ahead in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            w = SampleWorker(spec, "cycles", tmp, seed=0, n=n_images, compose_ahead=ahead)
            r = w.renderer
            _warm_up(r, n_images)
            parts = []
            t0 = time.perf_counter()
            results = w.render_shard(list(range(n_images)), on_each=lambda _: parts.append(r.last_backend_timings))
            wall = (time.perf_counter() - t0) / n_images
            w.close()
        assert all(x["status"] == "rendered" for x in results), results
        tracing = float(np.mean([p["render_s"] for p in parts]))
        _log(f"compose ahead={ahead}: {wall:.2f} s/sample, path tracing {tracing:.2f} s")
        rows.append({"ahead": ahead, "size": size, "spp": spp, "images": n_images, "wall": wall, "tracing": tracing})
    return rows


def rss_over_renders(
    n_renders: int, size: int, recycle_every: int | None, checkpoints=(1, 10, 25, 50, 100, 150, 200)
) -> dict[int, float]:
    from facefarm.render.cycles.renderer import CyclesRenderer

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
    ap.add_argument("--quick", action="store_true", help="one image per row; RSS at 64 px, 100 renders with recycling")
    ap.add_argument("--runs", default="256:16:8,512:16,512:64", help="size:samples-per-pixel[:images], comma separated")
    ap.add_argument("--images", type=int, default=2, help="images for a run that does not say")
    ap.add_argument("--rss-renders", type=int, default=120)
    ap.add_argument("--rss-size", type=int, default=128)
    a = ap.parse_args()
    counts = []
    for r in a.runs.split(","):
        f = [int(x) for x in r.split(":")]
        counts.append((f[0], f[1], 1 if a.quick else (f[2] if len(f) > 2 else a.images)))
    rss_size = 64 if a.quick else a.rss_size
    n_recycled = min(100, a.rss_renders) if a.quick else a.rss_renders
    load = os.getloadavg()[0]

    rows = time_per_image(counts)
    ahead = compose_ahead(*counts[0])
    rss_plain = rss_over_renders(a.rss_renders, rss_size, None)
    rss_recycled = rss_over_renders(n_recycled, rss_size, 50)

    out = [
        "## Cycles back-end (CPU)",
        "",
        "Real heads from `facefarm/assets/catalogs/default.json` (the first *images* samples of a row), "
        f"adaptive sampling + OpenImageDenoise, one renderer reused; what a worker pays once (Cycles' "
        f"kernels, OIDN, each HDRI's importance map, the skin charts of each surface level) is paid "
        f"before the timing, by rendering each row's samples once at 32 px. Wall seconds depend on what else "
        f"runs (load average {load:.1f} at the start); CPU seconds are the process total over "
        f"all threads.",
        "",
        "Whole samples through the pipeline (resolve, compose, render, labels, encode, write); "
        "*overhead* is everything outside Cycles' own path tracing (resolve, compose with hair, scene "
        "build, pass readback, labels, PNG/EXR encode, write).",
        "",
        "| px | samples/px | images | wall s/sample | CPU s/sample | compose s | build s | path tracing s "
        "| readback s | labels+encode+write s | overhead s | overhead % | overhead % by sample |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lo, hi = r["overhead_pct_range"]
        out.append(
            f"| {r['size']} | {r['spp']} | {r['images']} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['compose']:.2f} | "
            f"{r['build_s']:.2f} | {r['render_s']:.1f} | {r['readback_s']:.3f} | "
            f"{r['labels'] + r['encode'] + r['write']:.2f} | {r['overhead']:.2f} | "
            f"{100 * r['overhead'] / r['wall']:.1f} % | {lo:.1f}-{hi:.1f} % |"
        )
    out += [
        "",
        "The same samples of the first row through a render worker's shard loop (what `facefarm render` "
        "runs), with and without composing the next sample on a second thread while Cycles renders "
        "(the default for Cycles; on a GPU node the CPU is otherwise idle then):",
        "",
        "| compose ahead | px | samples/px | images | wall s/sample | path tracing s | overhead s | overhead % |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in ahead:
        over = r["wall"] - r["tracing"]
        out.append(
            f"| {'yes' if r['ahead'] else 'no'} | {r['size']} | {r['spp']} | {r['images']} | {r['wall']:.2f} "
            f"| {r['tracing']:.2f} | {over:.2f} | {100 * over / r['wall']:.1f} % |"
        )
    out += [
        "",
        f"RSS of one process over {a.rss_renders} renders ({rss_size} px, 4 spp, six heads in "
        f"turn); the recycled run follows in the same process, so its RSS starts where the first ended:",
        "",
        "| renders | RSS MB | RSS MB, recycle_every=50 |",
        "| ---: | ---: | ---: |",
    ]
    for i in rss_plain:
        recycled = f"{rss_recycled[i]:.0f}" if i in rss_recycled else "-"
        out.append(f"| {i} | {rss_plain[i]:.0f} | {recycled} |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
