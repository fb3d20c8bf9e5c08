"""The photoreal back-end: a Scene path-traced by Blender Cycles (bpy)."""
