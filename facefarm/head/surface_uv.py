"""Texture coordinates on the render surface: MakeHuman's UV layout carried through subdivision and the cut.

The render surface (:class:`~facefarm.head.model.RenderSurface`) is made of fixed operators
over the coarse vertices, but UVs are per quad *corner* (the layout has seams: one coarse
vertex may have two UVs). So UVs are carried face-varying: each fine quad of a Catmull-Clark
level is a quarter of its parent's unit square (:mod:`facefarm.head.subdivision`), whose UVs
are the bilinear interpolation of the parent corners' UVs ("face-varying linear", what
OpenSubdiv and Blender call linear UV interpolation); a render face lies on one fine triangle
(the cut only splits triangles), so its corners' UVs are the fine triangle's corner UVs
carried by the cut's barycentric rows.

:func:`surface_uvs` then gives one UV per render vertex, splitting only the vertices whose
faces disagree about their UV (the layout's seams): positions, faces and their order are
unchanged, new vertices are appended, so every render-vertex id (landmark rows, contour
paths) keeps its meaning and the rasterised labels are the same.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from facefarm import paths
from facefarm.head.subdivision import catmull_clark, corner_uv, triangulate

#: UVs closer than this (in 0..1 texture units) are the same UV: no seam.
_SAME_UV = 1e-5


@dataclass(frozen=True)
class SurfaceUV:
    """UVs of one render surface, seams split.

    uvs : (V_r + k, 2) float32 in 0..1, one per render vertex, then the k seam copies ·
    source : (V_r + k,) int64 the render vertex each row copies (``arange(V_r)`` first) ·
    faces : (F, 3) int32 the surface's faces over these rows (a seam face uses its copies) ·
    corner_uvs : (F, 3, 2) float64 the face-varying UVs before the split · n_render : V_r.
    """

    uvs: np.ndarray
    source: np.ndarray
    faces: np.ndarray
    corner_uvs: np.ndarray
    n_render: int

    def part(self, vidx: np.ndarray, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One part's mesh with UVs: given its render vertex ids ``vidx`` (n,) and face indices ``sel``
        (m,) (:meth:`~facefarm.head.model.RenderSurface.part`), returns ((n + k,) rows of ``uvs``,
        the first n being ``vidx``, then the part's seam copies; (m, 3) int32 faces over those;
        (n + k, 2) float32 UVs). ``source[rows]`` are the render vertices the rows copy."""
        rows = self.faces[sel]
        extra = np.unique(rows[rows >= self.n_render])
        ids = np.concatenate([np.asarray(vidx, np.int64), extra])
        order = np.argsort(ids, kind="stable")
        local = order[np.searchsorted(ids[order], rows)]
        return ids, local.astype(np.int32), self.uvs[ids]


_CACHE: "weakref.WeakKeyDictionary[object, SurfaceUV]" = weakref.WeakKeyDictionary()


def _subdivide_parts() -> list[str]:
    return list(json.loads((paths.ASSETS / "head" / "regions.json").read_text())["render_surface"]["subdivide_parts"])


def fine_corner_uvs(head, level: int) -> tuple[np.ndarray, np.ndarray]:
    """Fine triangles of ``level`` subdivisions and their corner UVs.

    Returns ((T, 3) int64 fine vertex ids, as the render surface's build triangulates them,
    (T, 3, 2) float64 UVs of each corner, bilinear in the coarse quad's corner UVs).
    """
    quads = np.asarray(head.quads, np.int64)
    quad_uv = np.asarray(head.quad_uvs, np.int64)
    uv = np.asarray(head.uvs, np.float64)
    # per quad corner: the coarse quad and the corner's (s, t) in its unit square
    cur_quads = quads
    anc = np.arange(len(quads))
    st = np.broadcast_to(corner_uv(np.arange(4)), (len(quads), 4, 2)).copy()
    part = np.asarray(head.quad_part, np.int64)
    select = np.isin(part, [head.part_names.index(p) for p in _subdivide_parts()])
    selected = np.zeros(len(quads), bool)
    n = head.n_vertices
    for _ in range(level):
        lv = catmull_clark(cur_quads, n, select, np.arange(n))
        parent, corner = lv.parent, lv.corner
        ps = st[parent]  # (Qf, 4, 2) the parent's corners
        i = np.maximum(corner, 0)
        ar = np.arange(len(parent))
        c = ps[ar, i]
        nxt = ps[ar, (i + 1) % 4]
        prv = ps[ar, (i + 3) % 4]
        centre = ps.mean(axis=1)
        child = np.stack([c, 0.5 * (c + nxt), centre, 0.5 * (c + prv)], axis=1)
        st = np.where((corner >= 0)[:, None, None], child, ps)
        anc = anc[parent]
        part = part[parent]
        cur_quads, selected = lv.quads, lv.selected
        select = np.isin(part, [head.part_names.index(p) for p in _subdivide_parts()])
        n = lv.S.shape[0]
    tris, tri_quad = triangulate(cur_quads, selected)
    # which quad corners each triangle uses, as triangulate picks them
    sel = selected[tri_quad]
    first = np.r_[True, tri_quad[1:] != tri_quad[:-1]]
    is_tri = ~sel & (cur_quads[tri_quad, 2] == cur_quads[tri_quad, 3])
    corners = np.where(
        sel[:, None],
        np.where(first[:, None], [0, 1, 3], [1, 2, 3]),
        np.where(first[:, None] | is_tri[:, None], [0, 1, 2], [0, 2, 3]),
    )
    s = st[tri_quad[:, None], corners]  # (T, 3, 2) in the coarse quad's square
    q_uv = uv[quad_uv[anc[tri_quad]]]  # (T, 4, 2) coarse corner UVs
    a, b = s[..., 0:1], s[..., 1:2]
    bil = (
        (1 - a) * (1 - b) * q_uv[:, None, 0]
        + a * (1 - b) * q_uv[:, None, 1]
        + a * b * q_uv[:, None, 2]
        + (1 - a) * b * q_uv[:, None, 3]
    )
    return tris, bil


def surface_uvs(head, surface) -> SurfaceUV:
    """UVs of ``surface`` (a render surface of ``head``), seams split; cached per surface."""
    hit = _CACHE.get(surface)
    if hit is not None:
        return hit
    tris, tri_uv = fine_corner_uvs(head, surface.level)
    n_fine = surface.subdivision.shape[0]
    if int(tris.max()) >= n_fine:
        raise ValueError("the render surface's subdivision does not match regions.json's subdivide_parts")
    cut = surface.cut.tocsr()
    faces = np.asarray(surface.faces, np.int64)
    # a render face lies on the fine triangle that holds the fine vertices its corners are made of
    # (the cut's rows): score every triangle by the weight of the face's corners on its vertices
    # and take the best (3: all of them; a weld may leave ~1e-8 elsewhere)
    n_f = len(faces)
    corners = sp.csr_matrix(
        (np.ones(3 * n_f), (np.repeat(np.arange(n_f), 3), faces.ravel())), shape=(n_f, cut.shape[0])
    )
    on_fine = corners @ abs(cut)  # (F, V_fine)
    incidence = sp.csr_matrix(
        (np.ones(tris.size), (tris.ravel(), np.repeat(np.arange(len(tris)), 3))), shape=(n_fine, len(tris))
    )
    score = (on_fine @ incidence).tocsr()  # (F, T)
    tri_of = np.asarray(score.argmax(axis=1)).ravel()
    best = np.asarray(score.max(axis=1).todense()).ravel()
    if (best < 3.0 - 1e-5).any():
        raise ValueError(f"{int((best < 3.0 - 1e-5).sum())} render faces lie on no single fine triangle")
    # corner k of face f = sum over the fine triangle's corners c of cut[face[f, k], tris[t, c]] uv(t, c)
    ft = tris[tri_of]  # (F, 3)
    rows = np.repeat(faces, 3, axis=1).ravel()
    cols = np.tile(ft, (1, 3)).ravel()
    B = np.asarray(cut[rows, cols]).reshape(len(faces), 3, 3)
    corner_uvs = np.einsum("fkc,fcd->fkd", B, tri_uv[tri_of])
    if not np.allclose(B.sum(axis=2), 1.0, atol=1e-5):
        raise ValueError("render face corners are not on their fine triangle")
    out = _split(faces, corner_uvs, surface.n_vertices)
    _CACHE[surface] = out
    return out


def _split(faces: np.ndarray, corner_uvs: np.ndarray, n_vertices: int) -> SurfaceUV:
    """One UV per vertex, copying a vertex for every further UV its faces give it."""
    flat_v = faces.ravel()
    flat_uv = corner_uvs.reshape(-1, 2)
    key = np.round(flat_uv / _SAME_UV).astype(np.int64)
    order = np.lexsort((key[:, 1], key[:, 0], flat_v))
    v_sorted, k_sorted = flat_v[order], key[order]
    new_group = np.r_[True, (v_sorted[1:] != v_sorted[:-1]) | (k_sorted[1:] != k_sorted[:-1]).any(axis=1)]
    group = np.cumsum(new_group) - 1
    g_vertex = v_sorted[new_group]
    g_uv = flat_uv[order][new_group]
    # the first group of each vertex keeps the vertex's id; the others are appended
    first_of_vertex = np.r_[True, g_vertex[1:] != g_vertex[:-1]]
    ids = np.empty(len(g_vertex), np.int64)
    ids[first_of_vertex] = g_vertex[first_of_vertex]
    n_extra = int((~first_of_vertex).sum())
    ids[~first_of_vertex] = n_vertices + np.arange(n_extra)
    uvs = np.zeros((n_vertices + n_extra, 2), np.float32)
    uvs[ids] = g_uv
    source = np.concatenate([np.arange(n_vertices), g_vertex[~first_of_vertex]])
    new_faces = np.empty(len(flat_v), np.int64)
    new_faces[order] = ids[group]
    return SurfaceUV(
        uvs=uvs,
        source=source,
        faces=new_faces.reshape(-1, 3).astype(np.int32),
        corner_uvs=corner_uvs,
        n_render=n_vertices,
    )
