"""Clothing on the shoulders and headwear on the head, fitted as draped shells of the skin.

Every garment starts from the skin it covers: the skin is clipped exactly along a neckline
(or a hat line), offset outwards, smoothed along its normals so it bridges hollows the way
cloth does, pushed back out wherever it came closer than its thickness to the skin, and
lifted wherever a point of the (coarse) skin would still poke through. Parametric pieces go
on top: hems, collars, a hood and drawstrings, buttons, a zip, a cap visor, hat brims, a
headscarf knot. The head asset ends at a ragged crop below the shoulders, so the torso
garments continue past it into a simple bust (an elliptic cylinder below the shoulders).
Ears are thin flaps that an offset shell cannot wrap, so every hat line stays above them.

Ids follow the catalog vocabulary (``facefarm.catalog.vocabulary``): clothing ``tshirt``
(crew neck), ``shirt`` (collar), ``sweater``, ``hoodie``, ``jacket``, ``scarf`` (a t-shirt
and a scarf); headwear ``cap``, ``beanie``, ``wide_brim_hat``, ``headscarf`` (a hijab),
``kerchief`` (covers the hair, knotted at the nape); the scarves are in
:mod:`facefarm.pipeline.garments_headscarf`. Unknown ids are looked
up among the user assets. What depends only on the head asset's topology (skin faces, crop
boundary, class masks) is measured once per asset (:func:`head_topology`).

Frames and units: head frame of ``HeadModel.shape`` (metres, +y up, +z out of the face,
+x the subject's left); colours in samples are sRGB 0..1, materials get linear RGB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from facefarm.catalog.colors import srgb_to_linear
from facefarm.pipeline.classes import CLASS_IDS
from facefarm.pipeline.glasses import SurfaceDistance, sweep
from facefarm.pipeline.triangles import vertex_normals
from facefarm.pipeline.scene import FABRIC_SHEEN, Material, Mesh
from facefarm.pipeline import vectors

CLOTHING_IDS: tuple[str, ...] = ("tshirt", "shirt", "sweater", "hoodie", "jacket", "scarf")
HEADWEAR_IDS: tuple[str, ...] = ("cap", "beanie", "wide_brim_hat", "headscarf", "kerchief")
#: Adult eyeball-centre distance of the head model; garment sizes scale with it.
_MODEL_ADULT_IPD_M = 0.058
_NO_COLOR = (0.5, 0.5, 0.5)


def garment_meshes(sample, head, vertices: np.ndarray) -> list[Mesh]:
    """Clothing (class CLOTHING, kind ``cloth``) and headwear (class HEADWEAR, kind
    ``headwear``) of ``sample`` fitted to ``vertices`` ((V, 3) head-frame metres of ``head``).
    Items with id ``"none"`` give nothing."""
    def worn(field: str):
        item = getattr(sample, field, None)
        return None if item is None or item.id in (None, "", "none") else item

    out: list[Mesh] = []
    if (item := worn("clothing")) is not None:
        out += clothing_meshes(item.id, item.color_rgb or _NO_COLOR, head, vertices)
    if (item := worn("headwear")) is not None:
        # scarves drape over the clothes
        out += headwear_meshes(item.id, item.color_rgb or _NO_COLOR, head, vertices, under=out)
    return out


def clothing_meshes(garment_id: str, color_rgb, head, vertices: np.ndarray) -> list[Mesh]:
    """Meshes of one clothing item (an id of :data:`CLOTHING_IDS` or a user asset)."""
    if garment_id not in CLOTHING_IDS:
        from facefarm.pipeline import user_assets

        return user_assets.fitted_meshes("clothing", garment_id, head, vertices, color_rgb=color_rgb)
    body = Body.measure(head, vertices)
    return _CLOTHING[garment_id](body, _linear(color_rgb))


def headwear_meshes(headwear_id: str, color_rgb, head, vertices: np.ndarray,
                    under: Sequence[Mesh] = ()) -> list[Mesh]:
    """Meshes of one headwear item (an id of :data:`HEADWEAR_IDS` or a user asset). ``under``:
    clothing meshes (head frame) that a scarf has to drape over."""
    if headwear_id not in HEADWEAR_IDS:
        from facefarm.pipeline import user_assets

        return user_assets.fitted_meshes("headwear", headwear_id, head, vertices, color_rgb=color_rgb)
    body = Body.measure(head, vertices)
    if headwear_id in _OVER_CLOTHES:
        return _HEADWEAR[headwear_id](body, _linear(color_rgb), list(under))
    return _HEADWEAR[headwear_id](body, _linear(color_rgb))


def headwear_field(headwear_id: str, head, vertices: np.ndarray) -> Callable[[np.ndarray], np.ndarray] | None:
    """g(points (n, 3)) -> (n,): <= 0 in the part of the head the headwear ``headwear_id``
    covers (above its line round the head), or None for no known headwear."""
    if headwear_id not in HEADWEAR_IDS:
        return None
    return _HEADWEAR_FIELDS[headwear_id](Body.measure(head, vertices))


def tucks_all_hair(headwear_id: str) -> bool:
    """Whether no scalp hair at all shows under the headwear (a headscarf)."""
    return headwear_id in _TUCKS_ALL_HAIR


def headwear_coverage(headwear_id: str, head, vertices: np.ndarray, field=None) -> np.ndarray:
    """(V,) bool: head vertices under the headwear ``headwear_id`` (where hair should not show).
    ``field``: its :func:`headwear_field` on these vertices, if already at hand."""
    field = field or headwear_field(headwear_id, head, vertices)
    if field is None:
        return np.zeros(len(vertices), bool)
    skin_ids = head_topology(head).skin_ids
    covered = np.zeros(len(vertices), bool)
    covered[skin_ids] = field(np.asarray(vertices, np.float64)[skin_ids]) <= 0
    if headwear_id in _TUCKS_ALL_HAIR:
        # the sideburns in front of the ears are open with the face, but their hair is tucked in too
        covered[np.asarray(head.scalp)] = True
    return covered


def _linear(rgb) -> tuple[float, float, float]:
    return tuple(srgb_to_linear(float(c)) for c in rgb)  # type: ignore[return-value]


# ---------------------------------------------------------------------------------- the body
@dataclass(frozen=True)
class HeadTopology:
    """What the garments need from a head asset that no identity or expression changes."""

    skin_faces: np.ndarray     # (F, 3) int64 skin-part faces
    outer: np.ndarray          # (F,) bool: skin faces on the outside (not the mouth interior)
    skin_ids: np.ndarray       # (S,) vertex ids used by skin faces
    boundary: np.ndarray       # (B,) skin vertex ids on the open crop boundary
    boundary_edges: np.ndarray  # (E, 2) the crop boundary's edges
    neck: np.ndarray           # (V,) bool vertex masks by class
    ears: np.ndarray
    brows: np.ndarray
    skin: np.ndarray


_TOPOLOGY: dict[object, HeadTopology] = {}


def head_topology(head) -> HeadTopology:
    """The :class:`HeadTopology` of ``head``, measured once per head asset."""
    key = getattr(head, "path", None) or id(head)
    if key not in _TOPOLOGY:
        skin_part = list(head.part_names).index("skin")
        faces = np.asarray(head.faces[head.face_part == skin_part], np.int64)
        cls = np.asarray(head.vertex_class)
        inner = head.face_class[head.face_part == skin_part] == CLASS_IDS["MOUTH_INTERIOR"]
        _TOPOLOGY[key] = HeadTopology(
            skin_faces=faces, outer=~inner, skin_ids=np.unique(faces), boundary=_boundary_vertices(faces),
            boundary_edges=_boundary_edges(faces),
            neck=cls == CLASS_IDS["NECK"], ears=np.isin(cls, [CLASS_IDS["LEFT_EAR"], CLASS_IDS["RIGHT_EAR"]]),
            brows=np.isin(cls, [CLASS_IDS["LEFT_BROW"], CLASS_IDS["RIGHT_BROW"]]), skin=cls == CLASS_IDS["SKIN"])
    return _TOPOLOGY[key]


@dataclass(frozen=True)
class Body:
    """What the garments are fitted to, measured on one head's vertices (head frame, metres).

    ``neck_z``: z of the vertical neck axis (x = 0); ``neck_r``: neck half-width;
    ``nape_y``: top of the neck class at the back (does not move with expressions);
    ``head_z``: z of the vertical head axis for headwear; ``s``: size relative to an adult.
    """

    v: np.ndarray              # (V, 3) float64 all head vertices
    skin_faces: np.ndarray     # (F, 3) skin-part faces
    outer_faces: np.ndarray    # (G, 3) skin faces on the outside (no mouth interior): what garments cover
    skin_ids: np.ndarray       # (S,) vertex ids used by skin faces
    normals: np.ndarray        # (V, 3) skin vertex normals
    surface: SurfaceDistance   # signed distance to the outer skin
    vertex_class: np.ndarray   # (V,)
    boundary: np.ndarray       # (B,) skin vertex ids on the open crop boundary
    crop_edges: np.ndarray     # (E, 2) skin vertex ids of the crop boundary's edges
    neck_z: float
    neck_r: float
    nape_y: float
    bottom_y: float            # lowest skin point
    brow_y: float              # top of the brows
    ear_top_y: float
    ear_bottom_y: float
    head_z: float
    head_top_y: float
    skull_half_width: float    # widest skin point (not ears) at the height of the ear tops
    s: float
    landmarks: np.ndarray      # (70, 3) the head's landmark points on these vertices

    @staticmethod
    def measure(head, vertices: np.ndarray) -> "Body":
        v = np.asarray(vertices, np.float64)
        topo = head_topology(head)
        faces, ids, cls = topo.skin_faces, topo.skin_ids, np.asarray(head.vertex_class)
        centres = head.eye_centres(v)
        s = float(np.linalg.norm(centres[1] - centres[0]) / _MODEL_ADULT_IPD_M)
        neck = v[topo.neck]
        back = neck[neck[:, 2] < np.median(neck[:, 2])]
        nape = float(back[:, 1].max())
        slab = neck[np.abs(neck[:, 1] - (nape - 0.02 * s)) < 0.006 * s]
        neck_r = float(np.abs(slab[:, 0]).max())
        neck_z = float(0.5 * (slab[:, 2].min() + slab[:, 2].max()))
        ears = v[topo.ears]
        brows = v[topo.brows]
        sk = v[ids]
        top = sk[sk[:, 1] > sk[:, 1].max() - 0.03 * s]
        ear_top = float(ears[:, 1].max())
        skull = v[topo.skin & (np.abs(v[:, 1] - ear_top) < 0.01 * s)]
        outer = faces[topo.outer]
        return Body(v=v, skin_faces=faces, outer_faces=outer, skin_ids=ids, normals=vertex_normals(v, faces),
                    surface=SurfaceDistance(v, outer), vertex_class=cls, boundary=topo.boundary,
                    crop_edges=topo.boundary_edges,
                    neck_z=neck_z, neck_r=neck_r, nape_y=nape, bottom_y=float(sk[:, 1].min()),
                    brow_y=float(brows[:, 1].max()), ear_top_y=float(ears[:, 1].max()),
                    ear_bottom_y=float(ears[:, 1].min()), head_z=float(top[:, 2].mean()),
                    head_top_y=float(sk[:, 1].max()), skull_half_width=float(np.abs(skull[:, 0]).max()), s=s,
                    landmarks=np.asarray(head.landmark_points(v), np.float64))

    def neck_polar(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(azimuth about the neck axis, 0 = front, + towards the subject's left; radius)."""
        dz = p[:, 2] - self.neck_z
        return np.arctan2(p[:, 0], dz), np.hypot(p[:, 0], dz)

    def head_azimuth(self, p: np.ndarray) -> np.ndarray:
        return np.arctan2(p[:, 0], p[:, 2] - self.head_z)

    def crop_height(self, phi: np.ndarray) -> np.ndarray:
        """(n,) height of the skin's crop edge at neck azimuths ``phi`` (highest edge point)."""
        bphi, _ = self.neck_polar(self.v[self.boundary])
        by = self.v[self.boundary, 1]
        bins = np.linspace(-np.pi, np.pi, 49)
        k = np.clip(np.digitize(bphi, bins) - 1, 0, 47)
        top = np.full(48, np.nan)
        np.fmax.at(top, k, by)
        centres = 0.5 * (bins[:-1] + bins[1:])
        ok = ~np.isnan(top)
        xs = np.concatenate([centres[ok] - 2 * np.pi, centres[ok], centres[ok] + 2 * np.pi])
        ys = np.tile(top[ok], 3)
        return np.interp(phi, xs, ys)


def _boundary_vertices(faces: np.ndarray) -> np.ndarray:
    e = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    uniq, count = np.unique(e, axis=0, return_counts=True)
    return np.unique(uniq[count == 1])


# ---------------------------------------------------------------------------------- shells
@dataclass
class Shell:
    """An open triangle surface with, per vertex, where on the skin it came from."""

    v: np.ndarray       # (n, 3)
    f: np.ndarray       # (m, 3)
    n: np.ndarray       # (n, 3) unit skin normal at the source point
    on_crop: np.ndarray  # (n,) bool: vertex lies on the skin's crop boundary


def clip_surface(v: np.ndarray, f: np.ndarray, g: np.ndarray, normals: np.ndarray,
                 crop: np.ndarray) -> Shell:
    """The part of the triangle surface (v, f) where the per-vertex field ``g`` <= 0, cut
    exactly along g = 0 (linear on edges). ``normals`` (V, 3) are interpolated to cut points;
    ``crop`` (V,) bool marks boundary vertices to carry over."""
    inside = g <= 0
    n_in = inside[f].sum(axis=1)
    keep = [f[n_in == 3]]
    cuts: dict[tuple[int, int], int] = {}
    pairs: list[tuple[int, int, float]] = []
    base = len(v)

    def cut(i: int, j: int) -> int:
        key = (min(i, j), max(i, j))
        if key not in cuts:
            a, b = key
            t = g[a] / (g[a] - g[b])
            cuts[key] = base + len(pairs)
            pairs.append((a, b, float(t)))
        return cuts[key]

    extra = []
    for tri, k in zip(f[(n_in == 1) | (n_in == 2)], n_in[(n_in == 1) | (n_in == 2)]):
        ins = inside[tri]
        if k == 1:
            r = int(np.flatnonzero(ins)[0])
            a, b, c = tri[r], tri[(r + 1) % 3], tri[(r + 2) % 3]
            extra.append([a, cut(a, b), cut(a, c)])
        else:
            r = int(np.flatnonzero(~ins)[0])
            c, a, b = tri[r], tri[(r + 1) % 3], tri[(r + 2) % 3]
            bc, ca = cut(b, c), cut(c, a)
            extra += [[a, b, bc], [a, bc, ca]]
    faces = np.vstack(keep + ([np.asarray(extra)] if extra else []))
    if pairs:
        pa = np.asarray([(a, b) for a, b, _ in pairs])
        t = np.asarray([t for _, _, t in pairs])[:, None]
        nv = np.vstack([v, (1 - t) * v[pa[:, 0]] + t * v[pa[:, 1]]])
        nn = np.vstack([normals, (1 - t) * normals[pa[:, 0]] + t * normals[pa[:, 1]]])
        nc = np.concatenate([crop, crop[pa[:, 0]] & crop[pa[:, 1]]])
    else:
        nv, nn, nc = v, normals, crop
    used = np.unique(faces)
    remap = np.full(len(nv), -1)
    remap[used] = np.arange(len(used))
    nn = vectors.unit(nn[used], 1e-12)
    return Shell(v=nv[used].copy(), f=remap[faces], n=nn, on_crop=nc[used])


def _neighbours(n: int, f: np.ndarray):
    """Sparse row-normalised adjacency (uniform Laplacian weights) of a triangle mesh. Boundary
    vertices average only their boundary neighbours, so smoothing does not shrink the edges."""
    import scipy.sparse as sp

    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    key = np.sort(e, axis=1)
    uniq, count = np.unique(key, axis=0, return_counts=True)
    border = uniq[count == 1]
    on_border = np.zeros(n, bool)
    on_border[border.ravel()] = True
    inner = uniq[~(on_border[uniq[:, 0]] | on_border[uniq[:, 1]])]
    mixed = uniq[on_border[uniq[:, 0]] ^ on_border[uniq[:, 1]]]
    # interior rows see every neighbour; border rows only the border
    rows = [inner, inner[:, ::-1], border, border[:, ::-1]]
    m = mixed.copy()
    m_int = np.where(on_border[m[:, 0]], m[:, 1], m[:, 0])
    m_bor = np.where(on_border[m[:, 0]], m[:, 0], m[:, 1])
    rows.append(np.column_stack([m_int, m_bor]))
    e = np.vstack(rows)
    a = sp.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    a.data[:] = 1.0
    deg = np.asarray(a.sum(axis=1)).ravel()
    lone = deg == 0
    a = a + sp.diags(lone.astype(float))
    return sp.diags(1.0 / np.maximum(deg, 1)) @ a


def drape(shell: Shell, body: Body, thickness: float | np.ndarray, smooth: int = 20,
          gap: float | None = None) -> np.ndarray:
    """(n, 3) positions of ``shell`` offset by ``thickness`` (m, scalar or per vertex), smoothed
    like cloth over hollows, and kept at least ``gap`` (default 0.6 x thickness) off the skin."""
    th = np.broadcast_to(np.asarray(thickness, float), (len(shell.v),))
    gap_v = 0.6 * th if gap is None else np.broadcast_to(gap, (len(shell.v),))
    p = shell.v + shell.n * th[:, None]
    start = p.copy()
    lap = _neighbours(len(p), shell.f)
    for i in range(smooth):
        # smooth along the normals only: each shell vertex stays over its own skin point, so
        # a shell triangle cannot slide sideways and dip under a bump of the coarse skin
        step = (lap @ p) - p
        p = p + 0.5 * vectors.dot(step, shell.n, True) * shell.n
        # the crop edge stays where it is, so the bust extension starts on the skin's edge
        p[shell.on_crop] = start[shell.on_crop]
        if i % 4 == 3 or i == smooth - 1:
            p = _push_out(p, body, gap_v)
    return _push_out(_push_out(p, body, gap_v), body, gap_v)


def _cover(p: np.ndarray, f: np.ndarray, body: Body, covered: np.ndarray, gap: float,
           rounds: int = 4) -> np.ndarray:
    """Lift the shell (p, f) wherever the covered skin pokes through it or comes within
    ``gap`` of it from inside. ``covered``: (F,) bool skin faces the shell should hide; their
    corners, centroids and points along the edges are tested (the skin is coarse, so its
    edges can pierce a shell whose vertices all clear the skin)."""
    from scipy.spatial import cKDTree

    sf = body.outer_faces[covered]
    if len(sf) == 0:
        return p
    tri = body.v[sf]
    rolled = np.roll(tri, 1, axis=1)
    probes = np.concatenate([tri.reshape(-1, 3), tri.mean(axis=1)]
                            + [(t * tri + (1 - t) * rolled).reshape(-1, 3) for t in (0.25, 0.5, 0.75)])
    reach = 0.012 * body.s
    for _ in range(rounds):
        d, q, n, face = SurfaceDistance(p, f).query(probes, return_faces=True)
        bad = d > -gap                       # the skin point is outside or too close under
        if not bad.any():
            break
        qb, nb, db, fb = q[bad], n[bad], d[bad], face[bad]
        # each bad skin point lifts the corners of the shell triangle over it (at least half
        # way) and a soft neighbourhood; every shell vertex takes its largest lift
        balls = cKDTree(p).query_ball_point(qb, reach)
        sizes = np.fromiter((len(b) for b in balls), int, len(balls))
        pi = np.concatenate([np.repeat(np.arange(len(qb)), sizes), np.repeat(np.arange(len(qb)), 3)])
        pj = np.concatenate([np.concatenate(balls).astype(int) if sizes.sum() else np.zeros(0, int),
                             f[fb].ravel()])
        corner = np.concatenate([np.zeros(sizes.sum(), bool), np.ones(3 * len(qb), bool)])
        w = 1.0 - vectors.length(p[pj] - qb[pi]) / reach
        w = np.where(corner, np.maximum(w, 0.5), w)
        amount = (db[pi] + gap) * 1.2 * w
        ok = amount > 0
        pi, pj, amount = pi[ok], pj[ok], amount[ok]
        order = np.lexsort((pi, -amount, pj))           # per vertex: largest lift, first skin point
        first = order[np.r_[True, pj[order][1:] != pj[order][:-1]]]
        p = p.copy()
        p[pj[first]] += nb[pi[first]] * amount[first][:, None]
    return p


def _push_out(p: np.ndarray, body: Body | SurfaceDistance, gap: np.ndarray, reach: float | None = None
              ) -> np.ndarray:
    """Move points that are closer than ``gap`` (m, per point) to the skin (or to another
    surface) out along its normal; with ``reach``, only points at most that deep inside."""
    surface = body.surface if isinstance(body, Body) else body
    d, _q, nrm = surface.query(p)
    short = np.clip(gap - d, 0.0, None)
    if reach is not None:
        short[d < -reach] = 0.0
    return p + nrm * short[:, None] * 1.05


def _hang(top: np.ndarray, length: float, over: SurfaceDistance, gap: float, n: int = 12) -> np.ndarray:
    """(n, 3) a strand hanging down from ``top``, resting on the surface ``over``."""
    path = top + np.outer(np.linspace(0.0, 1.0, n), [0.0, -length, 0.0])
    for _ in range(4):
        path = _push_out(path, over, np.full(n, gap))
        path = _smooth_polyline(path, False, 2)
    return _push_out(path, over, np.full(n, gap))


def _extend_crop(shell: Shell, p: np.ndarray, body: Body, rings: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Continue a torso shell past the skin's ragged crop into a simple bust: each crop-edge
    vertex steps out, then travels down to an elliptic cylinder at the same azimuth (about
    2.6 skull half-widths wide, less for small children), ~0.08 m x s lower.

    Small children's heads (s < 0.85) end round the base of the neck, so their shoulders come
    from the bust alone: there it slopes down over the shoulders first, then falls straight
    (a step straight out would read as a bib), in ``rings + 2`` rings."""
    edges = _boundary_edges(shell.f)
    crop_edges = edges[shell.on_crop[edges].all(axis=1)]
    if len(crop_edges) == 0:
        return p, shell.f
    ids = np.unique(crop_edges)
    phi, r = body.neck_polar(p[ids])
    s = body.s
    # shoulders: about 2.6 skull half-widths for adults, narrower for small children
    grown = float(np.clip((s - 0.65) / 0.35, 0.0, 1.0))
    half_w = body.skull_half_width * (1.9 + 0.7 * grown)
    half_d = 0.5 * half_w
    ell = 1.0 / np.sqrt((np.sin(phi) / half_w) ** 2 + (np.cos(phi) / half_d) ** 2)
    r_end = np.maximum(ell, r)
    small = s < 0.85
    if small:
        rings += 2
        # the shoulder line falls ~25 degrees at the sides; chest and back fall straight
        slope = 0.12 + 0.35 * np.abs(np.sin(phi))
        y_sh = p[ids, 1] - slope * (r_end - r)
        y_end = np.minimum(body.bottom_y - 0.08 * s, y_sh.min() - 0.03 * s)
        shoulder = np.column_stack([np.sin(phi) * r_end, y_sh, body.neck_z + np.cos(phi) * r_end])
    else:
        y_end = body.bottom_y - 0.08 * s
        end = np.column_stack([np.sin(phi) * r_end, np.full(len(ids), y_end), body.neck_z + np.cos(phi) * r_end])
    # the crop edge is ragged: step out along the (boundary-smoothed) skin normal first, clear
    # of the neighbouring skin triangles that reach lower, then settle onto the bust
    index = {int(i): k for k, i in enumerate(ids)}
    a_i = np.array([index[int(x)] for x in crop_edges[:, 0]])
    b_i = np.array([index[int(x)] for x in crop_edges[:, 1]])
    nrm = shell.n[ids].copy()
    for _ in range(4):
        acc = nrm.copy()
        np.add.at(acc, a_i, nrm[b_i])
        np.add.at(acc, b_i, nrm[a_i])
        nrm = acc / vectors.length(acc, True)
    if small:
        # a small child's crop runs round the base of the neck, where the skin faces up: a
        # step up there starts the bust above its own neckline (adults' crops need it to
        # clear the shoulders)
        nrm[:, 1] = np.minimum(nrm[:, 1], 0.0)
        nrm /= np.maximum(vectors.length(nrm, True), 1e-9)
    first = p[ids] + nrm * (0.012 * s)
    verts = [p]
    ring_ids = []
    n_total = len(p)
    half = rings // 2
    for k in range(1, rings + 1):
        if not small:
            t = (k - 1) / (rings - 1)
            ease = 1 - (1 - t) ** 2
            pos = first + (end - first) * np.array([ease, t, ease])
        elif k <= half:                    # out over the shoulder
            t = (k - 1) / max(half - 1, 1)
            ease = 1 - (1 - t) ** 2
            pos = first + (shoulder - first) * np.array([ease, t, ease])
        else:                              # and down the chest, back and arms
            t = (k - half) / (rings - half)
            pos = shoulder + np.column_stack([np.zeros(len(ids)), (y_end - y_sh) * t, np.zeros(len(ids))])
        for _ in range(2 * k):  # lower rings are smoother: the ragged edge fades into the bust
            acc, cnt = pos.copy(), np.ones(len(ids))
            np.add.at(acc, a_i, pos[b_i])
            np.add.at(acc, b_i, pos[a_i])
            np.add.at(cnt, a_i, 1.0)
            np.add.at(cnt, b_i, 1.0)
            pos = acc / cnt[:, None]
        # below the crop the skin is open: a far point's sign there is unreliable, push near ones only
        pos = _push_out(pos, body, np.full(len(pos), 0.012 * s), reach=0.024 * s if small else None)
        ring_ids.append(n_total + np.arange(len(ids)))
        n_total += len(ids)
        verts.append(pos)
    allv = np.concatenate(verts)
    faces = [shell.f]
    prev = {int(i): int(i) for i in ids}
    for k in range(rings):
        cur = {int(i): int(ring_ids[k][index[int(i)]]) for i in ids}
        a, b = crop_edges[:, 0], crop_edges[:, 1]
        pa = np.array([prev[int(x)] for x in a])
        pb = np.array([prev[int(x)] for x in b])
        ca = np.array([cur[int(x)] for x in a])
        cb = np.array([cur[int(x)] for x in b])
        faces += [np.stack([pb, pa, ca], axis=1), np.stack([pb, ca, cb], axis=1)]
        prev = cur
    return allv, np.concatenate(faces)


def _push_bust(p: np.ndarray, body: Body, gap: float) -> np.ndarray:
    """:func:`_push_out` for points of a torso garment: below the skin's open crop a point's
    inside/outside sign is unreliable (the nearest skin is the crop's edge), so there only
    points near the skin move."""
    d, q, nrm = body.surface.query(p)
    e = body.v[body.crop_edges]                                    # (E, 2, 3)
    ab = e[:, 1] - e[:, 0]
    t = np.clip(vectors.dot(q[:, None] - e[None, :, 0], ab[None]) / np.maximum(vectors.dot(ab, ab), 1e-18), 0, 1)
    on_edge = vectors.length(q[:, None] - (e[None, :, 0] + t[..., None] * ab[None])).min(axis=1) < 1e-5
    short = np.clip(gap - d, 0.0, None)
    # nearest to the crop's edge and below it: on a small child's neck-high crop the edge's
    # normal leans any way, and "inside" there is wrong (it threw the shoulders up into
    # wings); an adult's crop runs through the shoulders, where the push is needed
    if body.s < 0.85:
        short = np.where(on_edge & (p[:, 1] < q[:, 1]), np.minimum(short, 0.01 * body.s), short)
    return p + nrm * short[:, None] * 1.05


def _boundary_edges(f: np.ndarray) -> np.ndarray:
    """(k, 2) directed boundary edges (in the winding of their face)."""
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    key = np.sort(e, axis=1)
    _, inv, count = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    return e[count[inv.ravel()] == 1]


def boundary_loop(f: np.ndarray, select: np.ndarray | None = None) -> list[np.ndarray]:
    """Ordered vertex loops of the boundary of (.., 3) faces, optionally only edges whose
    two vertices are in ``select`` (bool per vertex). Longest first."""
    e = _boundary_edges(f)
    if select is not None:
        e = e[select[e].all(axis=1)]
    nxt = {int(a): int(b) for a, b in e}
    loops, seen = [], set()
    for start in list(nxt):
        if start in seen:
            continue
        loop, cur = [], start
        while cur in nxt and cur not in seen:
            seen.add(cur)
            loop.append(cur)
            cur = nxt[cur]
        if len(loop) > 2:
            loops.append(np.asarray(loop))
    return sorted(loops, key=len, reverse=True)


# ---------------------------------------------------------------------------------- pieces
def _merged(meshes: Sequence[Mesh]) -> tuple[np.ndarray, np.ndarray]:
    """One (v (n, 3) float64, f (m, 3) int64) surface of several meshes."""
    vs, fs, off = [], [], 0
    for m in meshes:
        vs.append(np.asarray(m.vertices, np.float64))
        fs.append(np.asarray(m.faces, np.int64) + off)
        off += len(m.vertices)
    return np.concatenate(vs), np.concatenate(fs)


def _mesh(name: str, v: np.ndarray, f: np.ndarray, cls: str, material: Material) -> Mesh:
    return Mesh(name=name, vertices=np.asarray(v, np.float32), faces=np.asarray(f, np.int32),
                face_class=np.full(len(f), CLASS_IDS[cls], np.uint8), material=material)


def _cloth(name: str, rgb, roughness: float = 0.85, sheen: float = 0.6) -> Material:
    return Material(name=name, kind="cloth", base_color=tuple(rgb), roughness=roughness, specular=0.3,
                    extra={"sheen": sheen})


def _headwear(name: str, rgb, roughness: float = 0.8, sheen: float = FABRIC_SHEEN) -> Material:
    return Material(name=name, kind="headwear", base_color=tuple(rgb), roughness=roughness, specular=0.3,
                    extra={"sheen": sheen})


def _shade(rgb, k: float) -> tuple[float, float, float]:
    return tuple(float(np.clip(c * k, 0.0, 1.0)) for c in rgb)  # type: ignore[return-value]


def _hem(points: np.ndarray, radius: float, body: Body, closed: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A rolled edge: a tube of ``radius`` along ``points``, kept off the skin."""
    pts = _push_out(points, body, np.full(len(points), radius + 0.0015))
    pts = _smooth_polyline(pts, closed, 2)
    pts = _push_out(pts, body, np.full(len(points), radius + 0.0015))
    return sweep(pts, _ring(8), closed=closed, scale=np.full((len(pts), 2), radius))


def _ring(m: int) -> np.ndarray:
    a = np.linspace(0.0, 2 * np.pi, m, endpoint=False)
    return np.stack([np.cos(a), np.sin(a)], axis=1)


def _smooth_polyline(p: np.ndarray, closed: bool, it: int) -> np.ndarray:
    p = p.copy()
    for _ in range(it):
        if closed:
            p = 0.25 * np.roll(p, 1, axis=0) + 0.5 * p + 0.25 * np.roll(p, -1, axis=0)
        else:
            p[1:-1] = 0.25 * p[:-2] + 0.5 * p[1:-1] + 0.25 * p[2:]
    return p


def _resample(p: np.ndarray, n: int, closed: bool) -> np.ndarray:
    q = np.vstack([p, p[:1]]) if closed else p
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(q, axis=0), axis=1))])
    t = np.linspace(0.0, s[-1], n, endpoint=not closed)
    return np.stack([np.interp(t, s, q[:, k]) for k in range(3)], axis=1)


# ---------------------------------------------------------------------------------- clothing
@dataclass(frozen=True)
class Neckline:
    """Neckline heights below the nape line in neck radii: front, sides, back; ``v`` > 0 makes
    the front a V of that half-angle (radians) instead of a round scoop."""

    front: float
    side: float
    back: float
    v: float = 0.0

    def field(self, body: Body) -> Callable[[np.ndarray], np.ndarray]:
        """g(p) <= 0 below the neckline."""
        return lambda p: p[:, 1] - _neckline_y(body, self, p)


def _neckline_y(body: Body, line: Neckline, p: np.ndarray) -> np.ndarray:
    """(n,) neckline height at the azimuth of each point; never lower than just above the
    skin's crop there (small children's meshes end high on the chest)."""
    phi, _ = body.neck_polar(p)
    c = np.cos(phi)
    if line.v > 0:
        front_w = np.clip(1.0 - np.abs(phi) / line.v, 0.0, 1.0) ** 1.2
        front_w = np.maximum(front_w, np.clip(c, 0, 1) ** 3 * 0.35)
    else:
        front_w = np.clip(c, 0.0, 1.0) ** 1.5
    back_w = np.clip(-c, 0.0, 1.0) ** 1.5
    depth = line.side + (line.front - line.side) * front_w + (line.back - line.side) * back_w
    y = body.nape_y - depth * body.neck_r
    return np.maximum(y, body.crop_height(phi) + 0.012 * body.s)


def _torso(body: Body, neckline: Neckline, thickness: float, smooth: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The torso shell under ``neckline``, extended into the bust. Returns (v, f, neckline loop ids)."""
    g = neckline.field(body)(body.v)
    crop = np.zeros(len(body.v), bool)
    crop[body.boundary] = True
    shell = clip_surface(body.v, body.outer_faces, g, body.normals, crop)
    th = thickness * body.s ** 0.5
    p = drape(shell, body, th, smooth=smooth)
    under = g[body.outer_faces].max(axis=1) < -0.004 * body.s
    p = _cover(p, shell.f, body, under, 0.4 * th)
    v, f = _extend_crop(shell, p, body)
    v = _push_bust(_cover(v, f, body, under, 0.4 * th), body, 0.4 * th)
    not_crop = np.concatenate([~shell.on_crop, np.zeros(len(v) - len(p), bool)])
    loops = boundary_loop(f, not_crop)
    return v, f, (loops[0] if loops else np.zeros(0, int))


def _collar_ring(v: np.ndarray, loop: np.ndarray, n: int = 96) -> np.ndarray:
    return _resample(_smooth_polyline(v[loop], True, 3), n, True)


def _rise(body: Body, ring: np.ndarray, height: float, out: float) -> np.ndarray:
    """``ring`` moved up the neck by ``height`` (less where the jaw is closer) and kept ``out``
    off the skin."""
    rise = np.clip(np.minimum(height, _room_below_jaw(body, ring) - 0.006 * body.s), 0.003 * body.s, None)
    p = ring + np.column_stack([np.zeros(len(ring)), rise, np.zeros(len(ring))])
    for _ in range(3):
        p = _push_out(p, body, np.full(len(p), out))
        p = _smooth_polyline(p, True, 2)
    return _push_out(p, body, np.full(len(p), out))


def _band(lo: np.ndarray, hi: np.ndarray, rows: int = 4, closed: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A strip (single surface) between two curves of equal length, closed rings or open."""
    n = len(lo)
    t = np.linspace(0.0, 1.0, rows + 1)[:, None, None]
    v = ((1 - t) * lo[None] + t * hi[None]).reshape(-1, 3)
    f = []
    j = np.arange(n) if closed else np.arange(n - 1)
    j1 = (j + 1) % n
    for r in range(rows):
        a, b, c, d = r * n + j, r * n + j1, (r + 1) * n + j1, (r + 1) * n + j
        f += [np.stack([a, b, c], axis=1), np.stack([a, c, d], axis=1)]
    return v, np.concatenate(f)


def _tshirt(body: Body, rgb, name: str = "tshirt") -> list[Mesh]:
    v, f, loop = _torso(body, Neckline(front=2.1, side=1.55, back=1.3), 0.004)
    mat = _cloth(name, rgb)
    out = [_mesh(name, v, f, "CLOTHING", mat)]
    if len(loop):
        ring = _collar_ring(v, loop)
        hv, hf = _hem(ring, 0.0028 * body.s ** 0.5, body)
        out.append(_mesh(f"{name}_hem", hv, hf, "CLOTHING", mat))
    return out


def _sweater(body: Body, rgb) -> list[Mesh]:
    v, f, loop = _torso(body, Neckline(front=1.9, side=1.45, back=1.25), 0.008, smooth=24)
    mat = _cloth("sweater", rgb, roughness=0.95, sheen=0.8)
    out = [_mesh("sweater", v, f, "CLOTHING", mat)]
    if len(loop):
        ring = _collar_ring(v, loop)
        top = _rise(body, ring, 0.022 * body.s, 0.007 * body.s ** 0.5)
        bv, bf = _band(ring, top)
        bv = _push_out(bv, body, np.full(len(bv), 0.003 * body.s ** 0.5))
        out.append(_mesh("sweater_collar", bv, bf, "CLOTHING", mat))
        hv, hf = _hem(top, 0.004 * body.s ** 0.5, body)
        out.append(_mesh("sweater_rib", hv, hf, "CLOTHING", mat))
    return out


def _shirt(body: Body, rgb) -> list[Mesh]:
    v, f, loop = _torso(body, Neckline(front=2.6, side=1.45, back=1.2, v=0.55), 0.005)
    mat = _cloth("shirt", rgb, roughness=0.7, sheen=0.3)
    out = [_mesh("shirt", v, f, "CLOTHING", mat)]
    if len(loop):
        ring = _collar_ring(v, loop)
        phi, _ = body.neck_polar(ring)
        # collar stand rises at the back and sides, not in the open V at the front
        rise = 0.028 * body.s * np.clip((np.abs(phi) - 0.35) / 0.9, 0.0, 1.0) ** 0.7
        rise = np.clip(np.minimum(rise, _room_below_jaw(body, ring) - 0.006 * body.s), 0.0, None)
        stand = ring.copy()
        stand[:, 1] += rise
        stand = _push_out(stand, body, np.full(len(stand), 0.006 * body.s ** 0.5))
        sv, sf = _band(ring, stand)
        sv = _push_out(sv, body, np.full(len(sv), 0.003 * body.s ** 0.5))
        out.append(_mesh("shirt_collar_stand", sv, sf, "CLOTHING", mat))
        # the fall folds over the stand, outwards and down to collar points at the front
        out_dir = stand - np.column_stack([np.zeros(len(stand)), stand[:, 1], np.full(len(stand), body.neck_z)])
        out_dir[:, 1] = 0.0
        out_dir /= np.maximum(vectors.length(out_dir, True), 1e-9)
        drop = rise * 0.95 + 0.012 * body.s * np.clip(1.0 - np.abs(phi) / 1.2, 0.0, 1.0)
        fall = stand + out_dir * (0.01 * body.s) - np.column_stack([np.zeros(len(stand)), drop, np.zeros(len(stand))])
        fall = _push_out(fall, body, np.full(len(fall), 0.009 * body.s ** 0.5))
        top = stand + out_dir * 0.002
        fv, ff = _band(top, fall, rows=3)
        fv = _push_out(fv, body, np.full(len(fv), 0.003 * body.s ** 0.5))
        out.append(_mesh("shirt_collar", fv, ff, "CLOTHING", mat))
        hv, hf = _hem(top, 0.0018 * body.s ** 0.5, body)
        out.append(_mesh("shirt_collar_fold", hv, hf, "CLOTHING", mat))
        out += _buttons(body, v, f, "shirt_buttons", (0.85, 0.85, 0.82))
    return out


def _room_below_jaw(body: Body, ring: np.ndarray) -> np.ndarray:
    """(n,) how far each point of a collar ring can rise before it meets the jaw or chin
    (the lowest non-neck skin above it within 2 cm x s sideways); inf where nothing is above."""
    from scipy.spatial import cKDTree

    face = body.v[body.skin_ids]
    face = face[body.vertex_class[body.skin_ids] != CLASS_IDS["NECK"]]
    near = cKDTree(face[:, [0, 2]]).query_ball_point(ring[:, [0, 2]], 0.02 * body.s * (1 - 1e-12))
    sizes = np.fromiter((len(n) for n in near), int, len(near))
    low = np.full(len(ring), np.inf)
    if sizes.sum():
        i = np.repeat(np.arange(len(ring)), sizes)
        y = face[np.concatenate(near).astype(int), 1]
        above = y > ring[i, 1]
        np.minimum.at(low, i[above], y[above])
    return low - ring[:, 1]


def _buttons(body: Body, v: np.ndarray, f: np.ndarray, name: str, rgb) -> list[Mesh]:
    """A few small buttons down the front midline of the garment surface (v, f)."""
    front = v[(np.abs(v[:, 0]) < 0.01 * body.s) & (v[:, 2] > body.neck_z)]
    if len(front) == 0:
        return []
    y_top = front[:, 1].max() - 0.012 * body.s
    pieces = []
    for k in range(3):
        y = y_top - k * 0.045 * body.s
        near = front[np.abs(front[:, 1] - y) < 0.01 * body.s]
        if len(near) == 0:
            continue
        c = near[np.argmax(near[:, 2])] + np.array([0.0, 0.0, 0.0012])
        pieces.append(_disc(c, 0.0045 * body.s ** 0.5, 0.0012))
    if not pieces:
        return []
    vs, fs, off = [], [], 0
    for pv, pf in pieces:
        vs.append(pv)
        fs.append(pf + off)
        off += len(pv)
    return [_mesh(name, np.concatenate(vs), np.concatenate(fs), "CLOTHING",
                  _cloth(name, rgb, roughness=0.35, sheen=0.0))]


def _disc(centre: np.ndarray, radius: float, thick: float) -> tuple[np.ndarray, np.ndarray]:
    path = np.array([centre - [0, 0, thick / 2], centre + [0, 0, thick / 2]])
    return sweep(path, _ring(12), up=np.tile([0.0, 1.0, 0.0], (2, 1)), scale=np.full((2, 2), radius))


def _hoodie(body: Body, rgb) -> list[Mesh]:
    v, f, loop = _torso(body, Neckline(front=2.0, side=1.5, back=1.3), 0.01, smooth=24)
    mat = _cloth("hoodie", rgb, roughness=0.95, sheen=0.7)
    out = [_mesh("hoodie", v, f, "CLOTHING", mat)]
    if not len(loop):
        return out
    ring = _collar_ring(v, loop)
    phi, _ = body.neck_polar(ring)
    # the hood lies bunched behind the neck: a thick roll from one front collar point,
    # around the back (higher), to the other
    order = np.argsort(phi)
    ring_sorted = ring[order]
    phis = phi[order]
    keep = np.abs(phis) > 0.5
    left = ring_sorted[(phis > 0) & keep]
    right = ring_sorted[(phis < 0) & keep]
    # right front -> round the back -> left front
    path = np.vstack([right[::-1], left[::-1]]) if len(left) and len(right) else ring_sorted
    ph_path, _ = body.neck_polar(path)
    back_w = np.clip(-np.cos(ph_path), 0.0, 1.0)
    s = body.s
    path = path + np.column_stack([np.zeros(len(path)), (0.01 + 0.025 * back_w) * s, np.zeros(len(path))])
    radius = (0.012 + 0.02 * back_w) * s
    # cloth lying in a heap, not a tube: a profile thinner than it is tall, bunched into folds
    t = np.linspace(0.0, 1.0, len(path))
    folds = 1.0 + 0.16 * np.sin(2 * np.pi * 5.5 * t) * np.sin(2 * np.pi * 2.2 * t + 0.7)
    across, up = radius * 0.7 * (2.0 - folds), radius * 1.05 * folds
    clear = across + 0.004 * s
    for _ in range(3):
        path = _push_out(path, body, clear)
        path = _smooth_polyline(path, False, 3)
    path = _push_out(_push_out(path, body, clear), body, clear)
    hv, hf = sweep(path, _ring(12), closed=False, scale=np.column_stack([across, up]))
    hv = _push_out(hv, body, np.full(len(hv), 0.002))  # the heap's lower edge may reach the shoulders
    out.append(_mesh("hoodie_hood", hv, hf, "CLOTHING", mat))
    # drawstrings hang from the front ends of the hood, over the hoodie
    over = SurfaceDistance(v, f)
    r_string = 0.0022 * s ** 0.5
    for end in (path[0], path[-1]):
        strand = _hang(end + np.array([0.0, -0.01, 0.0]) * s, 0.11 * s, over, r_string + 0.002)
        strand = _push_out(strand, body, np.full(len(strand), r_string + 0.004))
        dv, df = sweep(strand, _ring(6), scale=np.full((len(strand), 2), r_string))
        out.append(_mesh("hoodie_string", dv, df, "CLOTHING", _cloth("hoodie_string", _shade(rgb, 0.85))))
    return out


def _jacket(body: Body, rgb) -> list[Mesh]:
    """A zip jacket: thick shell, a stand-up collar open at the front, a zip down the middle."""
    s = body.s
    v, f, loop = _torso(body, Neckline(front=1.8, side=1.35, back=1.15), 0.016, smooth=24)
    mat = _cloth("jacket", rgb, roughness=0.75, sheen=0.3)
    out = [_mesh("jacket", v, f, "CLOTHING", mat)]
    if not len(loop):
        return out
    ring = _collar_ring(v, loop, 120)
    phi, _ = body.neck_polar(ring)
    ring = np.roll(ring, -int(np.argmin(np.abs(phi))), axis=0)   # start at the front
    phi, _ = body.neck_polar(ring)
    if phi[1] < phi[0]:
        ring, phi = ring[::-1], phi[::-1]
    keep = np.abs(phi) > 0.12                                      # the opening at the zip
    ring, phi = ring[keep], phi[keep]
    # the collar stands 3 cm at the back, less in front, and always stops below the jaw
    height = 0.032 * s * (0.55 + 0.45 * np.clip(-np.cos(phi), 0.0, 1.0))
    height = np.minimum(height, _room_below_jaw(body, ring) - 0.006 * s)
    stand = ring + np.column_stack([np.zeros(len(ring)), np.clip(height, 0.004 * s, None), np.zeros(len(ring))])
    for _ in range(3):
        stand = _push_out(stand, body, np.full(len(stand), 0.016 * s ** 0.5))
        stand = _smooth_polyline(stand, False, 2)
    sv, sf = _band(ring, stand, closed=False)
    sv = _push_out(sv, body, np.full(len(sv), 0.003 * s ** 0.5))
    out.append(_mesh("jacket_collar", sv, sf, "CLOTHING", mat))
    hv, hf = _hem(stand, 0.003 * s ** 0.5, body, closed=False)
    out.append(_mesh("jacket_collar_edge", hv, hf, "CLOTHING", mat))
    # the zip: down the front midline, on the jacket's surface
    over = SurfaceDistance(v, f)
    mid = v[(np.abs(v[:, 0]) < 0.012 * s) & (v[:, 2] > body.neck_z)]     # the front midline
    if len(mid) < 2:
        return out
    ys = np.linspace(mid[:, 1].max(), mid[:, 1].min(), 30)
    front_z = np.array([mid[np.abs(mid[:, 1] - y) < 0.012 * s, 2].max(initial=np.nan) for y in ys])
    ok = np.isfinite(front_z)
    if ok.sum() < 3:
        return out
    probe = np.column_stack([np.zeros(ok.sum()), ys[ok], front_z[ok] + 0.002])
    _, q, n = over.query(probe)
    zip_path = _smooth_polyline(q + n * 0.0015, False, 2)
    zv, zf = sweep(zip_path, _ring(6), up=np.tile([0.0, 0.0, 1.0], (len(zip_path), 1)),
                   scale=np.tile([0.003 * s ** 0.5, 0.0012], (len(zip_path), 1)))
    out.append(_mesh("jacket_zip", zv, zf, "CLOTHING",
                     Material(name="jacket_zip", kind="cloth", base_color=(0.03, 0.03, 0.03), roughness=0.3,
                              metallic=0.5)))
    return out


def _scarf(body: Body, rgb) -> list[Mesh]:
    """A t-shirt and a scarf wound twice round the neck, one end hanging down the chest.

    Each turn is a band of cloth, taller than it is thick, that bunches into soft folds along
    the neck; the outer turn sits lower and tilts the other way, so the two cross like a wound
    scarf, not a ring."""
    out = _tshirt(body, _shade(rgb, 0.4) if np.mean(rgb) > 0.4 else (0.75, 0.75, 0.72), name="scarf_shirt")
    s = body.s
    mat = _cloth("scarf", rgb, roughness=0.95, sheen=0.8)
    y0 = body.nape_y - 1.15 * body.neck_r
    a = np.linspace(0.0, 2 * np.pi, 96, endpoint=False)
    height, thick = 0.019 * s, 0.0075 * s          # half-sizes of a turn's cross-section
    for turn, (gap, dy, tilt, phase) in enumerate(((0.0, 0.004, 0.010, 0.0), (0.011, -0.012, -0.006, 1.7))):
        r = body.neck_r + (0.008 + gap) * s
        ring = np.column_stack([np.sin(a) * r, y0 + (dy - tilt * np.cos(a)) * s,
                                body.neck_z + np.cos(a) * r * 1.05])
        ring = _smooth_polyline(_push_out(ring, body, np.full(len(ring), thick + 0.003 * s)), True, 4)
        ring = _push_out(ring, body, np.full(len(ring), thick + 0.003 * s))
        folds = 1.0 + 0.18 * np.sin(7 * a + phase) * np.sin(3 * a + 2 * phase)
        scale = np.column_stack([thick * (2.0 - folds), height * folds])
        rv, rf = sweep(ring, _ring(12), closed=True, scale=scale)
        rv = _push_out(rv, body, np.full(len(rv), 0.002))  # a band's edges may reach the shoulders
        out.append(_mesh("scarf" if turn == 0 else f"scarf_{turn}", rv, rf, "CLOTHING", mat))
    # one end hangs down the chest from the outer turn, slightly to the subject's left, over the shirt
    start = ring[np.argmin(np.abs(np.arctan2(ring[:, 0], ring[:, 2] - body.neck_z) - 0.35))]
    shirt = out[0]
    over = SurfaceDistance(shirt.vertices.astype(np.float64), shirt.faces)
    tube = 0.016 * s
    path = _hang(start + np.array([0.0, -0.3 * tube, 0.0]), 0.15 * s, over, 0.45 * tube + 0.002)
    hv, hf = sweep(path, _ring(10), scale=np.tile([tube * 1.5, tube * 0.45], (len(path), 1)),
                   up=np.tile([0.0, 0.0, 1.0], (len(path), 1)))
    out.append(_mesh("scarf_end", hv, hf, "CLOTHING", mat))
    return out


_CLOTHING: dict[str, Callable[[Body, tuple], list[Mesh]]] = {
    "tshirt": _tshirt, "shirt": _shirt, "sweater": _sweater, "hoodie": _hoodie, "jacket": _jacket,
    "scarf": _scarf,
}


# ---------------------------------------------------------------------------------- headwear
def _hat_line(front: float, side: float, back: float, front_power: float = 1.5
              ) -> Callable[[Body], Callable[[np.ndarray], np.ndarray]]:
    """Field factory: g(p) <= 0 above a line round the head at ``front`` (above the brows),
    ``side`` (above the ear tops) and ``back`` (relative to the ear tops), in units of s x m.
    A smaller ``front_power`` keeps the front height further round the sides."""
    def make(body: Body) -> Callable[[np.ndarray], np.ndarray]:
        s = body.s
        y_front, y_side, y_back = body.brow_y + front * s, body.ear_top_y + side * s, body.ear_top_y + back * s

        def g(p: np.ndarray) -> np.ndarray:
            c = np.cos(body.head_azimuth(p))
            fw, bw = np.clip(c, 0, 1) ** front_power, np.clip(-c, 0, 1) ** 1.5
            return (y_side + (y_front - y_side) * fw + (y_back - y_side) * bw) - p[:, 1]
        return g
    return make


def _crown(body: Body, field, thickness: float, smooth: int = 24) -> tuple[Shell, np.ndarray]:
    g = field(body.v)
    shell = clip_surface(body.v, body.outer_faces, g, body.normals, np.zeros(len(body.v), bool))
    p = drape(shell, body, thickness, smooth=smooth)
    under = g[body.outer_faces].max(axis=1) < -0.004 * body.s
    return shell, _cover(p, shell.f, body, under, 0.4 * thickness)


def _edge_loop(shell: Shell, p: np.ndarray, n: int = 128) -> np.ndarray:
    loops = boundary_loop(shell.f)
    return _resample(_smooth_polyline(p[loops[0]], True, 2), n, True)


def _cap(body: Body, rgb) -> list[Mesh]:
    s = body.s
    shell, p = _crown(body, _hat_line(0.022, 0.012, -0.002)(body), 0.004 * s ** 0.5)
    mat = _headwear("cap", rgb)
    out = [_mesh("cap", p, shell.f, "HEADWEAR", mat)]
    edge = _edge_loop(shell, p)
    hv, hf = _hem(edge, 0.003 * s ** 0.5, body)
    out.append(_mesh("cap_band", hv, hf, "HEADWEAR", mat))
    # visor: from the front of the band forward and slightly down, rounded at the tip
    phi = body.head_azimuth(edge)
    front = np.abs(phi) < 1.05
    inner = edge[front][np.argsort(phi[front])]
    t = np.sin(np.clip(body.head_azimuth(inner), -1.05, 1.05) / 1.05 * np.pi / 2)
    reach = 0.07 * s * np.sqrt(np.clip(1 - t ** 2, 0.0, 1.0)) + 0.004 * s
    outward = inner - np.array([0.0, inner[:, 1].mean(), body.head_z])
    outward[:, 1] = 0.0
    outward /= vectors.length(outward, True)
    fwd = 0.6 * outward + 0.4 * np.array([0.0, 0.0, 1.0])
    fwd /= vectors.length(fwd, True)
    tip = inner + fwd * reach[:, None] + np.array([0.0, -1.0, 0.0]) * (0.2 * reach)[:, None]
    vv, vf = _slab(inner + [0.0, 0.0015 * s, 0.0], tip, 0.0035 * s ** 0.5)
    out.append(_mesh("cap_visor", vv, vf, "HEADWEAR", _headwear("cap_visor", _shade(rgb, 0.9))))
    apex = p[np.argmax(p[:, 1])]
    bv, bf = sweep(np.array([apex - [0, 0.001, 0], apex + [0, 0.003 * s, 0]]), _ring(10),
                   up=np.tile([0.0, 0.0, 1.0], (2, 1)), scale=np.full((2, 2), 0.005 * s))
    out.append(_mesh("cap_button", bv, bf, "HEADWEAR", mat))
    return out


def _slab(inner: np.ndarray, outer: np.ndarray, thick: float, rows: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A thin closed plate between an open inner curve and an outer curve (equal lengths)."""
    n = len(inner)
    t = np.linspace(0.0, 1.0, rows + 1)[:, None, None]
    mid = ((1 - t) * inner[None] + t * outer[None]).reshape(-1, 3)
    up = np.array([0.0, thick / 2, 0.0])
    v = np.vstack([mid + up, mid - up])
    m = len(mid)
    f = []
    for r in range(rows):
        for j in range(n - 1):
            a, b, c, d = r * n + j, r * n + j + 1, (r + 1) * n + j + 1, (r + 1) * n + j
            f += [[a, b, c], [a, c, d], [a + m, c + m, b + m], [a + m, d + m, c + m]]
    def side(i0, i1):
        f.extend([[i0, i1, i1 + m], [i0, i1 + m, i0 + m]])
    for j in range(n - 1):            # inner and outer edges
        side(j + 1, j)
        side(rows * n + j, rows * n + j + 1)
    for r in range(rows):             # the two ends
        side(r * n, (r + 1) * n)
        side((r + 1) * n + n - 1, r * n + n - 1)
    from facefarm.pipeline.glasses import _orient_outward

    return _orient_outward(v, np.asarray(f))


def _beanie(body: Body, rgb) -> list[Mesh]:
    s = body.s
    line = _hat_line(0.012, 0.012, -0.012)(body)
    shell = clip_surface(body.v, body.outer_faces, line(body.v), body.normals, np.zeros(len(body.v), bool))
    # knitted: thick, a little slouch at the top, and a folded cuff along the edge
    above = -line(shell.v)                     # metres above the hat line
    height = (shell.v[:, 1] - shell.v[:, 1].min()) / max(np.ptp(shell.v[:, 1]), 1e-6)
    thick = (0.006 + 0.01 * height ** 3) * s ** 0.5
    p = drape(shell, body, thick, smooth=28)
    under = line(body.v)[body.outer_faces].max(axis=1) < -0.004 * s
    p = _cover(p, shell.f, body, under, 0.0024 * s ** 0.5)
    mat = _headwear("beanie", rgb, roughness=0.95, sheen=0.7)  # a knit, fuzzy like a sweater
    out = [_mesh("beanie", p, shell.f, "HEADWEAR", mat)]
    band = above < 0.03 * s
    cuff_thick = np.where(band, 0.011 * s ** 0.5, thick)
    cuff_shell = Shell(v=shell.v, f=shell.f[band[shell.f].all(axis=1)], n=shell.n, on_crop=shell.on_crop)
    if len(cuff_shell.f):
        used = np.unique(cuff_shell.f)
        remap = np.full(len(shell.v), -1)
        remap[used] = np.arange(len(used))
        sub = Shell(v=shell.v[used], f=remap[cuff_shell.f], n=shell.n[used], on_crop=shell.on_crop[used])
        cp = drape(sub, body, cuff_thick[used], smooth=12)
        out.append(_mesh("beanie_cuff", cp, sub.f, "HEADWEAR", mat))
        edge = _edge_loop(sub, cp)
        hv, hf = _hem(edge, 0.004 * s ** 0.5, body)
        out.append(_mesh("beanie_edge", hv, hf, "HEADWEAR", mat))
    return out


def _wide_brim_hat(body: Body, rgb) -> list[Mesh]:
    s = body.s
    shell, p = _crown(body, _hat_line(0.026, 0.014, 0.0)(body), 0.012 * s ** 0.5, smooth=40)
    mat = _headwear("hat", rgb, roughness=0.7, sheen=0.5)  # felt
    # a taller, flatter crown than the skull: lift the top
    top = p[:, 1].max()
    lift = np.clip((p[:, 1] - (top - 0.05 * s)) / (0.05 * s), 0.0, 1.0)
    p = p + np.column_stack([np.zeros(len(p)), 0.02 * s * lift, np.zeros(len(p))])
    out = [_mesh("hat_crown", p, shell.f, "HEADWEAR", mat)]
    edge = _edge_loop(shell, p)
    hv, hf = _hem(edge, 0.005 * s ** 0.5, body)
    out.append(_mesh("hat_band", hv, hf, "HEADWEAR", _headwear("hat_band", _shade(rgb, 0.35))))
    centre = np.array([0.0, edge[:, 1].mean(), body.head_z])
    radial = edge - centre
    radial[:, 1] = 0.0
    radial /= vectors.length(radial, True)
    width = 0.075 * s
    outer = edge + radial * width + np.array([0.0, -0.012 * s, 0.0])
    ring_in = np.vstack([edge, edge[:1]])
    ring_out = np.vstack([outer, outer[:1]])
    bv, bf = _slab(ring_in + [0.0, 0.002 * s, 0.0], ring_out, 0.004 * s ** 0.5, rows=5)
    out.append(_mesh("hat_brim", bv, bf, "HEADWEAR", mat))
    return out


def _headscarf(body: Body, rgb, under: Sequence[Mesh] = ()) -> list[Mesh]:
    from facefarm.pipeline.garments_headscarf import hijab  # the wrap needs this module's helpers

    return hijab(body, rgb, under)


def _kerchief(body: Body, rgb, under: Sequence[Mesh] = ()) -> list[Mesh]:
    from facefarm.pipeline.garments_headscarf import kerchief

    return kerchief(body, rgb, under)


def _headscarf_field(body: Body) -> Callable[[np.ndarray], np.ndarray]:
    from facefarm.pipeline.garments_headscarf import hijab_field

    return hijab_field(body)


def _kerchief_field(body: Body) -> Callable[[np.ndarray], np.ndarray]:
    from facefarm.pipeline.garments_headscarf import kerchief_field

    return kerchief_field(body)


#: Headwear that drapes over the clothes gets them as ``under``.
_HEADWEAR: dict[str, Callable[..., list[Mesh]]] = {
    "cap": _cap, "beanie": _beanie, "wide_brim_hat": _wide_brim_hat, "headscarf": _headscarf,
    "kerchief": _kerchief,
}
_OVER_CLOTHES = ("headscarf", "kerchief")
#: Headwear under which no scalp hair shows at all, even where the head stays bare.
_TUCKS_ALL_HAIR = ("headscarf",)
_HEADWEAR_FIELDS = {
    "cap": _hat_line(0.022, 0.012, -0.002), "beanie": _hat_line(0.012, 0.012, -0.012),
    "wide_brim_hat": _hat_line(0.026, 0.014, 0.0), "headscarf": _headscarf_field, "kerchief": _kerchief_field,
}
