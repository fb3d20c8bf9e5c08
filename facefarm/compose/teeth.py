"""Teeth for one sample: the template's two tooth bands, subdivided and painted as separate
teeth set in gums.

The template head's teeth (``teeth_upper``, ``teeth_lower``) are two smooth arch-shaped bands of
68 vertices each: drawn as they are, an open mouth showed one grey, metallic-looking strip (a
per-vertex highlight spread over triangles 5-8 mm wide) with no teeth in it. This module splits
each band's triangles (midpoint subdivision, :data:`LEVELS` times: edges under a millimetre) and
gives every vertex an albedo from where it sits on the band in the head's rest shape (so the
pattern rides along with the jaw):

* along the arch, the tooth it belongs to: mesio-distal crown widths from the midline
  (central incisor to third molar), and its distance to the nearest neighbour, which darkens
  as an interproximal gap that widens toward the biting edge (the embrasure);
* up the band from the biting edge, the enamel (translucent and greyer at the edge of the
  incisors, yellower toward the neck) up to the gum line, scalloped: highest over each
  crown's middle, lower between teeth (the papillae), then gum.

Crown sizes are the means of Wheeler's Dental Anatomy tables (Nelson, 10th ed., 2015), scaled
so that central incisor to second molar spans the band's arch. Tooth shade: a little more
yellow and darker with age. The albedos are linear RGB, for the teeth material's white base
colour (:func:`facefarm.compose.skin.material_for`).
"""

from __future__ import annotations

import numpy as np

from facefarm.geometry import triangles

#: Midpoint subdivisions of the template's tooth bands (each splits every triangle in four).
LEVELS = 3
#: Mesio-distal crown width and crown height, millimetres, central incisor to third molar.
UPPER_WIDTH_MM = np.array([8.5, 6.5, 7.5, 7.0, 6.5, 10.0, 9.0, 8.5])
UPPER_CROWN_MM = np.array([10.5, 9.0, 10.0, 8.5, 8.5, 7.5, 7.0, 6.5])
LOWER_WIDTH_MM = np.array([5.0, 5.5, 7.0, 7.0, 7.0, 11.0, 10.5, 10.0])
LOWER_CROWN_MM = np.array([9.0, 9.5, 11.0, 8.5, 8.0, 7.5, 7.0, 7.0])
#: Teeth whose widths span the band's arch on each side (central incisor to second molar).
ARCH_TEETH = 7
#: Linear albedos: enamel body (young adult), its translucent edge, the gums.
ENAMEL = np.array([0.78, 0.70, 0.55])
EDGE = np.array([0.50, 0.52, 0.53])
GUM = np.array([0.55, 0.17, 0.16])
#: Width of the dark line between two teeth at mid-crown, and at the biting edge, millimetres.
GAP_MM, EMBRASURE_MM = 0.25, 0.9
#: How far the gum comes down between two teeth (the papilla), millimetres.
PAPILLA_MM = 3.0


def subdivide(vertices: np.ndarray, faces: np.ndarray, rest: np.ndarray, levels: int = LEVELS):
    """Split every triangle of a tooth band in four, ``levels`` times.

    vertices, rest : (n, 3) float, metres, head frame (posed, and the rest shape); faces : (f, 3)
    int. Returns (vertices (m, 3), faces (f * 4**levels, 3), rest (m, 3), normals (m, 3)): face
    ``i`` becomes faces ``i * 4**levels`` to ``(i + 1) * 4**levels - 1``; the normals are the
    band's smooth vertex normals carried to the new vertices (the new triangles lie in the old
    flat ones: their own normals would show the band's facets).
    """
    v, f, attrs = triangles.subdivide(
        vertices, faces, {"rest": rest, "normal": triangles.vertex_normals(vertices, faces)}, levels
    )
    n = attrs["normal"]
    return v, f, attrs["rest"], n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def _arc_length(x: np.ndarray, curvature: float) -> np.ndarray:
    """Length along the parabola z = a - curvature * x**2 from its apex to |x| (metres)."""
    ax = np.abs(x)
    c = max(curvature, 1e-9)
    q = 2.0 * c * ax
    return 0.5 * ax * np.sqrt(1.0 + q * q) + np.arcsinh(q) / (4.0 * c)


def _edge_height(s: np.ndarray, y: np.ndarray, upper: bool, bin_m: float = 0.002) -> np.ndarray:
    """(n,) height of the biting edge under each vertex: the band's lowest (upper teeth) or
    highest (lower teeth) y among vertices within ``bin_m`` along the arch."""
    k = np.floor(s / bin_m).astype(np.int64)
    k -= k.min()
    edge = np.full(k.max() + 1, np.inf if upper else -np.inf)
    (np.minimum if upper else np.maximum).at(edge, k, y)
    return edge[k]


def tooth_albedo(rest: np.ndarray, upper: bool, age_years: float) -> np.ndarray:
    """(n, 3) float32 linear albedo of the tooth band vertices at ``rest`` ((n, 3) metres, head
    frame: +x the subject's left, +y up, +z out of the face) of the upper or lower teeth."""
    p = np.asarray(rest, np.float64)
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    # the arch: z = a - b x^2 through the band (least squares), lengths along it from the midline
    b = -np.linalg.lstsq(np.column_stack([np.ones_like(x), x * x]), z, rcond=None)[0][1]
    s = _arc_length(x, b)
    widths, crowns = (UPPER_WIDTH_MM, UPPER_CROWN_MM) if upper else (LOWER_WIDTH_MM, LOWER_CROWN_MM)
    scale = float(s.max()) * 1000.0 / widths[:ARCH_TEETH].sum()  # band millimetres per real one
    s_mm = s * 1000.0 / scale
    bounds = np.concatenate([[0.0], np.cumsum(widths)])
    tooth = np.clip(np.searchsorted(bounds, s_mm, side="right") - 1, 0, len(widths) - 1)
    u = np.clip((s_mm - bounds[tooth]) / widths[tooth], 0.0, 1.0)  # 0 at the mesial side
    to_gap = np.minimum(u, 1.0 - u) * widths[tooth]
    # height above the biting edge, real millimetres
    h = (y - _edge_height(s, y, upper)) * (1000.0 / scale)
    h = h if upper else -h
    crown = crowns[tooth]
    gum_line = crown - PAPILLA_MM * (2.0 * np.abs(u - 0.5)) ** 2
    # enamel: translucent toward the incisors' edge, yellower toward the neck
    along = np.clip(h / crown, 0.0, 1.0)[:, None]
    edge = np.clip(1.0 - h / 1.2, 0.0, 1.0)[:, None] * (tooth < 3)[:, None] * 0.6
    ageing = np.clip((age_years - 20.0) / 60.0, 0.0, 1.0)
    enamel = ENAMEL * np.array([1.0, 1.0 - 0.05 * ageing, 1.0 - 0.14 * ageing]) * (1.0 - 0.08 * ageing)
    colour = enamel * (1.0 - 0.10 * along * np.array([0.0, 0.4, 1.0]))
    colour = colour * (1.0 - edge) + EDGE * edge
    # the gap between neighbours, wider toward the biting edge
    width = GAP_MM + (EMBRASURE_MM - GAP_MM) * np.clip(1.0 - h / 2.0, 0.0, 1.0)
    colour *= (1.0 - 0.7 * np.exp(-((to_gap / width) ** 2)))[:, None]
    # gum above the scalloped line
    gum = np.clip((h - gum_line) / 0.6 + 0.5, 0.0, 1.0)[:, None]
    colour = colour * (1.0 - gum) + GUM * gum
    return colour.astype(np.float32)
