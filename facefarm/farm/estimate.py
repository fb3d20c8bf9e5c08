"""What a dataset will cost before it is rendered: disk bytes and CPU / GPU time, from measured tables.

Estimates, not promises: each figure is interpolated from a few measured points (linear in the pixel
count, or in pixels x samples per pixel for the path tracer, extended beyond them) and says where its
table came from.

* **Disk**: bytes per sample file of the default catalog rendered by the fast back-end (8 samples at
  256 px, 4 at 512 px, 2026-12-07): the RGB image in each format at quality 90, the segmentation and
  depth PNGs, the label JSON (its size does not grow with the image) and the manifest line. Faces
  cover a similar share of every catalog's frame, so the table carries over within ~20 %; Cycles'
  denoised images and other qualities are not calibrated.
* **Time**: CPU seconds per sample from BENCHMARKS.md (2-core AMD EPYC, 2026-11-23: the fast
  back-end's whole sample; Cycles on the CPU at 16 and 64 samples per pixel), to be divided over
  the cores that render. No GPU has been measured yet: for a GPU node this gives the CPU share a
  sample still needs (compose, labels, encoding: ``bench/gpu.sh`` CPU mode), which bounds the rate
  from below, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

#: bytes per sample file at (pixels) -> measured size; image sizes by format (quality 90)
DISK_TABLE: dict[str, dict[int, float]] = {
    "png": {256 * 256: 78_687, 512 * 512: 292_806},
    "jpeg": {256 * 256: 13_624, 512 * 512: 47_174},
    "webp": {256 * 256: 9_323, 512 * 512: 33_758},
    "segmentation": {256 * 256: 4_124, 512 * 512: 12_569},
    "depth": {256 * 256: 31_028, 512 * 512: 122_811},
    "labels": {256 * 256: 53_111, 512 * 512: 53_213},
    "manifest": {256 * 256: 15_501, 512 * 512: 15_329},
}
DISK_SOURCE = (
    "measured: default catalog, fast back-end, 8 samples at 256 px and 4 at 512 px (2026-12-07); "
    "JPEG/WebP at quality 90"
)

#: CPU seconds per sample of the fast back-end at (pixels), all threads (BENCHMARKS.md, fast back-end table)
FAST_CPU_S = {256 * 256: 0.592, 512 * 512: 0.981}
#: CPU seconds a sample still costs the CPU when a GPU draws it (BENCHMARKS.md, bench/gpu.sh CPU mode)
FAST_GPU_NODE_CPU_S = {256 * 256: 0.414, 512 * 512: 0.460}
#: Cycles on the CPU: CPU seconds per sample at (pixels x samples per pixel) (BENCHMARKS.md, Cycles table)
CYCLES_CPU_S = {256 * 256 * 16: 11.6, 512 * 512 * 16: 46.6, 512 * 512 * 64: 233.1}
CYCLES_GPU_NODE_CPU_S = {256 * 256: 0.391, 512 * 512: 0.883}
TIME_SOURCE = "BENCHMARKS.md (2-core AMD EPYC, 2026-11-23; no GPU measured yet)"


def interpolate(table: dict[int, float], x: float) -> float:
    """``table`` (x -> y) at ``x``: linear between the two nearest measured points, the end segments
    extended beyond them (a fixed cost plus a cost per pixel: a tiny image still pays for compose
    and the label file); never below 0."""
    pts = sorted(table.items())
    if len(pts) == 1:
        return pts[0][1]
    k = 0
    while k < len(pts) - 2 and x > pts[k + 1][0]:
        k += 1
    (x0, y0), (x1, y1) = pts[k], pts[k + 1]
    return max(0.0, y0 + (y1 - y0) * (x - x0) / (x1 - x0))


@dataclass(frozen=True)
class DiskEstimate:
    """Bytes of a dataset: ``per_file`` (bytes per sample of each file), ``per_sample`` and ``total``."""

    per_file: dict[str, int]
    per_sample: int
    total: int
    source: str = DISK_SOURCE


def disk(n: int, resolution: tuple[int, int], image_format: str) -> DiskEstimate:
    """Estimated bytes of ``n`` samples at ``resolution`` (width, height) with the RGB image in ``image_format``."""
    px = resolution[0] * resolution[1]
    per_file = {
        "image": interpolate(DISK_TABLE[image_format], px),
        **{k: interpolate(DISK_TABLE[k], px) for k in ("segmentation", "depth", "labels", "manifest")},
    }
    rounded = {k: int(round(v)) for k, v in per_file.items()}
    per_sample = sum(rounded.values())
    return DiskEstimate(rounded, per_sample, per_sample * n)


@dataclass(frozen=True)
class TimeEstimate:
    """Seconds per sample of one back-end on one kind of machine; ``cpu_s`` is CPU (core) seconds."""

    backend: str
    machine: str
    cpu_s: float
    note: str
    source: str = TIME_SOURCE

    def hours(self, n: int, cores: int) -> float:
        """Wall hours for ``n`` samples over ``cores`` cores (workers one per core, CPU-bound)."""
        return n * self.cpu_s / max(1, cores) / 3600.0


def times(resolution: tuple[int, int], samples_per_pixel: int) -> list[TimeEstimate]:
    """Per-sample estimates for the fast back-end and Cycles, on CPUs and on a GPU node."""
    px = resolution[0] * resolution[1]
    return [
        TimeEstimate("pyrender", "cpu", interpolate(FAST_CPU_S, px), "whole sample, Mesa llvmpipe"),
        TimeEstimate(
            "pyrender",
            "gpu node",
            interpolate(FAST_GPU_NODE_CPU_S, px),
            "CPU share only (compose, labels, encode): a lower bound, the GPU draw is not measured",
        ),
        TimeEstimate(
            "cycles",
            "cpu",
            interpolate(CYCLES_CPU_S, px * max(1, samples_per_pixel)),
            f"path tracing at {samples_per_pixel} samples per pixel (adaptive sampling may stop earlier)",
        ),
        TimeEstimate(
            "cycles",
            "gpu node",
            interpolate(CYCLES_GPU_NODE_CPU_S, px),
            "CPU share only: the GPU path tracing is not measured; run bench/gpu.sh on the node",
        ),
    ]


def human_bytes(b: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(b) < 1000 or unit == "TB":
            return f"{b:.0f} {unit}" if unit == "B" else f"{b:.1f} {unit}"
        b /= 1000.0
    return f"{b:.1f} TB"
