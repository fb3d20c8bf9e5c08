"""pyrender primitives whose vertex buffers are packed once, in float32.

pyrender's own ``Primitive`` converts vertex colours through float64 (``format_color_array``)
and packs a vertex buffer by ``hstack``-ing every attribute, flattening and casting: five
copies of every vertex, paid for every primitive of every sample (most of it on the hair
ribbons and the segmentation soups; packing once saved ~17 ms of render CPU per 256 px fast
sample, measured side by side). A
:func:`primitive` takes float32 attributes as they are and writes them into one interleaved
buffer with the same layout, so pyrender's shaders and draw calls see no difference.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache

import numpy as np

_F32 = 4  # bytes


def primitive(
    pyrender, positions: np.ndarray, indices: np.ndarray | None = None, color_0: np.ndarray | None = None, **attributes
):
    """A ``pyrender.Primitive`` (same arguments) that packs its vertex buffer in one copy.

    ``color_0`` given as (n, 4) float32 RGBA is used as is; anything else goes through
    pyrender's conversion.
    """
    prim = _packed_class(pyrender)(positions=positions, indices=indices, **attributes)
    if color_0 is not None:
        rgba = np.asarray(color_0)
        if rgba.dtype == np.float32 and rgba.ndim == 2 and rgba.shape == (len(prim.positions), 4):
            prim._color_0 = np.ascontiguousarray(rgba)  # what pyrender's setter would store
            prim._is_transparent = None
        else:
            prim.color_0 = rgba
    return prim


@lru_cache(maxsize=None)
def _packed_class(pyrender):
    from OpenGL import GL

    class PackedPrimitive(pyrender.Primitive):
        """pyrender.Primitive with a one-copy ``_add_to_context`` (same buffer layout)."""

        def _add_to_context(self):
            if self._vaid is not None:
                raise ValueError("Mesh is already bound to a context")
            self._vaid = GL.glGenVertexArrays(1)
            GL.glBindVertexArray(self._vaid)

            # attribute order and slots as pyrender's defines number them: position, normal,
            # tangent, uv0, uv1, colour, joints, weights (pyrender itself never uploads the last
            # two; our lash shader reads weights_0)
            attributes = (
                self.positions,
                self.normals,
                self.tangents,
                self.texcoord_0,
                self.texcoord_1,
                self.color_0,
                self.joints_0,
                self.weights_0,
            )
            parts = [np.asarray(a, np.float32) for a in attributes if a is not None]
            sizes = [a.shape[1] for a in parts]
            data = np.empty((len(self.positions), sum(sizes)), np.float32)
            offset = 0
            for a, size in zip(parts, sizes):
                data[:, offset : offset + size] = a
                offset += size
            vertex_buffer = GL.glGenBuffers(1)
            self._buffers.append(vertex_buffer)
            GL.glBindBuffer(GL.GL_ARRAY_BUFFER, vertex_buffer)
            GL.glBufferData(GL.GL_ARRAY_BUFFER, data.nbytes, data, GL.GL_STATIC_DRAW)
            offset = 0
            for i, size in enumerate(sizes):
                GL.glVertexAttribPointer(
                    i, size, GL.GL_FLOAT, GL.GL_FALSE, _F32 * data.shape[1], ctypes.c_void_p(_F32 * offset)
                )
                GL.glEnableVertexAttribArray(i)
                offset += size

            # one model matrix per instance, as pyrender lays it out
            poses = np.eye(4)[None] if self.poses is None else self.poses
            pose_data = np.ascontiguousarray(np.transpose(poses, (0, 2, 1)), np.float32)
            model_buffer = GL.glGenBuffers(1)
            self._buffers.append(model_buffer)
            GL.glBindBuffer(GL.GL_ARRAY_BUFFER, model_buffer)
            GL.glBufferData(GL.GL_ARRAY_BUFFER, pose_data.nbytes, pose_data, GL.GL_STATIC_DRAW)
            for i in range(4):
                slot = i + len(sizes)
                GL.glEnableVertexAttribArray(slot)
                GL.glVertexAttribPointer(slot, 4, GL.GL_FLOAT, GL.GL_FALSE, _F32 * 16, ctypes.c_void_p(_F32 * 4 * i))
                GL.glVertexAttribDivisor(slot, 1)

            if self.indices is not None:
                index_data = np.ascontiguousarray(self.indices, np.uint32)
                element_buffer = GL.glGenBuffers(1)
                self._buffers.append(element_buffer)
                GL.glBindBuffer(GL.GL_ELEMENT_ARRAY_BUFFER, element_buffer)
                GL.glBufferData(GL.GL_ELEMENT_ARRAY_BUFFER, index_data.nbytes, index_data, GL.GL_STATIC_DRAW)
            GL.glBindVertexArray(0)

    return PackedPrimitive
