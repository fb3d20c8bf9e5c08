"""The fast back-end's optional label passes: amodal layer masks and surface normals.

Both are more segmentation passes over the scene already built for the sample
(``RenderFlags.SEG``: no lighting, no multisampling, one value per pixel centre), with another
value per face in the face-class texture (:meth:`_Context.bind_face_classes`):

* amodal: the faces of every layer but the one drawn and the head are :data:`NOT_DRAWN`
  (discarded, so they hide nothing); one pass for the head alone, one per other layer present;
* normals: every face's index + 1, read back as three bytes; the normal is then computed
  exactly on the CPU from that triangle (:mod:`facefarm.geometry.pixel_normals`).

Each pass costs about one segmentation pass (measured in BENCHMARKS.md); only what the
catalog's ``outputs.labels`` asks for is drawn.
"""

from __future__ import annotations

import numpy as np

from facefarm.geometry.camera import Camera
from facefarm.geometry.pixel_normals import surface_normals
from facefarm.render.pyrender.shaders import NOT_DRAWN
from facefarm.scene.classes import amodal_layers


def _seg_pass(ctx, built, values: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: the SEG pass with ``values`` (m,) uint32 per face (low byte in channel 0)."""
    from pyrender import RenderFlags

    ctx.bind_face_classes(values)
    rgb, _ = ctx.osr.render(built.scene, RenderFlags.SEG, seg_node_map=built.seg_map)
    return rgb


def amodal(ctx, built) -> tuple[np.ndarray, np.ndarray]:
    """(head_segmentation, layers): (H, W) uint8 class ids of the head layer drawn alone, and (H, W)
    uint8 with bit ``layer.bit`` set where that layer shows when drawn with the head only
    (``facefarm/assets/schema/layers.json``). Leaves the face-class texture as it found it."""
    classes = np.asarray(built.face_class, np.uint32)
    layers = amodal_layers()
    # the head by its bare classes (the scalp under the hair cap is skin), each layer by its own
    bare = np.asarray(built.bare_class, np.uint32)
    head = np.isin(bare, layers[0].classes)
    head_values = np.where(head, bare, NOT_DRAWN)
    try:
        head_seg = _seg_pass(ctx, built, head_values)[:, :, 0].copy()
        bits = (head_seg != 0).astype(np.uint8) << layers[0].bit
        for layer in layers[1:]:
            mine = np.isin(classes, layer.classes)
            if not mine.any():
                continue
            seg = _seg_pass(ctx, built, np.where(mine, classes, head_values))[:, :, 0]
            bits |= np.isin(seg, layer.classes).astype(np.uint8) << layer.bit
    finally:
        ctx.bind_face_classes(classes)
    return head_seg, bits


def normals(ctx, built, camera: Camera) -> np.ndarray:
    """(H, W, 3) float32 camera-frame unit normals of what each pixel centre sees (0 = background);
    see :func:`facefarm.geometry.pixel_normals.surface_normals`."""
    classes = np.asarray(built.face_class, np.uint32)
    try:
        rgb = _seg_pass(ctx, built, np.arange(1, len(classes) + 1, dtype=np.uint32)).astype(np.int64)
    finally:
        ctx.bind_face_classes(classes)
    face_index = (rgb[:, :, 0] | (rgb[:, :, 1] << 8) | (rgb[:, :, 2] << 16)) - 1
    parts = built.parts
    if not parts:
        return np.zeros((*face_index.shape, 3), np.float32)
    offsets = np.cumsum([0] + [len(p.vertices) for p in parts])
    vertices = np.concatenate([p.vertices for p in parts])
    faces = np.concatenate([p.faces + o for p, o in zip(parts, offsets)])
    # flat parts' rows are never read (their faces take their plane's normal)
    vn = np.concatenate([np.zeros((len(p.vertices), 3), np.float32) if p.normals is None else p.normals for p in parts])
    smooth = np.concatenate([np.full(len(p.faces), p.normals is not None) for p in parts])
    return surface_normals(camera, face_index, vertices, faces, vn, smooth)
