"""Exact closest points on a triangle mesh, through a bounding-volume hierarchy (:mod:`mesh_bvh`).

The one way the pipeline measures how far a point is from skin, clothes or a head: hair
collision (:mod:`~facefarm.compose.hair.collision`), garment and glasses fitting
(:class:`~facefarm.geometry.surface.SurfaceDistance`). A tree's shape is built once per face
array (per process, for the last TOPOLOGIES face arrays) and refitted to each mesh's vertices;
results do not depend on the tree's shape (ties go to the lowest face index), so they do not
depend on which meshes a process saw before.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from facefarm.geometry import mesh_bvh, vectors


@dataclass(frozen=True)
class Closest:
    """For (n,) query points: ``point`` (n, 3) the closest surface point, ``face`` (n,) its
    triangle, ``bary`` (n, 3) its barycentric coordinates there, ``distance`` (n,) unsigned."""

    point: np.ndarray
    face: np.ndarray
    bary: np.ndarray
    distance: np.ndarray


#: Barycentric coordinates of closest points below this are exactly 0 (on an edge or a corner).
BARY_EPS = 1e-7
#: Face arrays whose tree shape a process keeps (a head asset has a few: skin, its solid part, garments).
TOPOLOGIES = 32
_SHAPES: OrderedDict[tuple, tuple] = OrderedDict()
_SHAPES_LOCK = threading.Lock()  # a Cycles worker composes the next sample on a second thread


def _tree_shape(vertices: np.ndarray, faces: np.ndarray) -> tuple:
    """(order, left, start, count) of the tree over ``faces``: built from these ``vertices`` the
    first time the face array is seen, reused after."""
    key = (faces.shape, hashlib.blake2b(faces.tobytes(), digest_size=16).digest())
    with _SHAPES_LOCK:
        shape = _SHAPES.get(key)
        if shape is None:
            shape = mesh_bvh.build(vertices[faces].mean(axis=1), mesh_bvh.LEAF_SIZE)
            _SHAPES[key] = shape
            while len(_SHAPES) > TOPOLOGIES:
                _SHAPES.popitem(last=False)
        else:
            _SHAPES.move_to_end(key)
        return shape


class ClosestPoints:
    """Closest-point queries on the (m, 3) ``faces`` over (n, 3) ``vertices`` (float64)."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray):
        self.vertices = np.ascontiguousarray(vertices, np.float64)
        self.faces = np.ascontiguousarray(faces, np.int64)
        if len(self.faces):
            shape = _tree_shape(self.vertices, self.faces)
            self._order, self._left, self._start, self._count = shape
            self._lo, self._hi, self._corners = mesh_bvh.refit(self.vertices, self.faces, *shape)

    def query(self, points: np.ndarray) -> Closest:
        p = np.ascontiguousarray(np.asarray(points, np.float64).reshape(-1, 3))
        if len(p) == 0:
            return Closest(np.zeros((0, 3)), np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros(0))
        if len(self.faces) == 0:
            raise ValueError("closest points on a mesh without faces")
        sqd, face, q, bary = mesh_bvh.closest(
            p, self._corners, self._order, self._left, self._start, self._count, self._lo, self._hi, BARY_EPS
        )
        return Closest(point=q, face=face, bary=bary, distance=np.sqrt(sqd))

    def smooth_normal(self, c: Closest, vertex_normals: np.ndarray) -> np.ndarray:
        """(n, 3) unit normals at the closest points ``c``: the (V, 3) ``vertex_normals``
        interpolated barycentrically over each closest triangle."""
        n = np.einsum("nk,nkd->nd", c.bary, vertex_normals[self.faces[c.face]])
        return vectors.unit(n)
