"""Samples per second on a GPU node: both back-ends, the compose/render split, GPU utilisation.

    .venv/bin/python -m bench.gpu [--cpu] [--budget 420]

For each configuration (fast back-end at 256 and 512 px; Cycles at 256 px / 64 spp and
512 px / 128 spp) one in-process worker resolves, composes and renders samples of the default
catalog until its share of ``--budget`` seconds is spent, and reports the mean seconds of
compose (CPU) and render (back-end) per sample, the samples/s of that one worker, and the bound
for a node: a node renders at most 1 / render samples/s on its GPU and composes at most
cores / compose samples/s on its CPUs (workers share the GPU; the lower bound wins). While it
runs, ``nvidia-smi`` is sampled for GPU utilisation. ``--cpu`` runs the same on this machine's
CPU (Mesa llvmpipe, Cycles on CPU) with small budgets, to check the script. Prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import threading
import time

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

#: (label, back-end, resolution, Cycles samples per pixel, render.device on a GPU node)
CONFIGS = (
    ("fast 256 px", "pyrender", 256, None, "cuda"),
    ("fast 512 px", "pyrender", 512, None, "cuda"),
    ("Cycles 256 px / 64 spp", "cycles", 256, 64, "optix"),
    ("Cycles 512 px / 128 spp", "cycles", 512, 128, "optix"),
)


class GpuSampler:
    """``nvidia-smi`` utilisation sampled every ``period`` seconds on a thread (nothing without it)."""

    def __init__(self, period: float = 0.5):
        self.period, self.samples, self.card = period, [], None
        self._stop = threading.Event()
        self._tool = shutil.which("nvidia-smi")
        if self._tool:
            out = subprocess.run(
                [self._tool, "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True
            )
            self.card = out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None

    def __enter__(self):
        if self._tool:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            out = subprocess.run(
                [self._tool, "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
            )
            if out.returncode == 0 and out.stdout.strip():
                self.samples.append(float(out.stdout.strip().splitlines()[0]))
            self._stop.wait(self.period)

    def __exit__(self, *exc):
        self._stop.set()

    def mean(self) -> float | None:
        return sum(self.samples) / len(self.samples) if self.samples else None


def _catalog(backend: str, resolution: int, spp: int | None, device: str):
    from facefarm.catalog import load_catalog
    from facefarm.paths import CATALOGS

    spec = json.loads((CATALOGS / "default.json").read_text())
    spec["render"] = {
        **spec.get("render", {}),
        "backend": backend,
        "resolution": [resolution, resolution],
        "device": device,
        **({"samples": spp, "denoise": True} if spp else {}),
    }
    return load_catalog(spec)


def measure(backend: str, resolution: int, spp: int | None, device: str, budget: float) -> dict:
    """Mean seconds per sample of one worker over as many samples as ``budget`` allows: ``compose``
    (CPU: resolve, compose, labels, PNG encoding) and ``render`` (the back-end's draw)."""
    from facefarm.sample.renderer import SampleRenderer

    renderer = SampleRenderer(_catalog(backend, resolution, spp, device))
    compose, render, n = [], [], 0
    try:
        renderer.finish(renderer.prepare(0, 10_000, None))  # warm-up: contexts, kernels, caches
        t_end = time.monotonic() + budget
        while time.monotonic() < t_end or n < 2:
            record, _files = renderer.finish(renderer.prepare(0, n, None))
            t = record["render"]["seconds"]
            compose.append(t["resolve"] + t["compose"] + t["labels"] + t["encode"])
            render.append(t["render"])
            n += 1
    finally:
        renderer.close()
    return {"n": n, "compose": sum(compose) / n, "render": sum(render) / n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpu", action="store_true", help="this machine's CPU (llvmpipe, Cycles on CPU), small budgets")
    ap.add_argument("--budget", type=float, default=420.0, help="seconds for all configurations together")
    ap.add_argument("--only", default="", help="comma-separated labels' first words (fast, Cycles)")
    a = ap.parse_args()
    configs = [c for c in CONFIGS if not a.only or c[0].split()[0] in a.only.split(",")]
    if a.cpu:  # Cycles on a CPU at 64-128 spp takes minutes a sample: its fewest samples
        configs = [(label, b, r, min(spp, 16) if spp else None, "cpu") for label, b, r, spp, _ in configs]
    cores = os.cpu_count() or 1
    rows = []
    card = None
    for label, backend, res, spp, device in configs:
        share = a.budget / len(configs)
        with GpuSampler() as gpu:
            m = measure(backend, res, spp, device, share)
        node_bound = min(1.0 / m["render"], cores / m["compose"])
        rows.append(
            (
                label + (f" (CPU, {spp} spp)" if a.cpu and spp else " (CPU)" if a.cpu else ""),
                m,
                1.0 / (m["compose"] + m["render"]),
                node_bound,
                gpu.mean(),
            )
        )
        card = gpu.card
    print(f"### GPU node throughput ({'CPU mode: ' if a.cpu else ''}{card or 'no NVIDIA GPU'}, {cores} cores)\n")
    print(
        "| configuration | samples | CPU s (compose, labels, encode) | render s | 1 worker samples/s | node bound samples/s | GPU util % |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, m, one, bound, util in rows:
        print(
            f"| {label} | {m['n']} | {m['compose']:.3f} | {m['render']:.3f} | {one:.2f} | {bound:.2f} | "
            f"{'-' if util is None else f'{util:.0f}'} |"
        )
    print(
        "\nnode bound = min(1 / render, cores / CPU s): the GPU draws one sample at a time while the cores "
        "compose, label and encode in parallel (fast back-end workers share the GPU, one per core). In CPU mode "
        "the render runs on the same cores, so the bound is only a check of the script."
    )


if __name__ == "__main__":
    main()
