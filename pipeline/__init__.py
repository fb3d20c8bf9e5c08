"""Head model, compositor, renderers, labels and writers.

Importing this package has no side effects; heavy back-ends (pyrender, bpy)
are imported only by the modules that drive them.
"""
