"""Render-farm throughput: samples/s with 1 and 2 local Ray workers (and in-process, no Ray).

    python -m bench.bench_farm [--spec facefarm/assets/catalogs/default.json] [-n 16] [--resolution 128]

Prints a Markdown table. Start-up (Ray, actors loading the head model and GL context, a few warm-up
samples) is timed apart from rendering, since a real job amortises it over thousands of samples.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from facefarm import paths


def _job(spec: str, n: int, resolution: int | None):
    from facefarm.catalog import catalog_hash, load_catalog
    from facefarm.farm.plan import Job

    data = json.loads(open(spec).read())
    if resolution:
        data.setdefault("render", {})["resolution"] = [resolution, resolution]
    cat = load_catalog(data)
    return Job(cat.model_dump(mode="json"), catalog_hash(cat), 0, n, cat.render.backend, cat.render.device), cat


WARM = 4  # samples after the timed ones, rendered first: lazy loads (HDRIs, shaders) are start-up


def _in_process(job, root: str, n: int) -> tuple[float, float, int]:
    from facefarm.farm.workers import SampleWorker

    t0 = time.perf_counter()
    w = SampleWorker(job.catalog, job.backend, root, job.seed, job.n)
    for i in range(n, n + WARM):
        w.render_one(i)
    t1 = time.perf_counter()
    results = [w.render_one(i) for i in range(n)]
    ok = sum(r["status"] == "rendered" for r in results)
    for r in [r for r in results if r["status"] == "error"][:3]:
        print(f"sample {r['index']} failed: {r['reason']}")
    t2 = time.perf_counter()
    w.close()
    return t1 - t0, t2 - t1, ok


def _farm(job, root: str, workers: int, n: int) -> tuple[float, float, int]:
    from facefarm.farm.workers import RayFarm

    t0 = time.perf_counter()
    farm = RayFarm(job, root, workers=workers, local=True)
    farm.start()
    farm.wait_all_ready()
    farm.run(list(range(n, n + WARM)), shard_size=1)  # 2 in flight per worker: every worker warms up
    t1 = time.perf_counter()
    outcome = farm.run(list(range(n)), shard_size=1)
    t2 = time.perf_counter()
    farm.close()
    for i, reason in sorted(outcome.failed.items())[:3]:
        print(f"sample {i} failed: {reason}")
    return t1 - t0, t2 - t1, len(outcome.rendered)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", default=str(paths.ASSETS / "catalogs" / "default.json"))
    ap.add_argument("-n", type=int, default=16)
    ap.add_argument("--resolution", type=int, default=128, help="square image size (0: the catalog's)")
    args = ap.parse_args(argv)
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    job, cat = _job(args.spec, args.n + WARM, args.resolution or None)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-farm-") as tmp:
        start, render, ok = _in_process(job, f"{tmp}/local", args.n)
        rows.append(("in-process (--no-ray)", 1, ok, start, render))
        import ray

        t0 = time.perf_counter()
        ray.init(
            address="local",
            num_cpus=os.cpu_count(),
            include_dashboard=False,
            logging_level="ERROR",
            log_to_driver=False,
        )
        ray_start = time.perf_counter() - t0
        for w in (1, 2):
            start, render, ok = _farm(job, f"{tmp}/ray{w}", w, args.n)
            rows.append((f"Ray, {w} worker{'s' if w > 1 else ''}", w, ok, start, render))
        ray.shutdown()
    w, h = cat.render.resolution
    print(f"{job.backend}, {w}x{h} px, {args.n} samples, {os.cpu_count()} CPU cores; Ray start {ray_start:.1f} s\n")
    print("| run | workers | samples | start-up incl. warm-up (s) | render (s) | samples/s | vs in-process |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    base = rows[0][2] / rows[0][4] if rows[0][4] > 0 else 0.0
    for name, workers, ok, start, render in rows:
        rate = ok / render if render > 0 else 0.0
        print(
            f"| {name} | {workers} | {ok} | {start:.1f} | {render:.1f} | {rate:.2f} | "
            f"{rate / base if base else 0:.2f}x |"
        )


if __name__ == "__main__":
    main()
