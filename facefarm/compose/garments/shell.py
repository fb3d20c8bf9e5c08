"""Draped shells of the skin, and the small pieces every garment is built from: hems, rings, hanging cords, materials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from facefarm.catalog.colors import srgb_to_linear_rgb
from facefarm.compose.garments.body import Body, open_edges
from facefarm.geometry import vectors
from facefarm.geometry.surface import SurfaceDistance, sweep
from facefarm.scene.classes import CLASS_IDS
from facefarm.scene.model import FABRIC_SHEEN, Material, Mesh


def linear_rgb(rgb) -> tuple[float, float, float]:
    return srgb_to_linear_rgb(rgb)


# ---------------------------------------------------------------------------------- shells
@dataclass
class Shell:
    """An open triangle surface with, per vertex, where on the skin it came from."""

    v: np.ndarray  # (n, 3)
    f: np.ndarray  # (m, 3)
    n: np.ndarray  # (n, 3) unit skin normal at the source point
    on_crop: np.ndarray  # (n,) bool: vertex lies on the skin's crop boundary


def clip_surface(v: np.ndarray, f: np.ndarray, g: np.ndarray, normals: np.ndarray, crop: np.ndarray) -> Shell:
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


def drape(
    shell: Shell, body: Body, thickness: float | np.ndarray, smooth: int = 20, gap: float | None = None
) -> np.ndarray:
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
            p = push_out(p, body, gap_v)
    return push_out(push_out(p, body, gap_v), body, gap_v)


def cover_skin(
    p: np.ndarray, f: np.ndarray, body: Body, covered: np.ndarray, gap: float, rounds: int = 4
) -> np.ndarray:
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
    probes = np.concatenate(
        [tri.reshape(-1, 3), tri.mean(axis=1)]
        + [(t * tri + (1 - t) * rolled).reshape(-1, 3) for t in (0.25, 0.5, 0.75)]
    )
    reach = 0.012 * body.s
    for _ in range(rounds):
        d, q, n, face = SurfaceDistance(p, f).query(probes, return_faces=True)
        bad = d > -gap  # the skin point is outside or too close under
        if not bad.any():
            break
        qb, nb, db, fb = q[bad], n[bad], d[bad], face[bad]
        # each bad skin point lifts the corners of the shell triangle over it (at least half
        # way) and a soft neighbourhood; every shell vertex takes its largest lift
        balls = cKDTree(p).query_ball_point(qb, reach)
        sizes = np.fromiter((len(b) for b in balls), int, len(balls))
        pi = np.concatenate([np.repeat(np.arange(len(qb)), sizes), np.repeat(np.arange(len(qb)), 3)])
        pj = np.concatenate([np.concatenate(balls).astype(int) if sizes.sum() else np.zeros(0, int), f[fb].ravel()])
        corner = np.concatenate([np.zeros(sizes.sum(), bool), np.ones(3 * len(qb), bool)])
        w = 1.0 - vectors.length(p[pj] - qb[pi]) / reach
        w = np.where(corner, np.maximum(w, 0.5), w)
        amount = (db[pi] + gap) * 1.2 * w
        ok = amount > 0
        pi, pj, amount = pi[ok], pj[ok], amount[ok]
        order = np.lexsort((pi, -amount, pj))  # per vertex: largest lift, first skin point
        first = order[np.r_[True, pj[order][1:] != pj[order][:-1]]]
        p = p.copy()
        p[pj[first]] += nb[pi[first]] * amount[first][:, None]
    return p


def push_out(p: np.ndarray, body: Body | SurfaceDistance, gap: np.ndarray, reach: float | None = None) -> np.ndarray:
    """Move points that are closer than ``gap`` (m, per point) to the skin (or to another
    surface) out along its normal; with ``reach``, only points at most that deep inside."""
    surface = body.surface if isinstance(body, Body) else body
    d, _q, nrm = surface.query(p)
    short = np.clip(gap - d, 0.0, None)
    if reach is not None:
        short[d < -reach] = 0.0
    return p + nrm * short[:, None] * 1.05


def hang(top: np.ndarray, length: float, over: SurfaceDistance, gap: float, n: int = 12) -> np.ndarray:
    """(n, 3) a strand hanging down from ``top``, resting on the surface ``over``."""
    path = top + np.outer(np.linspace(0.0, 1.0, n), [0.0, -length, 0.0])
    for _ in range(4):
        path = push_out(path, over, np.full(n, gap))
        path = smooth_polyline(path, False, 2)
    return push_out(path, over, np.full(n, gap))


def extend_crop(shell: Shell, p: np.ndarray, body: Body, rings: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Continue a torso shell past the skin's ragged crop into a simple bust: each crop-edge
    vertex steps out, then travels down to an elliptic cylinder at the same azimuth (about
    2.6 skull half-widths wide, less for small children), ~0.08 m x s lower.

    Small children's heads (s < 0.85) end round the base of the neck, so their shoulders come
    from the bust alone: there it slopes down over the shoulders first, then falls straight
    (a step straight out would read as a bib), in ``rings + 2`` rings."""
    edges = open_edges(shell.f)
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
        elif k <= half:  # out over the shoulder
            t = (k - 1) / max(half - 1, 1)
            ease = 1 - (1 - t) ** 2
            pos = first + (shoulder - first) * np.array([ease, t, ease])
        else:  # and down the chest, back and arms
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
        pos = push_out(pos, body, np.full(len(pos), 0.012 * s), reach=0.024 * s if small else None)
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


# ---------------------------------------------------------------------------------- pieces
def merged_arrays(meshes: Sequence[Mesh]) -> tuple[np.ndarray, np.ndarray]:
    """One (v (n, 3) float64, f (m, 3) int64) surface of several meshes."""
    vs, fs, off = [], [], 0
    for m in meshes:
        vs.append(np.asarray(m.vertices, np.float64))
        fs.append(np.asarray(m.faces, np.int64) + off)
        off += len(m.vertices)
    return np.concatenate(vs), np.concatenate(fs)


def garment_mesh(name: str, v: np.ndarray, f: np.ndarray, cls: str, material: Material) -> Mesh:
    return Mesh(
        name=name,
        vertices=np.asarray(v, np.float32),
        faces=np.asarray(f, np.int32),
        face_class=np.full(len(f), CLASS_IDS[cls], np.uint8),
        material=material,
    )


def headwear_material(name: str, rgb, roughness: float = 0.8, sheen: float = FABRIC_SHEEN) -> Material:
    return Material(name=name, kind="headwear", base_color=tuple(rgb), roughness=roughness, specular=0.3, sheen=sheen)


def shaded(rgb, k: float) -> tuple[float, float, float]:
    return tuple(float(np.clip(c * k, 0.0, 1.0)) for c in rgb)  # type: ignore[return-value]


def hem(points: np.ndarray, radius: float, body: Body, closed: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A rolled edge: a tube of ``radius`` along ``points``, kept off the skin."""
    pts = push_out(points, body, np.full(len(points), radius + 0.0015))
    pts = smooth_polyline(pts, closed, 2)
    pts = push_out(pts, body, np.full(len(points), radius + 0.0015))
    return sweep(pts, ring_points(8), closed=closed, scale=np.full((len(pts), 2), radius))


def ring_points(m: int) -> np.ndarray:
    a = np.linspace(0.0, 2 * np.pi, m, endpoint=False)
    return np.stack([np.cos(a), np.sin(a)], axis=1)


def smooth_polyline(p: np.ndarray, closed: bool, it: int) -> np.ndarray:
    p = p.copy()
    for _ in range(it):
        if closed:
            p = 0.25 * np.roll(p, 1, axis=0) + 0.5 * p + 0.25 * np.roll(p, -1, axis=0)
        else:
            p[1:-1] = 0.25 * p[:-2] + 0.5 * p[1:-1] + 0.25 * p[2:]
    return p


def resample_polyline(p: np.ndarray, n: int, closed: bool) -> np.ndarray:
    q = np.vstack([p, p[:1]]) if closed else p
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(q, axis=0), axis=1))])
    t = np.linspace(0.0, s[-1], n, endpoint=not closed)
    return np.stack([np.interp(t, s, q[:, k]) for k in range(3)], axis=1)
