"""Render-quality eyeballs driven by MakeHuman's low-poly helper eyes.

HM08's ``helper-*-eye`` spheres have 72 vertices, too coarse to render an iris. Every target
moves a helper eye (almost exactly) rigidly with uniform scale, so the compiler swaps each
for a finer UV sphere placed by the similarity transform that best maps the neutral helper
onto the current one (Umeyama 1991).
"""

from __future__ import annotations

import numpy as np


def similarity(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares ``dst ~ s * R @ src + t`` for (n, 3) point sets; returns (s, R (3, 3), t (3,))."""
    cs, cd = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - cs, dst - cd
    u, sig, vt = np.linalg.svd(b.T @ a)
    d = np.ones(3)
    d[2] = np.sign(np.linalg.det(u @ vt)) or 1.0
    rot = (u * d) @ vt
    scale = float((sig * d).sum() / max((a * a).sum(), 1e-30))
    return scale, rot, cd - scale * rot @ cs


def uv_sphere(rings: int, segments: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A unit sphere whose vertex 0 is the front pole (+z, the gaze axis).

    Returns vertices (n, 3) float64, quads (f, 4) int64 (pole triangles repeat their last
    index, outward-facing counter-clockwise) and per-corner UVs (f, 4, 2): an azimuthal
    equidistant map around the gaze axis, so the distance from (0.5, 0.5) is
    polar angle / (2 pi) -- an iris of half-angle a is the disc of radius a / (2 pi).
    """
    theta = np.linspace(0.0, np.pi, rings + 1)[1:-1]  # polar angle from the front pole
    phi = np.linspace(0.0, 2.0 * np.pi, segments, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    ring = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], axis=-1).reshape(-1, 3)
    verts = np.concatenate([[[0.0, 0.0, 1.0]], ring, [[0.0, 0.0, -1.0]]])
    back = len(verts) - 1

    def vid(r: int, s: int) -> int:
        return 1 + r * segments + (s % segments)

    def uv(th: float, ph: float) -> list[float]:
        rad = th / (2.0 * np.pi)
        return [0.5 + rad * np.cos(ph), 0.5 + rad * np.sin(ph)]

    quads, uvs = [], []
    for s in range(segments):
        p0, p1 = phi[s], phi[s] + 2.0 * np.pi / segments
        pm = 0.5 * (p0 + p1)
        # counter-clockwise seen from outside: with +z towards the viewer, phi increases
        # counter-clockwise, so go pole -> (ring 0, s) -> (ring 0, s+1)
        quads.append([0, vid(0, s), vid(0, s + 1), vid(0, s + 1)])
        uvs.append([uv(0.0, pm), uv(theta[0], p0), uv(theta[0], p1), uv(theta[0], p1)])
        for r in range(rings - 2):
            quads.append([vid(r, s), vid(r + 1, s), vid(r + 1, s + 1), vid(r, s + 1)])
            uvs.append([uv(theta[r], p0), uv(theta[r + 1], p0), uv(theta[r + 1], p1), uv(theta[r], p1)])
        last = rings - 2
        quads.append([vid(last, s), back, vid(last, s + 1), vid(last, s + 1)])
        uvs.append([uv(theta[last], p0), uv(np.pi, pm), uv(theta[last], p1), uv(theta[last], p1)])
    return verts, np.array(quads, np.int64), np.array(uvs)


def fit_sphere(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares sphere through (n, 3) points: (centre (3,), radius)."""
    a = np.c_[2.0 * points, np.ones(len(points))]
    b = (points**2).sum(axis=1)
    sol, *_ = np.linalg.lstsq(a, b, rcond=None)
    centre = sol[:3]
    return centre, float(np.sqrt(sol[3] + centre @ centre))
