"""Which EGL device the fast back-end draws with: the GPU its worker was given, or the CPU rasteriser.

The choice is pure (:func:`egl_device_for`) so it is testable without a GPU; :func:`egl_cuda_ids`
and :func:`renderer_string` talk to EGL and GL. A worker asked for a GPU that ends up on Mesa's
software rasteriser (llvmpipe) refuses to render rather than run 50x slower unnoticed.
"""

from __future__ import annotations

import ctypes
import os

#: ``render.device`` values that demand an NVIDIA GPU for the fast back-end.
GPU_DEVICES = ("cuda", "optix")
#: GL_RENDERER substrings of software rasterisers.
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "lavapipe")
#: EGL_CUDA_DEVICE_NV: the CUDA ordinal of an EGL device (EGL_NV_device_cuda).
_EGL_CUDA_DEVICE_NV = 0x323A


def wants_gpu(device: str) -> bool:
    """Whether ``render.device`` asks the fast back-end for a GPU (``auto`` and ``cpu`` do not)."""
    return device.strip().lower() in GPU_DEVICES


def visible_cuda_ordinal(environ: dict[str, str] | None = None) -> int | None:
    """The CUDA ordinal of the first GPU this process may use (Ray sets ``CUDA_VISIBLE_DEVICES`` for a
    worker holding GPUs), or None when none is visible."""
    env = os.environ if environ is None else environ
    first = env.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
    if not first or first.startswith("-"):
        return None
    return int(first) if first.isdigit() else None


def egl_device_for(cuda_ordinal: int | None, egl_cuda_ids: list[int | None]) -> int:
    """The EGL device index to draw with: the one backed by CUDA device ``cuda_ordinal`` (EGL lists
    devices in its own order, not CUDA's), else 0 (EGL's default: a GPU if the driver has one, Mesa's
    software device otherwise)."""
    if cuda_ordinal is not None and cuda_ordinal in egl_cuda_ids:
        return egl_cuda_ids.index(cuda_ordinal)
    return 0


def egl_cuda_ids() -> list[int | None]:
    """The CUDA ordinal of each EGL device (None for devices that are not NVIDIA GPUs)."""
    from OpenGL import EGL
    from pyrender.platforms import egl as pyrender_egl

    try:
        devices = pyrender_egl.query_devices()
    except Exception:  # noqa: BLE001 - no device enumeration: only EGL's default device
        return []
    try:
        query = EGL.eglGetProcAddress("eglQueryDeviceAttribEXT")
        attrib = (
            ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_long))(query)
            if query
            else None
        )
    except Exception:  # noqa: BLE001
        attrib = None
    out: list[int | None] = []
    for d in devices:
        value = ctypes.c_long(-1)
        handle = getattr(d, "_display", None)
        ok = (
            attrib is not None
            and handle is not None
            and attrib(ctypes.cast(handle, ctypes.c_void_p), _EGL_CUDA_DEVICE_NV, ctypes.byref(value))
        )
        out.append(int(value.value) if ok and value.value >= 0 else None)
    return out


def choose(device: str) -> None:
    """Point pyrender at the EGL device for ``render.device`` (``EGL_DEVICE_ID``, read when its
    context is made). A GPU request picks the EGL device of the GPU this worker was given."""
    if not wants_gpu(device) or "EGL_DEVICE_ID" in os.environ:
        return
    os.environ["EGL_DEVICE_ID"] = str(egl_device_for(visible_cuda_ordinal(), egl_cuda_ids()))


def check_renderer(renderer: str, device: str) -> None:
    """Refuse a GPU request that landed on a software rasteriser; ``renderer``: GL_RENDERER."""
    if wants_gpu(device) and any(s in renderer.lower() for s in SOFTWARE_RENDERERS):
        raise RuntimeError(
            f"the fast back-end was asked for a GPU (render.device = {device!r}) but EGL gave "
            f"the software rasteriser {renderer!r}: check the NVIDIA driver and its EGL vendor "
            'library on this node, or set render.device to "cpu" or "auto"'
        )


def renderer_string() -> str:
    """GL_RENDERER of the current context."""
    from OpenGL import GL

    value = GL.glGetString(GL.GL_RENDERER)
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
