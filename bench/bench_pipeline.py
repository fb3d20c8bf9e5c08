"""Where a fast-back-end sample's time goes, and how far it is from the floor.

    .venv/bin/python -m bench.bench_pipeline [--n 60] [--long 500]

Per resolution (256, 512 px): mean seconds of each pipeline stage (resolve, compose,
render, labels, encode, write) over ``--n`` samples of the default catalog, and the
floors measured in the same process on the same scenes:

* bare render: the same triangles drawn once by a plain pyrender scene (no custom
  shaders, no extra passes) plus the colour+depth readback;
* bare encode: one ``cv2.imencode`` PNG of the same RGB image (compression 1).

Then a long run (``--long`` samples, written to a temporary folder) samples RSS to show
whether memory grows. Prints a Markdown section (bench/run.py collects it).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.bench_cycles import _rss_mb  # noqa: E402

STAGES = ("resolve", "compose", "render", "labels", "encode", "write")


def _catalog_at(resolution: int):
    import json

    from facefarm.catalog import load_catalog

    spec = json.loads(open("facefarm/assets/catalogs/default.json").read())
    spec.setdefault("render", {}).update(resolution=[resolution, resolution], backend="pyrender")
    return load_catalog(spec)


class BareRenderer:
    """The floor: the same triangles in a plain pyrender scene, one pass, colour + depth readback."""

    def __init__(self):
        import pyrender

        self.pyrender = pyrender
        self.osr = None

    def render(self, scene) -> tuple[float, float]:
        """(wall, CPU) seconds of the draw + readback."""
        pr = self.pyrender
        from facefarm.geometry.camera import CV_TO_GL
        from facefarm.render.pyrender.geometry import ribbons

        cam = scene.camera
        if self.osr is None or (self.osr.viewport_width, self.osr.viewport_height) != (cam.width, cam.height):
            if self.osr is not None:
                self.osr.delete()
            self.osr = pr.OffscreenRenderer(cam.width, cam.height)
        s = pr.Scene(ambient_light=(0.3, 0.3, 0.3))
        for m in scene.meshes:
            prim = pr.Primitive(
                positions=m.vertices, indices=m.faces, color_0=None if m.vertex_colors is None else m.vertex_colors
            )
            s.add(pr.Mesh([prim]))
        for c in scene.curves:  # hair: the same camera-facing ribbons the pipeline draws
            rb = ribbons(c, cam)
            if len(rb.faces):
                s.add(pr.Mesh([pr.Primitive(positions=rb.vertices, indices=rb.faces)]))
        K = cam.K
        s.add(
            pr.IntrinsicsCamera(K[0, 0], K[1, 1], K[0, 2], K[1, 2], cam.near, cam.far),
            pose=cam.camera_to_world @ CV_TO_GL,
        )
        s.add(pr.DirectionalLight(intensity=3.0), pose=cam.camera_to_world @ CV_TO_GL)
        t0, c0 = time.perf_counter(), time.process_time()
        self.osr.render(s)
        return time.perf_counter() - t0, time.process_time() - c0

    def close(self):
        if self.osr is not None:
            self.osr.delete()


def stage_table(n: int, resolution: int) -> dict:
    from facefarm.compose.compositor import compose
    from facefarm.sample.renderer import SampleRenderer
    from facefarm.sample.store import open_store

    cat = _catalog_at(resolution)
    sr = SampleRenderer(cat, backend="pyrender")
    bare = BareRenderer()
    sr.render(0, 0)  # warm-up: shader compile, HDRI load
    times = {k: [] for k in STAGES}
    floors = {"bare_render": [], "bare_render_cpu": [], "bare_encode": []}
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(tmp)
        t_all, c_all = time.perf_counter(), time.process_time()
        for i in range(1, n + 1):
            rec = sr.render_to(store, 0, i)
            for k in STAGES:
                times[k].append(rec["render"]["seconds"].get(k, 0.0))
        wall, cpu = time.perf_counter() - t_all, time.process_time() - c_all
    from facefarm.catalog import resolve
    from facefarm.sample.renderer import one_blas_thread

    for i in range(1, min(n, 20) + 1):
        with one_blas_thread():  # as the pipeline runs
            scene = compose(resolve(cat, 0, i), sr.head)
            bare.render(scene)  # warm
            bare_wall, bare_cpu = bare.render(scene)
        floors["bare_render"].append(bare_wall)
        floors["bare_render_cpu"].append(bare_cpu)
        rgb = np.zeros((resolution, resolution, 3), np.uint8) + 128
        t0 = time.perf_counter()
        cv2.imencode(".png", rgb, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        floors["bare_encode"].append(time.perf_counter() - t0)
    sr.close()
    bare.close()
    return {
        "resolution": resolution,
        "n": n,
        "wall": wall,
        "cpu": cpu,
        "stages": {k: float(np.mean(v)) for k, v in times.items()},
        "floors": {k: float(np.median(v)) for k, v in floors.items()},
    }


def long_run(n: int, resolution: int = 256) -> dict:
    from facefarm.sample.renderer import SampleRenderer
    from facefarm.sample.store import open_store

    sr = SampleRenderer(_catalog_at(resolution), backend="pyrender")
    rss = []
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(tmp)
        t0 = time.perf_counter()
        for i in range(n):
            sr.render_to(store, 1, i)
            if i % 25 == 0:
                rss.append((i, _rss_mb()))
        wall = time.perf_counter() - t0
    sr.close()
    return {"n": n, "wall": wall, "rss": rss}


def markdown(tables: list[dict], long: dict | None) -> str:
    lines = [
        "## Fast back-end (pyrender, EGL llvmpipe): stages and floor",
        "",
        "One process, one sample at a time (default catalog, hair at the pixel density's strand count). "
        "Stage times are wall-clock means; *CPU/sample* counts every thread of the process (llvmpipe "
        "rasterises on all cores). Floors, measured on the same scenes in the same run: *bare render* = "
        "the same triangles (hair as the same ribbons) drawn once by a plain pyrender scene + colour/depth "
        "readback; *bare encode* = one PNG of the image (cv2, compression 1). *Floor on 2 cores* = the "
        "samples/s two processes would reach doing nothing but the bare render and encode (2 / their CPU "
        "seconds): what this machine can give at best.",
        "",
        "| px | " + " | ".join(STAGES) + " | total | CPU/sample | samples/s | bare render | bare render CPU "
        "| bare encode | render / bare render | total / floor | floor on 2 cores |",
        "|---|" + "---|" * (len(STAGES) + 9),
    ]
    for t in tables:
        s = t["stages"]
        total = sum(s.values())
        fl = t["floors"]
        lines.append(
            f"| {t['resolution']} | "
            + " | ".join(f"{1000 * s[k]:.1f} ms" for k in STAGES)
            + f" | {1000 * total:.1f} ms | {1000 * t['cpu'] / t['n']:.0f} ms | {t['n'] / t['wall']:.2f}"
            f" | {1000 * fl['bare_render']:.1f} ms | {1000 * fl['bare_render_cpu']:.0f} ms"
            f" | {1000 * fl['bare_encode']:.2f} ms"
            f" | {s['render'] / fl['bare_render']:.1f}x"
            f" | {total / (fl['bare_render'] + fl['bare_encode']):.1f}x"
            f" | {2.0 / (fl['bare_render_cpu'] + fl['bare_encode']):.1f} samples/s |"
        )
    if long:
        first, last = long["rss"][1] if len(long["rss"]) > 1 else long["rss"][0], long["rss"][-1]
        lines += [
            "",
            f"Long run: {long['n']} samples at 256 px in {long['wall']:.0f} s "
            f"({long['n'] / long['wall']:.2f} samples/s); RSS {first[1]:.0f} MB at sample {first[0]} -> "
            f"{last[1]:.0f} MB at sample {last[0]} (samples: "
            + ", ".join(f"{i}:{m:.0f}" for i, m in long["rss"])
            + ")",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--long", type=int, default=500)
    a = ap.parse_args()
    tables = [stage_table(a.n, r) for r in (256, 512)]
    long = long_run(a.long) if a.long else None
    print(markdown(tables, long))


if __name__ == "__main__":
    main()
