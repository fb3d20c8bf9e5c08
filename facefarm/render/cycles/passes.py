"""Getting pixels out of Cycles: passes, the EXR hand-off, and the display transform.

Headless bpy cannot read render pixels directly (``Render Result`` exposes no
pixels and the compositor Viewer node does not run in background mode), so each
render writes one uncompressed multi-layer EXR to a RAM-backed temp directory
(``/dev/shm`` when present), which is read with the OpenImageIO bundled in the
bpy wheel and deleted at once. At 512 px that read takes 30-80 ms and the display
transform 20-45 ms (measured on a busy 2-core machine), against tens of seconds of
path tracing; nothing touches a disk and no file outlives the call.

Labels come from Cycles' data passes, which are written from the *first*
sample only, and Cycles traces that sample through the pixel centre. So depth
(Z: planar camera z, metres) and class (IndexMA: ``Material.pass_index``) are
exact point samples at (i + 0.5, j + 0.5), unfiltered and unaffected by the
denoiser, while the beauty pass is filtered and denoised. They come from a
second, one-sample view layer of the same render (see :func:`configure_layers`):
in one layer a see-through lens would label the pixels where the first sample
happened to pick its reflection.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import bpy
import numpy as np

#: Z that Cycles writes where a camera ray hits nothing (1e10); anything this far is background.
BACKGROUND_Z = 1e9
#: View layers: the image; the labels (class + depth); the landmark occluders' depth.
BEAUTY_LAYER, LABEL_LAYER, OCCLUDER_LAYER = "beauty", "labels", "occluders"
#: Collections for objects that some layers leave out (see :func:`configure_layers`).
UNLABELLED, NOT_OCCLUDING = "unlabelled", "not_occluding"
#: Unlit world of the label layers.
LABEL_WORLD = "labels_world"


def configure_layers(bpy_scene, exr_path: str) -> dict[str, bpy.types.Collection]:
    """Set up the view layers and the EXR output; returns ``{name: collection}`` for
    :data:`UNLABELLED` (spectacle lenses) and :data:`NOT_OCCLUDING` (meshes with
    ``occludes_landmarks=False``).

    Everything comes from one ``render(write_still=True)``:

    * ``beauty``: RGB at the scene's samples, denoised, every object;
    * ``labels``: Z and IndexMA from one sample, without :data:`UNLABELLED`, so the
      class and depth behind a lens show through it;
    * ``occluders``: Z from one sample without either collection; switched on by
      :func:`use_occluder_layer` only for scenes that have non-occluding meshes.
    """
    beauty = bpy_scene.view_layers[0]
    beauty.name = BEAUTY_LAYER
    layers = {BEAUTY_LAYER: beauty}
    for name in (LABEL_LAYER, OCCLUDER_LAYER):
        layers[name] = bpy_scene.view_layers.get(name) or bpy_scene.view_layers.new(name)
    collections = {}
    for name in (UNLABELLED, NOT_OCCLUDING):
        col = bpy.data.collections.get(name) or bpy.data.collections.new(name)
        if name not in bpy_scene.collection.children:
            bpy_scene.collection.children.link(col)
        collections[name] = col
    # label layers need no lighting: a black world spares them building the HDRI's
    # importance map, which costs more than the whole one-sample render
    dark = bpy.data.worlds.get(LABEL_WORLD) or bpy.data.worlds.new(LABEL_WORLD)
    dark.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.0
    dark.cycles.sampling_method = "NONE"
    layers[LABEL_LAYER].layer_collection.children[UNLABELLED].exclude = True
    layers[OCCLUDER_LAYER].layer_collection.children[UNLABELLED].exclude = True
    layers[OCCLUDER_LAYER].layer_collection.children[NOT_OCCLUDING].exclude = True
    for name, layer in layers.items():
        is_beauty = name == BEAUTY_LAYER
        layer.use = name != OCCLUDER_LAYER
        layer.use_pass_combined = is_beauty
        layer.use_pass_z = not is_beauty
        layer.use_pass_material_index = name == LABEL_LAYER
        layer.samples = 0 if is_beauty else 1  # 0: the scene's sample count
        layer.cycles.use_denoising = is_beauty
        layer.world_override = None if is_beauty else dark
        layer.cycles.denoising_store_passes = False
    im = bpy_scene.render.image_settings
    im.media_type = "MULTI_LAYER_IMAGE"
    im.file_format = "OPEN_EXR_MULTILAYER"
    im.color_depth = "32"  # depth needs float32; half would quantise it to ~1 mm at 1 m
    im.exr_codec = "NONE"
    bpy_scene.render.filepath = exr_path
    bpy_scene.render.use_file_extension = False
    return collections


def use_label_passes(bpy_scene, normals: bool, albedo: bool) -> None:
    """Write the optional label passes from the one-sample label layer, or not: Cycles' Normal
    (world-frame shading normal) and its denoising albedo (the surface's albedo for every closure,
    hair and gloss included; the diffuse colour pass leaves hair black)."""
    layer = bpy_scene.view_layers[LABEL_LAYER]
    layer.use_pass_normal = normals
    layer.cycles.denoising_store_passes = albedo


def use_occluder_layer(bpy_scene, on: bool) -> None:
    """Render the occluder layer for this scene or not (it costs a second scene sync)."""
    bpy_scene.view_layers[OCCLUDER_LAYER].use = on


def _bundled(module: str):
    """Import a Python module shipped inside the bpy wheel (OpenImageIO, PyOpenColorIO)."""
    site = (
        Path(bpy.utils.resource_path("LOCAL"))
        / "python"
        / "lib"
        / f"python{sys.version_info.major}.{sys.version_info.minor}"
        / "site-packages"
    )
    if str(site) not in sys.path:
        sys.path.append(str(site))  # appended: never shadows the venv's own packages
    return __import__(module)


@dataclass(frozen=True)
class Passes:
    """Raw render output. rgb: (H, W, 3) float32 scene-linear Rec.709; depth: (H, W) float32
    camera z metres, 0 for background; class_id: (H, W) uint8 (``Material.pass_index``);
    occluder_depth: like depth for the landmark occluders, or None when not rendered; normal:
    (H, W, 3) float32 world-frame shading normals and albedo: (H, W, 3) float32 linear, from the
    label layer when :func:`use_label_passes` asked for them, else None."""

    rgb: np.ndarray
    depth: np.ndarray
    class_id: np.ndarray
    occluder_depth: np.ndarray | None = None
    normal: np.ndarray | None = None
    albedo: np.ndarray | None = None


def read_passes(exr_path: str) -> Passes:
    """Read the multi-layer EXR written by a render (rows top to bottom) and delete it."""
    oiio = _bundled("OpenImageIO")
    inp = oiio.ImageInput.open(exr_path)
    if inp is None:
        raise OSError(f"cannot read render output {exr_path}: {oiio.geterror()}")
    channels: dict[str, np.ndarray] = {}
    # Blender also writes passes nobody reads (the noisy beauty, the label layers' Combined):
    # reading a part costs ~10 ms at 256 px, so only the wanted ones are read
    wanted = {f"{BEAUTY_LAYER}.Combined.{c}" for c in "RGB"} | {
        f"{LABEL_LAYER}.Depth.Z",
        f"{LABEL_LAYER}.Material Index.X",
        f"{OCCLUDER_LAYER}.Depth.Z",
        *(f"{LABEL_LAYER}.Normal.{c}" for c in "XYZ"),
        *(f"{LABEL_LAYER}.Denoising Albedo.{c}" for c in "RGB"),
    }
    try:
        part = 0
        while inp.seek_subimage(part, 0):  # Blender writes one EXR part per pass
            spec = inp.spec()
            if wanted.intersection(spec.channelnames):
                px = inp.read_image(part, 0, 0, spec.nchannels, "float")
                for i, name in enumerate(spec.channelnames):
                    channels[name] = px[:, :, i]  # "<view layer>.<pass>.<channel>"
            part += 1
    finally:
        inp.close()
        os.unlink(exr_path)
    try:
        rgb = np.stack([channels[f"{BEAUTY_LAYER}.Combined.{c}"] for c in "RGB"], axis=-1)
        z = channels[f"{LABEL_LAYER}.Depth.Z"]
        index = channels[f"{LABEL_LAYER}.Material Index.X"]
    except KeyError as e:
        raise KeyError(f"render output lacks pass {e}; has {sorted(channels)}") from None
    occ = channels.get(f"{OCCLUDER_LAYER}.Depth.Z")

    def stacked(name: str, parts: str) -> np.ndarray | None:
        keys = [f"{LABEL_LAYER}.{name}.{c}" for c in parts]
        return np.stack([channels[k] for k in keys], axis=-1).astype(np.float32) if keys[0] in channels else None

    return Passes(
        rgb=rgb.astype(np.float32),
        depth=_metres(z),
        class_id=np.rint(index).clip(0, 255).astype(np.uint8),
        occluder_depth=None if occ is None else _metres(occ),
        normal=stacked("Normal", "XYZ"),
        albedo=stacked("Denoising Albedo", "RGB"),
    )


def _metres(z: np.ndarray) -> np.ndarray:
    return np.where(z < BACKGROUND_Z, z, 0.0).astype(np.float32)


@lru_cache(maxsize=None)
def _display_processor(view: str, display: str):
    ocio = _bundled("PyOpenColorIO")
    config_path = Path(bpy.utils.resource_path("LOCAL")) / "datafiles" / "colormanagement" / "config.ocio"
    config = ocio.Config.CreateFromFile(str(config_path))
    if view not in config.getViews(display):
        raise ValueError(
            f"unknown view transform {view!r} for display {display!r}; have {list(config.getViews(display))}"
        )
    return config.getProcessor("Linear Rec.709", display, view, ocio.TRANSFORM_DIR_FORWARD).getDefaultCPUProcessor()


def to_display(rgb_linear: np.ndarray, view: str = "AgX", display: str = "sRGB") -> np.ndarray:
    """(H, W, 3) scene-linear float -> (H, W, 3) uint8 display-encoded, with Blender's own OCIO config.

    ``view``: a view transform of Blender's config, e.g. "AgX" (Blender's default,
    soft highlight roll-off) or "Standard" (plain sRGB curve, clips at 1).
    """
    out = np.ascontiguousarray(rgb_linear, np.float32).copy()
    _display_processor(view, display).applyRGB(out)
    return np.rint(np.clip(out, 0.0, 1.0) * 255.0).astype(np.uint8)
