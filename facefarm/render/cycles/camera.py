"""The Blender camera that reproduces a :class:`~facefarm.geometry.camera.Camera` exactly.

Blender cameras look down their local -z with +y up (OpenGL axes); ours are
OpenCV (x right, y down, z forward), so the object matrix is
``camera_to_world @ CV_TO_GL``. With ``sensor_fit = HORIZONTAL`` the sensor
width spans the image width, so ``lens = fx * sensor_width / W``; Blender's
shift is measured in units of the image width in both axes (horizontal fit), and
moving the view plane right/up moves the principal point left/down:
``cx = W/2 - shift_x * W`` and ``cy = H/2 + shift_y * W``. Cycles traces the
first sample of every pixel through its centre (i + 0.5, j + 0.5), which is
exactly the pixel convention of :mod:`facefarm.geometry.camera`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facefarm.geometry.camera import CV_TO_GL, Camera

#: Any value works with horizontal fit; 36 mm keeps ``lens`` readable in the UI.
SENSOR_WIDTH_MM = 36.0


@dataclass(frozen=True)
class BlenderCameraParams:
    """Blender camera settings. ``matrix_world``: (4, 4) float64 camera-object-to-world (OpenGL axes)."""

    matrix_world: np.ndarray
    lens_mm: float
    sensor_width_mm: float
    shift_x: float
    shift_y: float
    clip_start: float
    clip_end: float
    width: int
    height: int


def blender_camera_params(camera: Camera) -> BlenderCameraParams:
    """Convert an OpenCV pinhole camera to Blender's parametrisation (pure, no bpy).

    Raises ``ValueError`` for what a Blender camera cannot express with square
    pixels: ``fx != fy`` or a skewed K.
    """
    K = np.asarray(camera.K, np.float64)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    if not np.isclose(fx, fy, rtol=1e-6, atol=0.0):
        raise ValueError(f"Blender cameras need square pixels: K has fx={fx} != fy={fy}")
    if abs(K[0, 1]) > 1e-9 * fx:
        raise ValueError(f"Blender cameras have no skew: K[0, 1] = {K[0, 1]}")
    w, h = int(camera.width), int(camera.height)
    return BlenderCameraParams(
        matrix_world=camera.camera_to_world @ CV_TO_GL,
        lens_mm=float(fx * SENSOR_WIDTH_MM / w),
        sensor_width_mm=SENSOR_WIDTH_MM,
        shift_x=float((w / 2.0 - cx) / w),
        shift_y=float((cy - h / 2.0) / w),
        clip_start=float(camera.near),
        clip_end=float(camera.far),
        width=w,
        height=h,
    )


def add_camera(bpy_scene, camera: Camera, name: str = "camera"):
    """Create the camera object in ``bpy_scene``, make it the active camera and set the resolution."""
    import bpy
    from mathutils import Matrix

    p = blender_camera_params(camera)
    data = bpy.data.cameras.new(name)
    data.type = "PERSP"
    data.sensor_fit = "HORIZONTAL"
    data.sensor_width = p.sensor_width_mm
    data.lens_unit = "MILLIMETERS"
    data.lens = p.lens_mm
    data.shift_x, data.shift_y = p.shift_x, p.shift_y
    data.clip_start, data.clip_end = p.clip_start, p.clip_end
    data.dof.use_dof = False
    obj = bpy.data.objects.new(name, data)
    obj.matrix_world = Matrix(p.matrix_world.tolist())
    bpy_scene.collection.objects.link(obj)
    bpy_scene.camera = obj
    r = bpy_scene.render
    r.resolution_x, r.resolution_y, r.resolution_percentage = p.width, p.height, 100
    r.pixel_aspect_x = r.pixel_aspect_y = 1.0
    r.use_border = False
    return obj
