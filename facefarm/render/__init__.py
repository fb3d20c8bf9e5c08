"""Back-ends that turn a Scene into pixels: the fast rasteriser (pyrender) and Blender Cycles."""
