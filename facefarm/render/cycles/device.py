"""Which Cycles device renders: the choice is a pure function, the Blender side is thin.

``select_device`` is pure so the policy is testable on a machine without GPUs;
``available_devices`` and ``configure_device`` talk to Cycles' add-on preferences.
"""

from __future__ import annotations

#: GPU back-ends in order of preference for ``device="auto"``; CPU is the last resort.
GPU_PREFERENCE = ("OPTIX", "CUDA", "HIP", "METAL")
#: Every device type a caller may name explicitly (case-insensitive), besides ``auto``.
KNOWN_TYPES = GPU_PREFERENCE + ("ONEAPI", "CPU")


def select_device(requested: str, available: dict[str, list]) -> str:
    """The Cycles compute device type to use: one of :data:`KNOWN_TYPES`.

    ``requested``: ``"auto"`` or a device type (``"optix"``, ``"cuda"``, ``"cpu"`` ...).
    ``available``: device type -> the devices of that type Cycles found (names or
    device entries; only emptiness matters). CPU is always available.

    ``auto`` picks OPTIX > CUDA > HIP > METAL > CPU. An explicit GPU request that
    is not available raises ``RuntimeError``: a farm asked for GPUs must not
    silently crawl on CPUs.
    """
    want = requested.strip().upper()
    found = {k.upper() for k, devices in available.items() if devices}
    if want == "AUTO":
        return next((t for t in GPU_PREFERENCE if t in found), "CPU")
    if want not in KNOWN_TYPES:
        raise ValueError(
            f"unknown Cycles device {requested!r}; use 'auto' or one of {', '.join(t.lower() for t in KNOWN_TYPES)}"
        )
    if want == "CPU" or want in found:
        return want
    have = ", ".join(sorted(found)) or "none"
    raise RuntimeError(
        f"Cycles device {requested!r} was requested but is not available "
        f"(GPU device types found: {have}); pass device='auto' or 'cpu' to "
        f"render without it"
    )


def available_devices() -> dict[str, list[str]]:
    """GPU device type -> names of the devices Cycles can use on this machine."""
    import bpy

    prefs = bpy.context.preferences.addons["cycles"].preferences
    out: dict[str, list[str]] = {}
    for kind in KNOWN_TYPES[:-1]:
        try:
            devices = prefs.get_devices_for_type(kind)
        except (TypeError, ValueError):  # type not compiled into this build
            continue
        out[kind] = [d.name for d in devices if d.type == kind]
    return out


def configure_device(bpy_scene, device_type: str, threads: int | None) -> None:
    """Point Cycles at ``device_type`` (enable all its devices) and set the CPU thread count.

    ``threads``: None uses every core; otherwise a fixed count (also the host
    threads of a GPU render).
    """
    import bpy

    prefs = bpy.context.preferences.addons["cycles"].preferences
    if device_type == "CPU":
        bpy_scene.cycles.device = "CPU"
    else:
        prefs.compute_device_type = device_type
        for d in prefs.get_devices_for_type(device_type):
            d.use = d.type == device_type
        bpy_scene.cycles.device = "GPU"
    if threads is None:
        bpy_scene.render.threads_mode = "AUTO"
    else:
        bpy_scene.render.threads_mode = "FIXED"
        bpy_scene.render.threads = int(threads)
