"""Surface normals per pixel, exact: each pixel's triangle, hit through the pixel centre.

A rasteriser says which triangle a pixel centre sees (the face-index pass of the fast
back-end); the normal there is the triangle's own: its vertex normals interpolated at the point
where the pixel-centre ray meets its plane (smooth meshes), or its plane's normal (flat meshes).
Nothing is filtered or quantised, so the label agrees with the depth and the segmentation of the
same pixel.
"""

from __future__ import annotations

import numpy as np

from facefarm.geometry.camera import Camera


def pixel_rays(camera: Camera, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(k, 3) float64 camera-frame directions (z = 1) through the centres of pixels (rows, cols)."""
    K = np.asarray(camera.K, np.float64)
    x = (cols + 0.5 - K[0, 2]) / K[0, 0]
    y = (rows + 0.5 - K[1, 2]) / K[1, 1]
    return np.column_stack([x, y, np.ones_like(x)])


def surface_normals(
    camera: Camera,
    face_index: np.ndarray,
    vertices: np.ndarray,
    faces: np.ndarray,
    vertex_normals: np.ndarray,
    smooth: np.ndarray,
) -> np.ndarray:
    """(H, W, 3) float32 unit normals in the camera frame (OpenCV: x right, y down, z forward;
    a surface facing the camera has n_z < 0), 0 where ``face_index`` is -1.

    face_index : (H, W) int64, the triangle (row of ``faces``) each pixel centre sees, -1 = none
    vertices : (n, 3) float, world metres; faces : (m, 3) int into them
    vertex_normals : (n, 3) float, world frame (rows of flat faces' vertices are not read)
    smooth : (m,) bool, interpolate the vertex normals (else the face's plane normal)

    A normal points to the side of the surface the camera sees: a two-sided face (hair, an ear's
    back) seen from behind gets its normals turned round.
    """
    h, w = face_index.shape
    out = np.zeros((h, w, 3), np.float32)
    rows, cols = np.nonzero(face_index >= 0)
    if len(rows) == 0:
        return out
    f = face_index[rows, cols]
    w2c = np.asarray(camera.world_to_camera, np.float64)
    R, t = w2c[:3, :3], w2c[:3, 3]
    tri = np.asarray(faces)[f]  # (k, 3)
    a, b, c = (np.asarray(vertices, np.float64)[tri[:, i]] @ R.T + t for i in range(3))
    d = pixel_rays(camera, rows, cols)
    e1, e2 = b - a, c - a
    # Moller-Trumbore with the ray from the camera centre: barycentrics (u, v) of the hit
    p = np.cross(d, e2)
    det = np.einsum("ij,ij->i", e1, p)
    det = np.where(np.abs(det) < 1e-30, 1e-30, det)
    s = -a
    u = np.einsum("ij,ij->i", s, p) / det
    q = np.cross(s, e1)
    v = np.einsum("ij,ij->i", d, q) / det
    bary = np.clip(np.column_stack([1.0 - u - v, u, v]), 0.0, 1.0)  # the centre is inside, up to rounding
    bary /= bary.sum(axis=1, keepdims=True)

    geo = np.cross(e1, e2)
    geo /= np.maximum(np.linalg.norm(geo, axis=1, keepdims=True), 1e-30)
    geo *= np.where(np.einsum("ij,ij->i", geo, d) > 0, -1.0, 1.0)[:, None]  # towards the camera
    vn = np.asarray(vertex_normals, np.float64)
    n = np.einsum("ki,kij->kj", bary, vn[tri]) @ R.T
    sm = np.asarray(smooth, bool)[f]
    n = np.where(sm[:, None], n, geo)
    n *= np.where(np.einsum("ij,ij->i", n, geo) < 0, -1.0, 1.0)[:, None]
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-30)
    out[rows, cols] = n
    return out
