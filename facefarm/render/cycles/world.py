"""Image-based lighting, the visible background and the scene's lights in Cycles.

HDRI orientation follows the convention every back-end shares
(:mod:`facefarm.scene.environment`): a world direction ``w`` (+y up) reads the
map at ``R_y(-rotation) w``, and the map frame goes to Blender's z-up environment
frame by ``(x, y, z) -> (x, -z, y)``; so the image centre looks along +x and the
top row is +y. The rotation is applied exactly with three dot products on the
world ray direction (no Euler-angle conventions involved).

A solid background is shown to camera rays only (Light Path trick): the
lighting, reflections and refractions still come from the HDRI.
"""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from facefarm.render.cycles.materials import NodeGraph
from facefarm.scene.environment import rotation_y
from facefarm.scene.model import Environment, Light

# map frame (x, y, z), +y up -> Blender's environment frame (x, -z, y), +z up
_MAP_TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])

#: HDRIs kept loaded between renders.
HDRI_CACHE_SIZE = 4

_LIGHT_TYPES = {"directional": "SUN", "point": "POINT", "area": "AREA", "spot": "SPOT"}


def environment_lookup_matrix(rotation_deg: float) -> np.ndarray:
    """(3, 3) world direction -> Blender environment lookup direction for ``rotation_deg``."""
    return _MAP_TO_BLENDER @ rotation_y(-rotation_deg)


def load_hdri(path: str, cache: dict[str, bpy.types.Image]) -> bpy.types.Image:
    """The HDRI image for ``path``, loaded once and kept while it is among the
    :data:`HDRI_CACHE_SIZE` most recently used (``cache``: resolved path -> image, in use order)."""
    key = str(Path(path).resolve())
    img = cache.pop(key, None)
    if img is None or not _alive(img):
        if not Path(key).is_file():
            raise FileNotFoundError(f"HDRI not found: {path}")
        img = bpy.data.images.load(key, check_existing=True)
        img.colorspace_settings.name = "Linear Rec.709"
    cache[key] = img
    while len(cache) > HDRI_CACHE_SIZE:  # a 4k float HDRI holds 128 MB
        old = cache.pop(next(iter(cache)))
        if _alive(old):
            bpy.data.images.remove(old)
    return img


def _alive(img: bpy.types.Image) -> bool:
    """False for an image whose data block was removed (e.g. by a factory reset)."""
    try:
        return img.name in bpy.data.images
    except ReferenceError:
        return False


def build_world(bpy_scene, env: Environment, hdri_cache: dict[str, bpy.types.Image]) -> bpy.types.World:
    """(Re)build ``bpy_scene.world`` for ``env``."""
    world = bpy_scene.world or bpy.data.worlds.new("world")
    bpy_scene.world = world
    g = NodeGraph(world.node_tree)
    if env.hdri:
        coords = g.node("ShaderNodeTexCoord").outputs["Generated"]  # world ray direction
        M = environment_lookup_matrix(env.rotation_deg)
        rows = [g.node("ShaderNodeVectorMath", {0: coords, 1: tuple(M[i])}, operation="DOT_PRODUCT") for i in range(3)]
        vec = g.node("ShaderNodeCombineXYZ", {k: r.outputs["Value"] for k, r in zip("XYZ", rows)})
        image = load_hdri(env.hdri, hdri_cache)
        tex = g.node(
            "ShaderNodeTexEnvironment",
            {"Vector": vec.outputs["Vector"]},
            image=image,
            interpolation="Linear",
            projection="EQUIRECTANGULAR",
        )
        # Cycles' automatic importance-map size costs ~3 s of CPU per render for a
        # 1024 x 512 map; half the map's width costs 0.15 s and still isolates the sun
        world.cycles.sampling_method = "MANUAL"
        world.cycles.sample_map_resolution = int(np.clip(image.size[0] // 2, 256, 2048))
        light = g.node("ShaderNodeBackground", {"Color": tex.outputs["Color"], "Strength": float(env.intensity)})
    else:
        light = g.node("ShaderNodeBackground", {"Color": tuple(env.color), "Strength": float(env.intensity)})
        world.cycles.sampling_method = "AUTOMATIC"  # a constant world needs no map
    shader = light.outputs["Background"]
    if env.background != "hdri":
        backdrop = g.node("ShaderNodeBackground", {"Color": tuple(env.background), "Strength": 1.0})
        path = g.node("ShaderNodeLightPath")
        mix = g.node("ShaderNodeMixShader", {"Fac": path.outputs["Is Camera Ray"]})
        g.tree.links.new(shader, mix.inputs[1])
        g.tree.links.new(backdrop.outputs["Background"], mix.inputs[2])
        shader = mix.outputs[0]
    g.output(shader, "ShaderNodeOutputWorld")
    return world


def add_light(bpy_scene, light: Light, name: str = "light") -> bpy.types.Object:
    """A Blender light for ``light``; both shine along their local -z, so the pose carries over.

    ``size``: disk diameter (area) or source radius (point/spot), metres; a sun keeps
    Blender's default angular size.
    """
    from mathutils import Matrix

    try:
        kind = _LIGHT_TYPES[light.kind]
    except KeyError:
        raise ValueError(f"unknown light kind {light.kind!r}; use one of {sorted(_LIGHT_TYPES)}") from None
    data = bpy.data.lights.new(name, kind)
    data.color = tuple(light.color)
    data.energy = float(light.intensity)  # W (point/spot/area) or W/m^2 (sun): Blender's units too
    if kind == "AREA":
        data.shape = "DISK"
        data.size = max(float(light.size), 1e-3)
    elif kind == "POINT" or kind == "SPOT":
        data.shadow_soft_size = float(light.size)
    obj = bpy.data.objects.new(name, data)
    obj.matrix_world = Matrix(np.asarray(light.pose, np.float64).tolist())
    bpy_scene.collection.objects.link(obj)
    return obj
