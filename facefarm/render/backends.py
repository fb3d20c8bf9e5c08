"""The back-ends by name: what each needs from the rest of facefarm, and how to start one.

A back-end turns a :class:`~facefarm.scene.model.Scene` into pixels. Everything that differs
between back-ends outside their own package is stated here, once: how many hair strands the
compositor should grow for it, whether it may take a GPU, whether a worker should compose the
next sample while it renders, and the factory that starts it (imported only when asked for, so
choosing the fast back-end never imports Blender). Adding a back-end = one entry in
:data:`BACKENDS` plus its package under ``facefarm/render/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from facefarm.scene.model import PATH_TRACED_STRANDS, RASTER_STRANDS, StrandDensity

#: Cycles render devices that need a GPU on the worker (everything but "cpu" and "auto").
GPU_DEVICES = ("cuda", "optix", "hip", "metal")


def _pyrender(render_settings) -> Any:
    from facefarm.render.pyrender.renderer import PyrenderRenderer

    return PyrenderRenderer(
        view_transform=getattr(render_settings, "view_transform", "AgX"),
        device=getattr(render_settings, "device", "auto"),
    )


def _cycles(render_settings) -> Any:
    from facefarm.render.cycles.renderer import CyclesRenderer

    rs = render_settings
    return CyclesRenderer(
        device=getattr(rs, "device", "auto"),
        samples=getattr(rs, "samples", 64),
        denoise=getattr(rs, "denoise", True),
        view_transform=getattr(rs, "view_transform", "AgX"),
    )


@dataclass(frozen=True)
class Backend:
    """One back-end as the rest of facefarm sees it.

    ``strands``: hair strand density it needs (passed to ``compose``); ``gpu_devices``: the
    ``render.device`` values that make it render on a GPU (then a worker must hold one);
    ``auto_gpu``: whether "auto" takes a GPU when the cluster has any; ``shares_gpu``: whether the
    workers of one node share its GPU (the fast back-end draws in milliseconds and composes on its
    own core, so one worker per core shares the node's GPU) rather than hold one each (Cycles);
    ``compose_ahead``: whether a worker composes the next sample on a second thread while this
    one renders (worth it when rendering leaves a core idle, as path tracing does);
    ``factory``: catalog ``render`` settings -> a started renderer (``render(scene)``, ``close()``).
    """

    name: str
    strands: StrandDensity
    gpu_devices: tuple[str, ...]
    auto_gpu: bool
    shares_gpu: bool
    compose_ahead: bool
    factory: Callable[[Any], Any]

    @property
    def uses_gpu(self) -> bool:
        """Whether it can render on a GPU at all."""
        return bool(self.gpu_devices)

    def needs_gpu(self, device: str) -> bool:
        """Whether a worker must hold a GPU for this render ``device`` (catalog ``render.device``)."""
        return device in self.gpu_devices

    def takes_gpu(self, device: str, cluster_has_gpu: bool) -> bool:
        """Whether its workers render on GPUs for ``device`` on this cluster."""
        return self.needs_gpu(device) or (self.auto_gpu and device == "auto" and cluster_has_gpu)

    def start(self, render_settings=None):
        """A renderer for the catalog's ``render`` settings (view transform, device, samples...)."""
        return self.factory(render_settings)


BACKENDS: dict[str, Backend] = {
    "pyrender": Backend(
        "pyrender",
        RASTER_STRANDS,
        gpu_devices=("cuda", "optix"),
        auto_gpu=False,
        shares_gpu=True,
        compose_ahead=False,
        factory=_pyrender,
    ),
    "cycles": Backend(
        "cycles",
        PATH_TRACED_STRANDS,
        gpu_devices=GPU_DEVICES,
        auto_gpu=True,
        shares_gpu=False,
        compose_ahead=True,
        factory=_cycles,
    ),
}


def backend(name: str) -> Backend:
    """The back-end called ``name``; a clear error naming the known ones otherwise."""
    try:
        return BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown back-end {name!r}: use one of {', '.join(sorted(BACKENDS))}") from None
