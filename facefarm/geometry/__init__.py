"""Geometry shared by every layer: small-vector arithmetic, triangles, closest points, the camera model, head pose, surface distance."""
