"""A pyrender scene that draws its meshes and binds its lights in the order they were added.

pyrender keeps mesh and light nodes in plain sets, which iterate in the order of the nodes'
memory addresses. That order decides which of two surfaces at the same depth wins a pixel,
and in which order the shader sums the lights, so the same scene rendered in a process that
had rendered other samples before could differ by a few pixels (seen: 7 pixels, up to 35
levels, on one sample of the default catalog). With insertion-ordered node containers a
sample's image is the same on any worker, whatever it rendered before.
"""

from __future__ import annotations

from functools import lru_cache


class _OrderedNodes(dict):
    """The set operations pyrender's Scene uses, iterating in insertion order."""

    def __init__(self, nodes=()):
        super().__init__((n, None) for n in nodes)

    def add(self, node) -> None:
        self[node] = None

    def remove(self, node) -> None:
        del self[node]

    def discard(self, node) -> None:
        self.pop(node, None)

    def __or__(self, other) -> "_OrderedNodes":
        return _OrderedNodes([*self, *other])


def ordered_scene(pyrender, **kwargs):
    """A ``pyrender.Scene(**kwargs)`` whose nodes iterate in the order they were added."""
    return _scene_class(pyrender)(**kwargs)


@lru_cache(maxsize=None)
def _scene_class(pyrender):
    class OrderedScene(pyrender.Scene):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self._mesh_nodes = _OrderedNodes()
            self._point_light_nodes = _OrderedNodes()
            self._spot_light_nodes = _OrderedNodes()
            self._directional_light_nodes = _OrderedNodes()

    return OrderedScene
