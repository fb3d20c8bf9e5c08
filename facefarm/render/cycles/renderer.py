"""The photoreal back-end: a :class:`~facefarm.scene.model.Scene` rendered by Blender Cycles.

One :class:`CyclesRenderer` per process renders many Scenes without reloading
Blender: each ``render`` removes the previous sample's data blocks (objects,
meshes, curves, materials, lights, cameras, images other than the cached HDRIs)
so memory stays flat, and ``recycle_every`` additionally resets Blender to
factory settings every N renders. bpy is a process-wide singleton: keep one
renderer alive at a time.

The pieces: device choice (:mod:`.cycles_device`), camera (:mod:`.cycles_camera`),
geometry (:mod:`.cycles_geometry`), shaders per material kind
(:mod:`.cycles_materials`), world and lights (:mod:`.cycles_world`), passes and
colour (:mod:`.cycles_passes`). Importing this module does not start Blender;
creating a renderer does.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sys
import tempfile
import time
import weakref
import zlib
from contextlib import contextmanager

import numpy as np

from facefarm.render.cycles.device import select_device
from facefarm.scene.model import RenderResult, Scene

__all__ = ["CyclesRenderer", "select_device", "SEE_THROUGH_KINDS"]

#: Material kinds the labels look through: class and depth are those of what lies behind.
SEE_THROUGH_KINDS = frozenset({"glasses_lens"})

# bpy holds one scene per process; the renderer that last set it up owns it. Another
# renderer's reset (or a factory reset) invalidates the owner's data, so render() re-checks.
_owner: "CyclesRenderer | None" = None


@contextmanager
def _blender_stdout_to_stderr():
    """Blender logs to stdout (fd 1), which our CLIs and benches keep for their own output."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        ctypes.CDLL(None).fflush(None)  # C-level buffers still hold Blender's lines
        os.dup2(saved, 1)
        os.close(saved)


class CyclesRenderer:
    """Render Scenes with Cycles: sRGB image, per-pixel class ids and camera-z depth.

    device : "auto" (OPTIX > CUDA > HIP > METAL > CPU) or a device type; an
        unavailable GPU raises ``RuntimeError`` instead of falling back to CPU
    samples : path-tracing samples per pixel (adaptive sampling may stop earlier)
    denoise : OpenImageDenoise on the beauty pass (labels are never denoised)
    recycle_every : reset Blender to factory settings every N renders (None: never)
    threads : CPU threads, None for all cores
    view_transform : Blender view transform for the 8-bit image ("AgX", "Standard", ...)
    """

    def __init__(
        self,
        device: str = "auto",
        samples: int = 64,
        denoise: bool = True,
        recycle_every: int | None = None,
        *,
        threads: int | None = None,
        view_transform: str = "AgX",
    ):
        from facefarm.render.cycles import device as cycles_device
        from facefarm.render.cycles import passes as cycles_passes

        if samples < 1:
            raise ValueError(f"samples must be >= 1, got {samples}")
        if recycle_every is not None and recycle_every < 1:
            raise ValueError(f"recycle_every must be >= 1 or None, got {recycle_every}")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be >= 1 or None, got {threads}")
        with _blender_stdout_to_stderr():
            self.device = select_device(device, cycles_device.available_devices())
        self.samples = int(samples)
        self.denoise = bool(denoise)
        self.recycle_every = recycle_every
        self.threads = threads
        self.view_transform = view_transform
        cycles_passes.to_display(np.zeros((1, 1, 3), np.float32), view_transform)  # fail early on a bad view
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
        self._tmp: str | None = tempfile.mkdtemp(prefix="facefarm-cycles-", dir=shm)
        # removed at garbage collection / interpreter exit too, for callers that never close()
        self._tmp_finalizer = weakref.finalize(self, shutil.rmtree, self._tmp, True)
        self._hdri_cache: dict = {}
        self._since_reset = 0
        self.renders = 0
        with _blender_stdout_to_stderr():
            self._reset()

    # -- lifecycle ---------------------------------------------------------------------------

    def _reset(self) -> None:
        """Factory settings, then this renderer's render settings."""
        import bpy

        from facefarm.render.cycles import device as cycles_device
        from facefarm.render.cycles import passes as cycles_passes

        global _owner
        bpy.ops.wm.read_factory_settings(use_empty=True)
        _owner = self
        self._hdri_cache.clear()
        self._since_reset = 0
        s = bpy.context.scene
        s.render.engine = "CYCLES"
        cycles_device.configure_device(s, self.device, self.threads)
        c = s.cycles
        c.samples = self.samples
        c.use_adaptive_sampling = True
        c.use_denoising = self.denoise
        c.denoiser = "OPENIMAGEDENOISE"
        c.denoising_input_passes = "RGB_ALBEDO_NORMAL"
        c.blur_glossy = 1.0  # tames caustic fireflies from the wet coats
        s.cycles_curves.shape = "THICK"
        s.render.film_transparent = False
        s.render.use_compositing = False
        s.render.use_sequencer = False
        s.render.dither_intensity = 0.0
        s.render.use_persistent_data = False
        assert self._tmp is not None, "configured after close()"
        self._collections = cycles_passes.configure_layers(s, os.path.join(self._tmp, "render.exr"))

    def _clear(self) -> None:
        """Remove the previous sample's data blocks (the cached HDRIs and the world stay)."""
        import bpy

        keep = {img.name for img in self._hdri_cache.values()} | {"Render Result"}
        d = bpy.data
        ids = [
            *d.objects,
            *d.meshes,
            *d.hair_curves,
            *d.materials,
            *d.lights,
            *d.cameras,
            *d.node_groups,
            *d.textures,
            *(im for im in d.images if im.name not in keep),
        ]
        if ids:
            d.batch_remove(ids)

    def close(self) -> None:
        """Drop this renderer's scene data and temp directory."""
        global _owner
        if self._tmp is None:
            return
        if _owner is self:
            self._clear()
            _owner = None
        self._tmp_finalizer()
        self._tmp = None

    def __enter__(self) -> "CyclesRenderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- rendering ---------------------------------------------------------------------------

    def render(self, scene: Scene, labels: frozenset[str] = frozenset()) -> RenderResult:
        """Render ``scene`` at its camera's resolution with this renderer's samples; ``labels``:
        optional label layers to write too (``normals``, ``albedo``, from the one-sample label layer)."""
        import bpy

        from facefarm.render.cycles import camera as cycles_camera
        from facefarm.render.cycles import geometry as cycles_geometry
        from facefarm.render.cycles import passes as cycles_passes
        from facefarm.render.cycles import world as cycles_world

        if self._tmp is None:
            raise RuntimeError("CyclesRenderer.render() called after close()")
        if _owner is not self or (self.recycle_every and self._since_reset >= self.recycle_every):
            with _blender_stdout_to_stderr():
                self._reset()
        t0 = time.perf_counter()
        self._clear()
        s = bpy.context.scene
        s.cycles.seed = zlib.crc32(str(scene.meta.get("sample_id", "")).encode()) & 0x7FFFFFFF
        cycles_camera.add_camera(s, scene.camera)
        cols = self._collections
        for mesh in scene.meshes:
            if mesh.material.kind in SEE_THROUGH_KINDS:
                col = cols[cycles_passes.UNLABELLED]
            elif not mesh.occludes_landmarks:
                col = cols[cycles_passes.NOT_OCCLUDING]
            else:
                col = s.collection
            cycles_geometry.add_mesh(col, mesh)
        cycles_passes.use_occluder_layer(s, len(cols[cycles_passes.NOT_OCCLUDING].objects) > 0)
        cycles_passes.use_label_passes(s, normals="normals" in labels, albedo="albedo" in labels)
        for curves in scene.curves:  # hair hides landmarks: it is an occluder
            cycles_geometry.add_curves(s.collection, curves)
        cycles_world.build_world(s, scene.environment, self._hdri_cache)
        for i, light in enumerate(scene.lights):
            cycles_world.add_light(s, light, f"light_{i}")
        t1 = time.perf_counter()
        with _blender_stdout_to_stderr():
            bpy.ops.render.render(write_still=True)
        t2 = time.perf_counter()
        passes = cycles_passes.read_passes(s.render.filepath)
        rgb = cycles_passes.to_display(passes.rgb * np.asarray(scene.white_balance, np.float32), self.view_transform)
        t3 = time.perf_counter()
        self._since_reset += 1
        self.renders += 1
        occluder_depth = passes.depth if passes.occluder_depth is None else passes.occluder_depth
        hit = (passes.depth > 0)[..., None]
        normals = None
        if passes.normal is not None:  # world -> camera frame (OpenCV axes), unit, 0 off the surface
            n = passes.normal @ np.asarray(scene.camera.world_to_camera, np.float64)[:3, :3].T
            n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
            normals = np.where(hit, n, 0.0).astype(np.float32)
        albedo = None if passes.albedo is None else np.where(hit, np.clip(passes.albedo, 0.0, 1.0), 0.0)
        return RenderResult(
            rgb=rgb,
            segmentation=passes.class_id,
            depth=passes.depth,
            occluder_depth=occluder_depth,
            normals=normals,
            albedo=None if albedo is None else albedo.astype(np.float32),
            timings={"build_s": t1 - t0, "render_s": t2 - t1, "readback_s": t3 - t2},
        )
