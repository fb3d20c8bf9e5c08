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

    return PyrenderRenderer(view_transform=getattr(render_settings, "view_transform", "AgX"))


def _cycles(render_settings) -> Any:
    from facefarm.render.cycles.renderer import CyclesRenderer

    rs = render_settings
    return CyclesRenderer(device=getattr(rs, "device", "auto"), samples=getattr(rs, "samples", 64),
                          denoise=getattr(rs, "denoise", True),
                          view_transform=getattr(rs, "view_transform", "AgX"))


@dataclass(frozen=True)
class Backend:
    """One back-end as the rest of facefarm sees it.

    ``strands``: hair strand density it needs (passed to ``compose``); ``uses_gpu``: whether
    it can render on a GPU at all (Cycles: with a GPU device, or "auto" on a GPU node);
    ``compose_ahead``: whether a worker composes the next sample on a second thread while this
    one renders (worth it when rendering leaves a core idle, as path tracing does);
    ``factory``: catalog ``render`` settings -> a started renderer (``render(scene)``, ``close()``).
    """

    name: str
    strands: StrandDensity
    uses_gpu: bool
    compose_ahead: bool
    factory: Callable[[Any], Any]

    def needs_gpu(self, device: str) -> bool:
        """Whether a worker must hold a GPU for this render ``device`` (catalog ``render.device``)."""
        return self.uses_gpu and device in GPU_DEVICES

    def start(self, render_settings=None):
        """A renderer for the catalog's ``render`` settings (view transform, device, samples...)."""
        return self.factory(render_settings)


BACKENDS: dict[str, Backend] = {
    "pyrender": Backend("pyrender", RASTER_STRANDS, uses_gpu=False, compose_ahead=False, factory=_pyrender),
    "cycles": Backend("cycles", PATH_TRACED_STRANDS, uses_gpu=True, compose_ahead=True, factory=_cycles),
}


def backend(name: str) -> Backend:
    """The back-end called ``name``; a clear error naming the known ones otherwise."""
    try:
        return BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown back-end {name!r}: use one of {', '.join(sorted(BACKENDS))}") from None
