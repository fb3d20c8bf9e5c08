"""The render surface: the subdivided head, cut along smooth class boundaries and a smooth crop.

Both back-ends render this one surface and the labels are computed on it, so it is built once,
at compile time, as fixed sparse operators over the coarse (MakeHuman) vertices:

* ``S`` — Catmull-Clark levels (:mod:`head_subdivision`) over the selected parts;
* ``W`` — the cut: every fine triangle of the skin is split along the zero sets of smooth
  per-vertex fields (class regions, crop), so class boundaries and the lower edge of the
  body follow smooth curves instead of the quads' staircase. New vertices lie on fine
  triangles (on an edge, or inside at a triple junction), so the cut leaves the surface
  itself unchanged;
* render vertices = ``W @ S @ coarse`` for any identity and expression.

Class fields: each coarse skin vertex gets the share of each label among its quads (optionally
averaged over one-rings ``smooth_iterations`` times; subdividing already smooths them), the
shares are subdivided with ``S``, and each fine triangle is split into the convex pieces where
one label's (linearly interpolated) share beats all others. Labels are the segmentation classes
plus :data:`SCALP` (skin where a hair cap may be painted).

Level 0 (no subdivision) is the coarse mesh with the same cuts: smooth boundaries for a few
percent more triangles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from facefarm.head.subdivision import Level, catmull_clark, corner_uv, locate, quad_point_to_triangle, triangulate
from facefarm.scene.classes import CLASS_IDS

#: Label of skin inside the hair-cap region (not a class id: it renders as SKIN, or HAIR under a cap).
SCALP = 256


@dataclass(frozen=True)
class CutSurface:
    """One compiled render surface (the runtime view is :class:`~facefarm.head.model.RenderSurface`).

    S : (V_fine, V) float64 CSR, all subdivision levels composed · W : (V_render, V_fine)
    float64 CSR, the cut · faces : (F, 3) int32 render vertex ids, counter-clockwise from
    outside · face_part : (F,) uint8 · face_label : (F,) int32 class id or :data:`SCALP` ·
    vertex_label : (V_render,) int32 · fine_faces : (T, 3) int64 fine triangles before the cut ·
    face_fine : (F,) int64 the fine triangle each render face lies in · levels : the
    subdivision steps (for locating points) · fine_tri_quad : (T,) the final quad of each fine
    triangle · fine_crop : (V_fine,) the crop field (kept where >= 0).
    """

    S: sp.csr_matrix
    W: sp.csr_matrix
    faces: np.ndarray
    face_part: np.ndarray
    face_label: np.ndarray
    vertex_label: np.ndarray
    fine_faces: np.ndarray
    face_fine: np.ndarray
    levels: tuple[Level, ...]
    fine_tri_quad: np.ndarray
    fine_crop: np.ndarray


# ----------------------------------------------------------------------------- fields
def quad_adjacency(quads: np.ndarray, n: int) -> sp.csr_matrix:
    """(n, n) 0/1 symmetric adjacency along quad sides (not diagonals)."""
    a = quads.ravel()
    b = np.roll(quads, -1, axis=1).ravel()
    m = sp.csr_matrix((np.ones(2 * len(a)), (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n))
    m.data[:] = 1.0
    return m


def label_shares(quads: np.ndarray, quad_label: np.ndarray, n: int, labels: np.ndarray, iterations: int) -> np.ndarray:
    """(n, L) share of each of ``labels`` among the quads around each vertex, then averaged over
    one-rings ``iterations`` times. Rows of vertices outside ``quads`` are zero; others sum to 1."""
    col = np.searchsorted(labels, quad_label)
    inc = sp.csr_matrix((np.ones(quads.size), (quads.ravel(), np.repeat(col, 4))), shape=(n, len(labels)))
    cnt = np.asarray(inc.sum(axis=1)).ravel()
    shares = inc.toarray() / np.maximum(cnt, 1)[:, None]
    if iterations:
        adj = quad_adjacency(quads, n) + sp.diags((cnt > 0).astype(float))
        deg = np.asarray(adj.sum(axis=1)).ravel()
        avg = sp.diags(1.0 / np.maximum(deg, 1)) @ adj
        for _ in range(iterations):
            shares = avg @ shares
    return shares


# ----------------------------------------------------------------------------- the cut
class _Cutter:
    """Splits triangles into convex pieces by linear fields, welding new vertices by what defines them.

    A new vertex on a triangle edge is named by the edge and the field that vanishes there, so
    the two triangles sharing the edge create the same vertex; a vertex inside a triangle
    (where three labels meet) by the triangle and its two vanishing fields.
    """

    def __init__(self, n_fine: int):
        self.n_fine = n_fine
        self.keys: dict[tuple, int] = {}
        self.rows: list[tuple[tuple[int, ...], tuple[float, ...]]] = []

    def vertex(self, key: tuple, ids: tuple[int, ...], weights: tuple[float, ...]) -> int:
        got = self.keys.get(key)
        if got is None:
            got = self.n_fine + len(self.rows)
            self.keys[key] = got
            self.rows.append((ids, weights))
        return got


def _clip(poly: list, h: np.ndarray, cid: tuple, tri: np.ndarray, t: int, cutter: _Cutter, fields: dict) -> list:
    """Clip a convex polygon (in barycentric coordinates of triangle ``tri``) to ``h . w >= 0``.

    Polygon vertices are (w (3,), edges frozenset of triangle sides it lies on, constraints
    frozenset, id). ``fields[cid]`` gives the corner values of a constraint for canonical placement.
    """
    out = []
    m = len(poly)
    for i in range(m):
        p, q = poly[i], poly[(i + 1) % m]
        hp, hq = float(p[0] @ h), float(q[0] @ h)
        if hp >= 0:
            out.append(p)
        if (hp >= 0) != (hq >= 0):
            edges = p[1] & q[1]
            cons = (p[2] & q[2]) | {cid}
            if edges:
                (e,) = edges
                a, b = tri[e], tri[(e + 1) % 3]
                lo, hi = (a, b) if a < b else (b, a)
                hv = fields[cid]
                flo, fhi = hv[(e if lo == a else (e + 1) % 3)], hv[((e + 1) % 3 if lo == a else e)]
                s = flo / (flo - fhi)
                w = np.zeros(3)
                w[list(tri).index(lo)] = 1 - s
                w[list(tri).index(hi)] = s
                vid = cutter.vertex(("e", int(lo), int(hi), cid), (int(lo), int(hi)), (1 - s, s))
            else:
                w = p[0] + hp / (hp - hq) * (q[0] - p[0])
                if len(cons) == 2:
                    c1, c2 = sorted(cons)
                    A = np.stack([fields[c1], fields[c2], np.ones(3)])
                    if abs(np.linalg.det(A)) > 1e-14:
                        w = np.linalg.solve(A, np.array([0.0, 0.0, 1.0]))
                vid = cutter.vertex(
                    ("i", t) + tuple(sorted(cons)), tuple(int(x) for x in tri), tuple(float(x) for x in w)
                )
            out.append((w, edges, frozenset(cons), vid))
    return out


def _fan(ids: list[int], w: list[np.ndarray]) -> list[tuple[int, int, int]]:
    """Triangles of a convex polygon, fanned from the vertex that leaves no sliver of zero area."""
    k = len(ids)
    best, best_area = 0, -1.0
    for a in range(k):
        areas = [abs(np.linalg.det(np.stack([w[a], w[(a + i) % k], w[(a + i + 1) % k]]))) for i in range(1, k - 1)]
        if min(areas) > best_area:
            best, best_area = a, min(areas)
    return [(ids[best], ids[(best + i) % k], ids[(best + i + 1) % k]) for i in range(1, k - 1)]


def cut(
    tris: np.ndarray,
    shares: np.ndarray,
    labels: np.ndarray,
    bias: np.ndarray,
    crop: np.ndarray | None,
    positions: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, sp.csr_matrix]:
    """Split triangles where the winning label changes or the crop field crosses zero.

    tris : (T, 3) fine vertex ids · shares : (V_fine, L) label fields · labels : (L,) label ids ·
    bias : (L,) tiny tie-breakers (symmetric under left/right) · crop : (V_fine,) keep where >= 0,
    or None · positions : (V_fine, 3) the fine base mesh, for welding. Returns ((F, 3) faces
    over fine ids then new ids, (F,) labels, (F,) source triangle, W (n_fine + new, n_fine):
    identity rows, then the new vertices' barycentric weights).
    """
    score = shares + bias[None, :]
    win = score.argmax(axis=1)
    tw = win[tris]
    uniform = (tw[:, 0] == tw[:, 1]) & (tw[:, 1] == tw[:, 2])
    if crop is not None:
        inside = crop[tris] >= 0
        keep_all, drop_all = inside.all(axis=1), ~inside.any(axis=1)
    else:
        keep_all, drop_all = np.ones(len(tris), bool), np.zeros(len(tris), bool)
    simple = uniform & keep_all
    faces = [tris[simple]]
    flabel = [labels[tw[simple, 0]]]
    src = [np.flatnonzero(simple)]
    n_fine = len(positions)
    cutter = _Cutter(n_fine)
    new_f, new_l, new_s = [], [], []
    corner_edges = (frozenset({0, 2}), frozenset({0, 1}), frozenset({1, 2}))
    for t in np.flatnonzero(~simple & ~drop_all):
        tri = tris[t]
        sc = score[tri]  # (3, L)
        cand = np.flatnonzero((shares[tri] > 0).any(axis=0))
        if uniform[t]:
            cand = tw[t, :1]
        fields: dict[tuple, np.ndarray] = {}
        if crop is not None and not keep_all[t]:
            fields[("crop",)] = crop[tri]
        for p in cand:
            poly: list[tuple] = [(np.eye(3)[i], corner_edges[i], frozenset(), int(tri[i])) for i in range(3)]
            for q in cand:
                if q == p:
                    continue
                cid = ("pair", int(min(p, q)), int(max(p, q)))
                lo, hi = cid[1], cid[2]
                fields[cid] = sc[:, lo] - sc[:, hi]
                h = fields[cid] if p == lo else -fields[cid]
                poly = _clip(poly, h, cid, tri, t, cutter, fields)
                if len(poly) < 3:
                    break
            if len(poly) >= 3 and ("crop",) in fields:
                poly = _clip(poly, fields[("crop",)], ("crop",), tri, t, cutter, fields)
            ids: list[int] = []
            ws: list[np.ndarray] = []
            for corner in poly:
                if not ids or corner[3] != ids[-1]:
                    ids.append(corner[3])
                    ws.append(corner[0])
            while len(ids) > 1 and ids[0] == ids[-1]:
                ids.pop()
                ws.pop()
            if len(ids) < 3:
                continue
            for f in _fan(ids, ws):
                new_f.append(f)
                new_l.append(labels[p])
                new_s.append(t)
    if new_f:
        faces.append(np.asarray(new_f, np.int64))
        flabel.append(np.asarray(new_l))
        src.append(np.asarray(new_s, np.int64))
    n_new = len(cutter.rows)
    r = np.concatenate([np.arange(n_fine)] + [np.full(len(row), n_fine + i) for i, (row, _) in enumerate(cutter.rows)])
    c = np.concatenate([np.arange(n_fine)] + [np.asarray(row, np.int64) for row, _ in cutter.rows])
    vals = np.concatenate([np.ones(n_fine)] + [np.asarray(w, np.float64) for _, w in cutter.rows])
    W = sp.csr_matrix((vals, (r, c)), shape=(n_fine + n_new, n_fine))
    W.eliminate_zeros()
    welded, keep = _weld(np.concatenate(faces), W @ positions, n_fine)
    return welded, np.concatenate(flabel).astype(np.int32)[keep], np.concatenate(src)[keep], W


def _weld(faces: np.ndarray, positions: np.ndarray, n_fine: int, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Merge new vertices that coincide with another vertex (a triple junction exactly on an edge,
    a cut through a corner), so the surface has no seams; drops triangles that collapse.

    Such points lie on one fine triangle (or its edge), where the cut is affine: points that
    coincide on the base mesh coincide on every deformation of it, so merging them is exact.
    Returns (faces, (F,) bool which input faces remain).
    """
    from scipy.sparse.csgraph import connected_components

    pairs = cKDTree(positions).query_pairs(tol, output_type="ndarray")
    pairs = pairs[(pairs >= n_fine).any(axis=1)]  # original fine vertices are distinct already
    n = len(positions)
    g = sp.csr_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, comp = connected_components(g, directed=False)
    first = np.full(comp.max() + 1, n, np.int64)
    np.minimum.at(first, comp, np.arange(n))
    f = first[comp][faces]
    keep = (f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 2] != f[:, 0])
    return f[keep], keep


# ----------------------------------------------------------------------------- assembly
def build_surface(
    *,
    vertices: np.ndarray,
    quads: np.ndarray,
    quad_part: np.ndarray,
    quad_class: np.ndarray,
    mirror: np.ndarray,
    subdivide_parts: list[int],
    skin_part: int,
    scalp: np.ndarray,
    levels: int,
    smooth_iterations: int,
    crop,
) -> CutSurface:
    """Subdivide, then cut the skin along its smooth class and crop boundaries.

    vertices : (V, 3) base mesh (the frame ``crop`` expects) · quads : (Q, 4) · quad_part,
    quad_class : (Q,) · mirror : (V,) · subdivide_parts : part ids to subdivide · skin_part : the
    part whose classes are cut · scalp : vertex ids of the hair-cap region · crop : callable
    (k, 3) -> (k,) keep where >= 0, or None.
    """
    n = len(vertices)
    quads = np.asarray(quads, np.int64)
    skin_q = quad_part == skin_part
    # ---- label fields on the coarse skin
    in_scalp = np.zeros(n, bool)
    in_scalp[scalp] = True
    qlabel = quad_class.astype(np.int32).copy()
    qlabel[skin_q & in_scalp[quads].all(axis=1) & (quad_class == CLASS_IDS["SKIN"])] = SCALP
    labels = np.unique(qlabel[skin_q])
    shares = label_shares(quads[skin_q], qlabel[skin_q], n, labels, smooth_iterations)

    # ---- subdivision
    lv, S = [], sp.identity(n, format="csr")
    cur_quads, cur_mirror = quads, np.asarray(mirror, np.int64)
    part = quad_part.astype(np.int64)
    select = np.isin(part, subdivide_parts)
    for _ in range(levels):
        level = catmull_clark(cur_quads, S.shape[0], select, cur_mirror)
        lv.append(level)
        S = (level.S @ S).tocsr()
        part = part[level.parent]
        cur_quads, cur_mirror = level.quads, level.mirror
        select = np.isin(part, subdivide_parts)
    # fine triangles of the parts that are not cut keep the class of their coarse quad
    anc = np.arange(len(quads))
    for level in lv:
        anc = anc[level.parent]
    sel_final = lv[-1].selected if lv else np.zeros(len(cur_quads), bool)
    tris, tri_quad = triangulate(cur_quads, sel_final)
    tri_part = part[tri_quad]
    tri_class = quad_class[anc[tri_quad]].astype(np.int32)
    n_fine = S.shape[0]
    fine_shares = S @ shares
    fine_pos = S @ np.asarray(vertices, np.float64)
    crop_val = np.asarray(crop(fine_pos), np.float64) if crop is not None else np.ones(n_fine)

    # ---- the cut (skin only)
    is_skin = tri_part == skin_part
    bias = 1e-9 * _symmetric_rank(labels)
    sf, sl, ss, W = cut(tris[is_skin], fine_shares, labels, bias, crop_val if crop is not None else None, fine_pos)
    skin_idx = np.flatnonzero(is_skin)
    other = np.flatnonzero(~is_skin)
    faces = np.concatenate([tris[other], sf])
    face_label = np.concatenate([tri_class[other], sl])
    face_fine = np.concatenate([other, skin_idx[ss]])
    order = np.argsort(face_fine, kind="stable")  # render faces in the order of the fine triangles
    faces, face_label, face_fine = faces[order], face_label[order], face_fine[order]

    # ---- drop vertices no render face uses; number the rest densely
    used = np.unique(faces)
    remap = np.full(W.shape[0], -1, np.int64)
    remap[used] = np.arange(len(used))
    W = W[used]
    faces = remap[faces]
    score = W @ (fine_shares + bias[None, :])
    vlabel = labels[score.argmax(axis=1)].astype(np.int32)
    vertex_part = np.zeros(W.shape[0], np.int64)
    vertex_part[faces.ravel()] = np.repeat(tri_part[face_fine], 3)
    not_skin = vertex_part != skin_part
    fine_class = np.zeros(n_fine, np.int32)
    fine_class[tris.ravel()] = np.repeat(tri_class, 3)
    vlabel[not_skin] = (W[not_skin] @ fine_class.astype(float)).round().astype(np.int32)
    return CutSurface(
        S=S,
        W=W.tocsr(),
        faces=faces.astype(np.int32),
        face_part=tri_part[face_fine].astype(np.uint8),
        face_label=face_label,
        vertex_label=vlabel,
        fine_faces=tris,
        face_fine=face_fine,
        levels=tuple(lv),
        fine_tri_quad=tri_quad,
        fine_crop=crop_val,
    )


def _symmetric_rank(labels: np.ndarray) -> np.ndarray:
    """(L,) tie-break order that favours specific classes over plain skin and treats left and right alike."""
    out = np.zeros(len(labels))
    for i, lab in enumerate(labels):
        if lab == CLASS_IDS["SKIN"]:
            out[i] = 0.0
        elif lab == SCALP:
            out[i] = 0.5
        else:
            name = next((k for k, v in CLASS_IDS.items() if v == lab), "")
            out[i] = 1.0 + sorted({k.replace("LEFT_", "").replace("RIGHT_", "") for k in CLASS_IDS}).index(
                name.replace("LEFT_", "").replace("RIGHT_", "")
            )
    return out


# ----------------------------------------------------------------------------- points on the surface
def surface_points(
    surface: CutSurface, quads: np.ndarray, index: np.ndarray, weight: np.ndarray, candidates: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Re-express barycentric points of the coarse mesh on the fine surface at the same parameter.

    index, weight : (k, 3) coarse vertex ids and weights, all within one of the ``candidates``
    quads. Returns ((k, 3) fine vertex ids, (k, 3) weights): points on a fine triangle, which the
    cut only splits, so they lie on the rendered surface.
    """
    quads = np.asarray(quads, np.int64)
    cq = quads[candidates]
    out_i, out_w = [], []
    for ids, w in zip(np.asarray(index), np.asarray(weight, np.float64)):
        used = ids[w > 1e-9]
        hit = np.flatnonzero(np.isin(cq, used).sum(axis=1) == len(set(used.tolist())))
        if len(hit) == 0:
            raise ValueError(f"point on vertices {ids.tolist()} is not within one quad")
        q = candidates[hit[0]]
        corner = np.array([int(np.flatnonzero(quads[q] == i)[0]) if x > 1e-9 else 0 for i, x in zip(ids, w)])
        uv = (w[:, None] * corner_uv(corner)).sum(axis=0) / w.sum()
        fq, fuv = np.array([q]), uv[None, :]
        for level in surface.levels:
            fq, fuv = locate(level, fq, fuv)
        sel = surface.levels[-1].selected[fq] if surface.levels else np.zeros(1, bool)
        which, bary = quad_point_to_triangle(fuv, sel)
        tri = np.flatnonzero(surface.fine_tri_quad == fq[0])[which[0]]
        out_i.append(surface.fine_faces[tri])
        out_w.append(bary[0])
    return np.asarray(out_i, np.int64), np.asarray(out_w, np.float64)


# ----------------------------------------------------------------------------- asset arrays
def crop_field(config: dict | None):
    """The crop as a field over base-mesh positions in metres (keep where >= 0), or None.

    ``config`` (decimetres, like the rest of ``regions.json``): keep where
    ``y >= min_y + rise * (|x| / half_width) ** power`` — a level cut across the chest that
    curves up over the shoulders.
    """
    if not config:
        return None
    y0, rise, hw, pw = (float(config[k]) for k in ("min_y", "rise", "half_width", "power"))

    def field(p: np.ndarray) -> np.ndarray:
        d = np.asarray(p, np.float64) * 10.0  # metres -> the base mesh's decimetres
        return d[:, 1] - (y0 + rise * (np.abs(d[:, 0]) / hw) ** pw)

    return field


def _store_csr(out: dict, key: str, m: sp.csr_matrix) -> None:
    m = m.tocsr()
    m.sort_indices()
    out[f"{key}_indptr"] = m.indptr.astype(np.int32)
    out[f"{key}_indices"] = m.indices.astype(np.int32)
    out[f"{key}_data"] = m.data.astype(np.float64)


def render_arrays(
    arrays: dict[str, np.ndarray], part_names: tuple[str, ...], config: dict
) -> tuple[dict[str, np.ndarray], list[dict]]:
    """The render-surface arrays of the head asset, one set per level of detail.

    From the asset's coarse arrays and ``regions.json``'s ``render_surface`` section; keys are
    ``surface{level}_*`` (see :class:`facefarm.head.model.RenderSurface`). Returns
    (arrays, per-level metadata: level, median skin edge length in metres, counts).
    """
    skin = part_names.index("skin")
    skin_quads = np.flatnonzero(arrays["quad_part"] == skin)
    crop = crop_field(config.get("crop"))
    out: dict[str, np.ndarray] = {}
    info = []
    for level in config["levels"]:
        surf = build_surface(
            vertices=arrays["vertices"].astype(np.float64),
            quads=arrays["quads"],
            quad_part=arrays["quad_part"],
            quad_class=arrays["quad_class"],
            mirror=arrays["mirror"],
            subdivide_parts=[part_names.index(p) for p in config["subdivide_parts"]],
            skin_part=skin,
            scalp=arrays["scalp"],
            levels=int(level),
            smooth_iterations=int(config["smooth_iterations"]),
            crop=crop,
        )
        k = f"surface{level}_"
        _store_csr(out, k + "subdivision", surf.S)
        _store_csr(out, k + "cut", surf.W)
        out[k + "faces"] = surf.faces
        out[k + "face_part"] = surf.face_part
        out[k + "face_class"] = np.where(surf.face_label == SCALP, CLASS_IDS["SKIN"], surf.face_label).astype(np.uint8)
        out[k + "face_scalp"] = surf.face_label == SCALP
        out[k + "vertex_class"] = np.where(surf.vertex_label == SCALP, CLASS_IDS["SKIN"], surf.vertex_label).astype(
            np.uint8
        )
        out[k + "mirror"] = (surf.levels[-1].mirror if surf.levels else arrays["mirror"]).astype(np.int32)
        fine_pos = surf.S @ arrays["vertices"].astype(np.float64)
        for key in ("landmark", "dense"):
            if f"{key}_index" not in arrays:
                continue
            idx, w = arrays[f"{key}_index"].astype(np.int64), arrays[f"{key}_weight"].astype(np.float64)
            on_skin = (arrays["vertex_part"][idx] == skin).all(axis=1)
            fi, fw = idx.copy(), w.copy()  # pupils (eyeball poles) are not subdivided: same ids
            if on_skin.any():
                fi[on_skin], fw[on_skin] = surface_points(surf, arrays["quads"], idx[on_skin], w[on_skin], skin_quads)
            if crop is not None and (crop(np.einsum("kc,kcd->kd", fw, fine_pos[fi])) < 0).any():
                raise ValueError(f"{key} points fall below the crop in regions.json render_surface")
            out[f"{k}{key}_index"] = fi.astype(np.int32)
            out[f"{k}{key}_weight"] = fw
        fq = surf.levels[-1].quads if surf.levels else np.asarray(arrays["quads"], np.int64)
        fpart = arrays["quad_part"][_ancestors(surf, len(arrays["quads"]))]
        sq = fq[fpart == skin]
        edge = np.linalg.norm(fine_pos[sq] - fine_pos[np.roll(sq, -1, axis=1)], axis=2)
        info.append(
            {
                "level": int(level),
                "median_skin_edge_m": round(float(np.median(edge)), 6),
                "faces": int(len(surf.faces)),
                "vertices": int(surf.W.shape[0]),
            }
        )
    return out, info


def _ancestors(surf: CutSurface, n_quads: int) -> np.ndarray:
    """(Q_fine,) the coarse quad each final quad descends from."""
    anc = np.arange(n_quads)
    for level in surf.levels:
        anc = anc[level.parent]
    return anc
