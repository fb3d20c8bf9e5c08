"""Everything fitted onto a head: strand hair, brows and beards, glasses, clothing and headwear.

Each fitter works in the head frame on the sample's posed-expression vertices; this
module calls them in a fixed order and moves their geometry into the world frame
with the head pose, so attachments follow the head exactly like the skin does.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from facefarm.pipeline.garments import garment_meshes
from facefarm.pipeline.glasses import glasses_meshes
from facefarm.pipeline.hair import hair_strands
from facefarm.pipeline.scene import Curves, Mesh

ToWorld = Callable[[np.ndarray], np.ndarray]


def _mesh_to_world(mesh: Mesh, to_world: ToWorld, rotation: np.ndarray) -> Mesh:
    normals = None if mesh.normals is None else (np.asarray(mesh.normals) @ rotation.T).astype(np.float32)
    return replace(mesh, vertices=to_world(mesh.vertices).astype(np.float32), normals=normals)


def _curves_to_world(curves: Curves, to_world: ToWorld) -> Curves:
    pts = np.asarray(curves.points)
    moved = to_world(pts.reshape(-1, 3)).reshape(pts.shape).astype(np.float32)
    return replace(curves, points=moved)


def attachments(sample, head, vertices: np.ndarray, to_world: ToWorld,
                rotation: np.ndarray) -> tuple[list[Mesh], list[Curves]]:
    """Meshes (glasses, garments) and curves (hair, brows, beard) of ``sample`` in the world frame.

    ``vertices``: (V, 3) head-frame metres with expression applied; ``to_world`` maps (n, 3)
    head-frame points to the world; ``rotation``: its (3, 3) rotation (for normals).
    """
    meshes = [_mesh_to_world(m, to_world, rotation)
              for m in (*glasses_meshes(sample, head, vertices), *garment_meshes(sample, head, vertices))]
    curves = [_curves_to_world(c, to_world) for c in hair_strands(sample, head, vertices)]
    return meshes, curves
