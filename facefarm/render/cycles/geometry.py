"""Scene meshes and curves as Blender objects, built in place (object transform = identity).

Arrays go in with ``foreach_set`` (one C call per attribute, no Python loop over
vertices). A mesh's faces are grouped into one material slot per segmentation
class, so the class reaches the IndexMA pass through ``Material.pass_index``
(see :func:`facefarm.render.cycles.materials.material_for_class`); the class
comes from ``Mesh.face_class`` only, never from object or creation order.
"""

from __future__ import annotations

import bpy
import numpy as np

from facefarm.render.cycles.materials import ALBEDO_ATTRIBUTE, UV_MAP, Surface, build_material, material_for_class
from facefarm.scene.model import Curves, Mesh


def class_slots(face_class: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Material slots for per-face classes.

    face_class : (m,) uint8 class id per face
    returns (classes (k,) uint8 sorted unique ids — slot i holds classes[i],
             slot (m,) int32 slot index per face)
    """
    classes, slot = np.unique(np.asarray(face_class, np.uint8), return_inverse=True)
    return classes, slot.astype(np.int32)


def add_mesh(collection, mesh: Mesh) -> bpy.types.Object:
    """Create the object for ``mesh`` (with its materials, one slot per class) in ``collection``."""
    v = np.ascontiguousarray(mesh.vertices, np.float32)
    f = np.ascontiguousarray(mesh.faces, np.int32)
    if f.ndim != 2 or f.shape[1] != 3 or len(mesh.face_class) != len(f):
        raise ValueError(
            f"mesh {mesh.name!r}: faces must be (m, 3) with one class per face; "
            f"got faces {f.shape}, face_class {np.shape(mesh.face_class)}"
        )
    n, m = len(v), len(f)
    me = bpy.data.meshes.new(mesh.name)
    me.vertices.add(n)
    me.vertices.foreach_set("co", v.ravel())
    me.loops.add(3 * m)
    me.loops.foreach_set("vertex_index", f.ravel())
    me.polygons.add(m)
    me.polygons.foreach_set("loop_start", np.arange(0, 3 * m, 3, dtype=np.int32))

    classes, slot = class_slots(mesh.face_class)
    me.polygons.foreach_set("material_index", slot)
    me.polygons.foreach_set("use_smooth", np.full(m, mesh.smooth, bool))
    me.update(calc_edges=True)

    if mesh.uvs is not None:
        uv = me.uv_layers.new(name=UV_MAP)
        uv.uv.foreach_set("vector", np.asarray(mesh.uvs, np.float32)[f].ravel())
    has_colors = mesh.vertex_colors is not None
    if has_colors:
        rgba = np.ones((n, 4), np.float32)
        rgba[:, :3] = mesh.vertex_colors
        attr = me.color_attributes.new(ALBEDO_ATTRIBUTE, "FLOAT_COLOR", "POINT")
        attr.data.foreach_set("color", rgba.ravel())
    for name, values in (mesh.attributes or {}).items():
        attr = me.attributes.new(name, "FLOAT", "POINT")
        attr.data.foreach_set("value", np.ascontiguousarray(values, np.float32).ravel())
    if mesh.normals is not None and mesh.smooth:
        me.normals_split_custom_set_from_vertices(np.asarray(mesh.normals, np.float32))

    surface = Surface("mesh", has_colors, frozenset(mesh.attributes or ()), has_uvs=mesh.uvs is not None)
    base = build_material(mesh.material, surface)
    made: dict[int, bpy.types.Material] = {}
    for c in classes:
        me.materials.append(material_for_class(base, int(c), made))

    obj = bpy.data.objects.new(mesh.name, me)
    collection.objects.link(obj)
    return obj


def add_curves(collection, curves: Curves) -> bpy.types.Object:
    """Create a hair-curves object for ``curves`` (s strands of k points) in ``collection``."""
    pts = np.ascontiguousarray(curves.points, np.float32)
    rad = np.ascontiguousarray(curves.radius, np.float32)
    if pts.ndim != 3 or pts.shape[2] != 3 or rad.shape != pts.shape[:2]:
        raise ValueError(
            f"curves {curves.name!r}: points must be (s, k, 3) and radius (s, k); got {pts.shape} and {rad.shape}"
        )
    s, k = pts.shape[:2]
    cv = bpy.data.hair_curves.new(curves.name)
    cv.add_curves([k] * s)
    cv.position_data.foreach_set("vector", pts.ravel())
    radius = cv.attributes.get("radius") or cv.attributes.new("radius", "FLOAT", "POINT")
    radius.data.foreach_set("value", rad.ravel())
    base = build_material(curves.material, Surface("curves", False))
    cv.materials.append(material_for_class(base, int(curves.class_id), {}))
    obj = bpy.data.objects.new(curves.name, cv)
    collection.objects.link(obj)
    return obj
