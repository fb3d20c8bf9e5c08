"""One labelled sample, end to end: resolve -> compose -> render -> labels -> encode -> write.

:class:`SampleRenderer` is what a worker holds: it loads the head model and a
back-end once and renders many samples. Every stage is timed so benchmarks and
the final report can say where time goes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache

import numpy as np
from threadpoolctl import ThreadpoolController

from facefarm import __version__
from facefarm.catalog import Catalog, ResolvedSample, resolve
from facefarm.catalog.checks import label_backend_problem
from facefarm.compose.compositor import compose
from facefarm.head.model import HeadModel
from facefarm.render import backends
from facefarm.sample import writer
from facefarm.sample.labels import landmark_labels
from facefarm.sample.store import Store
from facefarm.scene.classes import LAYOUTS
from facefarm.scene.model import Scene

GENERATOR = "facefarm"
#: ``outputs.labels`` that the back-end draws (passed to its ``render(scene, labels=...)``).
RENDERED_LABELS = frozenset({"amodal_masks", "normals", "albedo"})


@cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def one_blas_thread():
    """Context: numpy's and scipy's OpenBLAS on one thread for the duration.

    A sample's geometry has no matrix product big enough to share out, but each small one
    wakes OpenBLAS's worker threads, which then spin: measured on 2 cores, 40 % of a fast
    sample's CPU (compose 673 -> 427 ms, render 519 -> 279 ms), taken from the other
    worker's core. Scoped, so a caller's own numpy keeps its threads.
    """
    return _blas().limit(limits=1, user_api="blas")


def _r(a, nd=4):
    return np.round(np.asarray(a, dtype=np.float64), nd).tolist()


def _jsonable_pose(pose: dict) -> dict:
    return {
        "rotation": _r(pose["rotation"], 6),
        "translation": _r(pose["translation"], 6),
        "yaw_deg": round(float(pose["yaw_deg"]), 4),
        "pitch_deg": round(float(pose["pitch_deg"]), 4),
        "roll_deg": round(float(pose["roll_deg"]), 4),
    }


def _points(points: dict) -> dict:
    """A record's point block (uv, visible, in_frame, xyz_camera) from label arrays."""
    return {
        "uv": _r(points["uv"]),
        "visible": np.asarray(points["visible"], bool).tolist(),
        "in_frame": np.asarray(points["in_frame"], bool).tolist(),
        "xyz_camera": _r(points["xyz_camera"], 6),
    }


def _eyes(eyes: dict) -> dict:
    """A record's ``eyes`` block (right, left) from :func:`~facefarm.sample.labels.eye_labels`."""
    return {
        side: {
            "centre_camera": _r(eyes["centre"][k], 6),
            "gaze_camera": _r(eyes["gaze"][k], 6),
            "aperture_mm": round(float(eyes["aperture_m"][k]) * 1000.0, 3),
            "openness": round(float(eyes["openness"][k]), 4),
        }
        for k, side in enumerate(("right", "left"))
    }


def build_record(sample, scene, labels: dict, timings: dict, backend: str, layouts: tuple[str, ...] = ()) -> dict:
    """The JSON label record of one sample (see README, "Output format"); ``layouts``: the other
    landmark layouts to write (names of :data:`facefarm.scene.classes.LAYOUTS`)."""
    wanted = {k: v for k, v in (labels.get("layouts") or {}).items() if k in layouts}
    n = scene.landmarks.n_sparse
    face_box = labels["bbox_face_seg"] if labels["bbox_face_seg"] is not None else labels["bbox_landmarks"]
    uv, xyz = np.asarray(labels["uv"]), np.asarray(labels["xyz_camera"])
    vis, inf = np.asarray(labels["visible"], bool), np.asarray(labels["in_frame"], bool)
    return {
        "schema_version": writer.SCHEMA_VERSION,
        "sample_id": sample.sample_id,
        "index": int(sample.index),
        "seed": int(sample.seed),
        "catalog_hash": sample.catalog_hash,
        "identity_id": sample.identity_id,
        "width": int(scene.camera.width),
        "height": int(scene.camera.height),
        "camera": {
            "K": _r(scene.camera.K, 6),
            "world_to_camera": _r(scene.camera.world_to_camera, 6),
            "convention": "opencv",
        },
        "head_pose": _jsonable_pose(labels["head_pose"]),
        "landmarks": _points({"uv": uv[:n], "visible": vis[:n], "in_frame": inf[:n], "xyz_camera": xyz[:n]}),
        **({} if labels.get("contour") is None else {"landmarks_contour": _points(labels["contour"])}),
        "dense": _points({"uv": uv[n:], "visible": vis[n:], "in_frame": inf[n:], "xyz_camera": xyz[n:]}),
        **(
            {"layouts": {k: {c: _points(v[c]) for c in ("xray", "contour")} for k, v in wanted.items()}}
            if wanted
            else {}
        ),
        **({} if labels.get("eyes") is None else {"eyes": _eyes(labels["eyes"])}),
        "face_bbox": None if face_box is None else _r(face_box, 2),
        "landmarks_bbox": None if labels["bbox_landmarks"] is None else _r(labels["bbox_landmarks"], 2),
        "depth_scale_m": writer.DEPTH_SCALE_M,
        "attributes": sample.model_dump(mode="json"),
        "render": {
            "backend": backend,
            "generator": GENERATOR,
            "version": __version__,
            "hair_detail": scene.meta.get("hair_detail"),
            "seconds": {k: round(float(v), 5) for k, v in timings.items()},
        },
    }


@dataclass(frozen=True)
class Prepared:
    """A resolved and composed sample, ready for the back-end; ``seconds``: resolve and compose."""

    seed: int
    sample: ResolvedSample
    scene: Scene
    seconds: dict


class SampleRenderer:
    """Renders samples of one catalog with one back-end; reuse it for many samples."""

    def __init__(self, catalog: Catalog, backend: str | None = None, head: HeadModel | None = None):
        self.catalog = catalog
        self.backend_name = backend or catalog.render.backend
        self.head = head or HeadModel.load()
        problem = label_backend_problem(catalog.outputs.labels, self.backend_name)
        if problem:
            raise ValueError(problem)
        self.info = backends.backend(self.backend_name)
        self.backend = self.info.start(catalog.render)
        #: the landmark layouts besides the 70 that the catalog's outputs.labels asks for
        self.layouts = tuple(name for name in LAYOUTS if f"landmarks_{name}" in catalog.outputs.labels)
        #: the optional label layers the back-end draws besides rgb, segmentation and depth
        self.label_layers = frozenset(catalog.outputs.labels) & RENDERED_LABELS
        self.last_backend_timings: dict = {}

    def render(self, seed: int, index: int, n_total: int | None = None):
        """Render one sample in memory: returns (record, files) where files maps kind -> PNG bytes."""
        with one_blas_thread():
            return self.finish(self.prepare(seed, index, n_total))

    def prepare(self, seed: int, index: int, n_total: int | None = None) -> Prepared:
        """Resolve and compose sample ``index``: everything before the back-end. Pure CPU work
        that touches no GL context or Blender, so it may run on another thread while the
        back-end renders the previous sample (``SampleWorker.render_shard`` does)."""
        t = {}
        t0 = time.perf_counter()
        sample = resolve(self.catalog, seed, index, n_total)
        t["resolve"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        scene = compose(sample, self.head, self.info.strands, self.layouts)
        t["compose"] = time.perf_counter() - t0
        return Prepared(seed, sample, scene, t)

    def finish(self, prepared: Prepared):
        """Render, label and encode a prepared sample: returns (record, files)."""
        sample, scene, t = prepared.sample, prepared.scene, dict(prepared.seconds)
        t0 = time.perf_counter()
        result = self.backend.render(scene, labels=self.label_layers)
        t["render"] = time.perf_counter() - t0
        self.last_backend_timings = dict(result.timings)  # the back-end's own split (benchmarks)
        t0 = time.perf_counter()
        labels = landmark_labels(scene, result)
        t["labels"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        provenance = {
            "Software": f"{GENERATOR} {__version__}",
            "synthetic": "true",
            "generator": GENERATOR,
            "generator_version": __version__,
            "sample_id": sample.sample_id,
            "seed": str(prepared.seed),
            "catalog_hash": sample.catalog_hash,
            "backend": self.backend_name,
        }
        out = self.catalog.outputs
        files = writer.encode_files(
            result.rgb,
            result.segmentation,
            result.depth,
            provenance,
            out.image_format,
            out.image_quality,
            depth_float="depth_float" in out.labels,
            extra={
                "segmentation_head": result.segmentation_head,
                "layers": result.layers,
                "normals": result.normals,
                "albedo": result.albedo,
            },
        )
        t["encode"] = time.perf_counter() - t0
        record = build_record(sample, scene, labels, t, self.backend_name, layouts=self.layouts)
        return record, files

    def render_to(self, store: Store, seed: int, index: int, n_total: int | None = None) -> dict:
        """Render one sample and write it (atomically, labels last). Returns the record."""
        with one_blas_thread():
            return self.finish_to(store, self.prepare(seed, index, n_total))

    def finish_to(self, store: Store, prepared: Prepared) -> dict:
        """:meth:`finish` a prepared sample and write it (atomically, labels last). Returns the record."""
        record, files = self.finish(prepared)
        t0 = time.perf_counter()
        record = writer.write_sample(store, record["sample_id"], files, record, self.catalog.outputs.image_format)
        # measured after the label file is written, so only the returned record has it
        record["render"]["seconds"]["write"] = round(time.perf_counter() - t0, 5)
        return record

    def close(self) -> None:
        close = getattr(self.backend, "close", None)
        if close:
            close()
