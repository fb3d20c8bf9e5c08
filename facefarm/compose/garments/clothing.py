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
:mod:`facefarm.compose.garments.headscarf`. Unknown ids are looked
up among the user assets. What depends only on the head asset's topology (skin faces, crop
boundary, class masks) is measured once per asset (:func:`head_topology`).

Frames and units: head frame of ``HeadModel.shape`` (metres, +y up, +z out of the face,
+x the subject's left); colours in samples are sRGB 0..1, materials get linear RGB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from facefarm.compose.garments.body import Body, boundary_loop
from facefarm.compose.garments.shell import (
    clip_surface,
    cover_skin,
    drape,
    extend_crop,
    garment_mesh,
    hang,
    hem,
    linear_rgb,
    push_out,
    resample_polyline,
    ring_points,
    shaded,
    smooth_polyline,
)
from facefarm.geometry import vectors
from facefarm.geometry.surface import SurfaceDistance, sweep
from facefarm.scene.classes import CLASS_IDS
from facefarm.scene.model import Material, Mesh


def clothing_meshes(garment_id: str, color_rgb, body: Body) -> list[Mesh]:
    """Meshes of one built-in clothing item (an id of :data:`CLOTHING_IDS`; user assets are
    fitted by :mod:`facefarm.compose.user_assets`) on ``body`` (:meth:`Body.measure` of the posed
    head)."""
    return CLOTHING_BUILDERS[garment_id](body, linear_rgb(color_rgb))


def _push_bust(p: np.ndarray, body: Body, gap: float) -> np.ndarray:
    """:func:`push_out` for points of a torso garment: below the skin's open crop a point's
    inside/outside sign is unreliable (the nearest skin is the crop's edge), so there only
    points near the skin move."""
    d, q, nrm = body.surface.query(p)
    e = body.v[body.crop_edges]  # (E, 2, 3)
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


def _cloth(name: str, rgb, roughness: float = 0.85, sheen: float = 0.6) -> Material:
    return Material(name=name, kind="cloth", base_color=tuple(rgb), roughness=roughness, specular=0.3, sheen=sheen)


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


def _torso(
    body: Body, neckline: Neckline, thickness: float, smooth: int = 16
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The torso shell under ``neckline``, extended into the bust. Returns (v, f, neckline loop ids)."""
    g = neckline.field(body)(body.v)
    crop = np.zeros(len(body.v), bool)
    crop[body.boundary] = True
    shell = clip_surface(body.v, body.outer_faces, g, body.normals, crop)
    th = thickness * body.s**0.5
    p = drape(shell, body, th, smooth=smooth)
    under = g[body.outer_faces].max(axis=1) < -0.004 * body.s
    p = cover_skin(p, shell.f, body, under, 0.4 * th)
    v, f = extend_crop(shell, p, body)
    v = _push_bust(cover_skin(v, f, body, under, 0.4 * th), body, 0.4 * th)
    not_crop = np.concatenate([~shell.on_crop, np.zeros(len(v) - len(p), bool)])
    loops = boundary_loop(f, not_crop)
    return v, f, (loops[0] if loops else np.zeros(0, int))


def _collar_ring(v: np.ndarray, loop: np.ndarray, n: int = 96) -> np.ndarray:
    return resample_polyline(smooth_polyline(v[loop], True, 3), n, True)


def _rise(body: Body, ring: np.ndarray, height: float, out: float) -> np.ndarray:
    """``ring`` moved up the neck by ``height`` (less where the jaw is closer) and kept ``out``
    off the skin."""
    rise = np.clip(np.minimum(height, _room_below_jaw(body, ring) - 0.006 * body.s), 0.003 * body.s, None)
    p = ring + np.column_stack([np.zeros(len(ring)), rise, np.zeros(len(ring))])
    for _ in range(3):
        p = push_out(p, body, np.full(len(p), out))
        p = smooth_polyline(p, True, 2)
    return push_out(p, body, np.full(len(p), out))


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
    out = [garment_mesh(name, v, f, "CLOTHING", mat)]
    if len(loop):
        ring = _collar_ring(v, loop)
        hv, hf = hem(ring, 0.0028 * body.s**0.5, body)
        out.append(garment_mesh(f"{name}_hem", hv, hf, "CLOTHING", mat))
    return out


def _sweater(body: Body, rgb) -> list[Mesh]:
    v, f, loop = _torso(body, Neckline(front=1.9, side=1.45, back=1.25), 0.008, smooth=24)
    mat = _cloth("sweater", rgb, roughness=0.95, sheen=0.8)
    out = [garment_mesh("sweater", v, f, "CLOTHING", mat)]
    if len(loop):
        ring = _collar_ring(v, loop)
        top = _rise(body, ring, 0.022 * body.s, 0.007 * body.s**0.5)
        bv, bf = _band(ring, top)
        bv = push_out(bv, body, np.full(len(bv), 0.003 * body.s**0.5))
        out.append(garment_mesh("sweater_collar", bv, bf, "CLOTHING", mat))
        hv, hf = hem(top, 0.004 * body.s**0.5, body)
        out.append(garment_mesh("sweater_rib", hv, hf, "CLOTHING", mat))
    return out


def _shirt(body: Body, rgb) -> list[Mesh]:
    v, f, loop = _torso(body, Neckline(front=2.6, side=1.45, back=1.2, v=0.55), 0.005)
    mat = _cloth("shirt", rgb, roughness=0.7, sheen=0.3)
    out = [garment_mesh("shirt", v, f, "CLOTHING", mat)]
    if len(loop):
        ring = _collar_ring(v, loop)
        phi, _ = body.neck_polar(ring)
        # collar stand rises at the back and sides, not in the open V at the front
        rise = 0.028 * body.s * np.clip((np.abs(phi) - 0.35) / 0.9, 0.0, 1.0) ** 0.7
        rise = np.clip(np.minimum(rise, _room_below_jaw(body, ring) - 0.006 * body.s), 0.0, None)
        stand = ring.copy()
        stand[:, 1] += rise
        stand = push_out(stand, body, np.full(len(stand), 0.006 * body.s**0.5))
        sv, sf = _band(ring, stand)
        sv = push_out(sv, body, np.full(len(sv), 0.003 * body.s**0.5))
        out.append(garment_mesh("shirt_collar_stand", sv, sf, "CLOTHING", mat))
        # the fall folds over the stand, outwards and down to collar points at the front
        out_dir = stand - np.column_stack([np.zeros(len(stand)), stand[:, 1], np.full(len(stand), body.neck_z)])
        out_dir[:, 1] = 0.0
        out_dir /= np.maximum(vectors.length(out_dir, True), 1e-9)
        drop = rise * 0.95 + 0.012 * body.s * np.clip(1.0 - np.abs(phi) / 1.2, 0.0, 1.0)
        fall = stand + out_dir * (0.01 * body.s) - np.column_stack([np.zeros(len(stand)), drop, np.zeros(len(stand))])
        fall = push_out(fall, body, np.full(len(fall), 0.009 * body.s**0.5))
        top = stand + out_dir * 0.002
        fv, ff = _band(top, fall, rows=3)
        fv = push_out(fv, body, np.full(len(fv), 0.003 * body.s**0.5))
        out.append(garment_mesh("shirt_collar", fv, ff, "CLOTHING", mat))
        hv, hf = hem(top, 0.0018 * body.s**0.5, body)
        out.append(garment_mesh("shirt_collar_fold", hv, hf, "CLOTHING", mat))
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
        pieces.append(_disc(c, 0.0045 * body.s**0.5, 0.0012))
    if not pieces:
        return []
    vs, fs, off = [], [], 0
    for pv, pf in pieces:
        vs.append(pv)
        fs.append(pf + off)
        off += len(pv)
    return [
        garment_mesh(
            name, np.concatenate(vs), np.concatenate(fs), "CLOTHING", _cloth(name, rgb, roughness=0.35, sheen=0.0)
        )
    ]


def _disc(centre: np.ndarray, radius: float, thick: float) -> tuple[np.ndarray, np.ndarray]:
    path = np.array([centre - [0, 0, thick / 2], centre + [0, 0, thick / 2]])
    return sweep(path, ring_points(12), up=np.tile([0.0, 1.0, 0.0], (2, 1)), scale=np.full((2, 2), radius))


def _hoodie(body: Body, rgb) -> list[Mesh]:
    v, f, loop = _torso(body, Neckline(front=2.0, side=1.5, back=1.3), 0.01, smooth=24)
    mat = _cloth("hoodie", rgb, roughness=0.95, sheen=0.7)
    out = [garment_mesh("hoodie", v, f, "CLOTHING", mat)]
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
        path = push_out(path, body, clear)
        path = smooth_polyline(path, False, 3)
    path = push_out(push_out(path, body, clear), body, clear)
    hv, hf = sweep(path, ring_points(12), closed=False, scale=np.column_stack([across, up]))
    hv = push_out(hv, body, np.full(len(hv), 0.002))  # the heap's lower edge may reach the shoulders
    out.append(garment_mesh("hoodie_hood", hv, hf, "CLOTHING", mat))
    # drawstrings hang from the front ends of the hood, over the hoodie
    over = SurfaceDistance(v, f)
    r_string = 0.0022 * s**0.5
    for end in (path[0], path[-1]):
        strand = hang(end + np.array([0.0, -0.01, 0.0]) * s, 0.11 * s, over, r_string + 0.002)
        strand = push_out(strand, body, np.full(len(strand), r_string + 0.004))
        dv, df = sweep(strand, ring_points(6), scale=np.full((len(strand), 2), r_string))
        out.append(garment_mesh("hoodie_string", dv, df, "CLOTHING", _cloth("hoodie_string", shaded(rgb, 0.85))))
    return out


def _jacket(body: Body, rgb) -> list[Mesh]:
    """A zip jacket: thick shell, a stand-up collar open at the front, a zip down the middle."""
    s = body.s
    v, f, loop = _torso(body, Neckline(front=1.8, side=1.35, back=1.15), 0.016, smooth=24)
    mat = _cloth("jacket", rgb, roughness=0.75, sheen=0.3)
    out = [garment_mesh("jacket", v, f, "CLOTHING", mat)]
    if not len(loop):
        return out
    ring = _collar_ring(v, loop, 120)
    phi, _ = body.neck_polar(ring)
    ring = np.roll(ring, -int(np.argmin(np.abs(phi))), axis=0)  # start at the front
    phi, _ = body.neck_polar(ring)
    if phi[1] < phi[0]:
        ring, phi = ring[::-1], phi[::-1]
    keep = np.abs(phi) > 0.12  # the opening at the zip
    ring, phi = ring[keep], phi[keep]
    # the collar stands 3 cm at the back, less in front, and always stops below the jaw
    height = 0.032 * s * (0.55 + 0.45 * np.clip(-np.cos(phi), 0.0, 1.0))
    height = np.minimum(height, _room_below_jaw(body, ring) - 0.006 * s)
    stand = ring + np.column_stack([np.zeros(len(ring)), np.clip(height, 0.004 * s, None), np.zeros(len(ring))])
    for _ in range(3):
        stand = push_out(stand, body, np.full(len(stand), 0.016 * s**0.5))
        stand = smooth_polyline(stand, False, 2)
    sv, sf = _band(ring, stand, closed=False)
    sv = push_out(sv, body, np.full(len(sv), 0.003 * s**0.5))
    out.append(garment_mesh("jacket_collar", sv, sf, "CLOTHING", mat))
    hv, hf = hem(stand, 0.003 * s**0.5, body, closed=False)
    out.append(garment_mesh("jacket_collar_edge", hv, hf, "CLOTHING", mat))
    # the zip: down the front midline, on the jacket's surface
    over = SurfaceDistance(v, f)
    mid = v[(np.abs(v[:, 0]) < 0.012 * s) & (v[:, 2] > body.neck_z)]  # the front midline
    if len(mid) < 2:
        return out
    ys = np.linspace(mid[:, 1].max(), mid[:, 1].min(), 30)
    front_z = np.array([mid[np.abs(mid[:, 1] - y) < 0.012 * s, 2].max(initial=np.nan) for y in ys])
    ok = np.isfinite(front_z)
    if ok.sum() < 3:
        return out
    probe = np.column_stack([np.zeros(ok.sum()), ys[ok], front_z[ok] + 0.002])
    _, q, n = over.query(probe)
    zip_path = smooth_polyline(q + n * 0.0015, False, 2)
    zv, zf = sweep(
        zip_path,
        ring_points(6),
        up=np.tile([0.0, 0.0, 1.0], (len(zip_path), 1)),
        scale=np.tile([0.003 * s**0.5, 0.0012], (len(zip_path), 1)),
    )
    out.append(
        garment_mesh(
            "jacket_zip",
            zv,
            zf,
            "CLOTHING",
            Material(name="jacket_zip", kind="cloth", base_color=(0.03, 0.03, 0.03), roughness=0.3, metallic=0.5),
        )
    )
    return out


def _scarf(body: Body, rgb) -> list[Mesh]:
    """A t-shirt and a scarf wound twice round the neck, one end hanging down the chest.

    Each turn is a band of cloth, taller than it is thick, that bunches into soft folds along
    the neck; the outer turn sits lower and tilts the other way, so the two cross like a wound
    scarf, not a ring."""
    out = _tshirt(body, shaded(rgb, 0.4) if np.mean(rgb) > 0.4 else (0.75, 0.75, 0.72), name="scarf_shirt")
    s = body.s
    mat = _cloth("scarf", rgb, roughness=0.95, sheen=0.8)
    y0 = body.nape_y - 1.15 * body.neck_r
    a = np.linspace(0.0, 2 * np.pi, 96, endpoint=False)
    height, thick = 0.019 * s, 0.0075 * s  # half-sizes of a turn's cross-section
    for turn, (gap, dy, tilt, phase) in enumerate(((0.0, 0.004, 0.010, 0.0), (0.011, -0.012, -0.006, 1.7))):
        r = body.neck_r + (0.008 + gap) * s
        ring = np.column_stack([np.sin(a) * r, y0 + (dy - tilt * np.cos(a)) * s, body.neck_z + np.cos(a) * r * 1.05])
        ring = smooth_polyline(push_out(ring, body, np.full(len(ring), thick + 0.003 * s)), True, 4)
        ring = push_out(ring, body, np.full(len(ring), thick + 0.003 * s))
        folds = 1.0 + 0.18 * np.sin(7 * a + phase) * np.sin(3 * a + 2 * phase)
        scale = np.column_stack([thick * (2.0 - folds), height * folds])
        rv, rf = sweep(ring, ring_points(12), closed=True, scale=scale)
        rv = push_out(rv, body, np.full(len(rv), 0.002))  # a band's edges may reach the shoulders
        out.append(garment_mesh("scarf" if turn == 0 else f"scarf_{turn}", rv, rf, "CLOTHING", mat))
    # one end hangs down the chest from the outer turn, slightly to the subject's left, over the shirt
    start = ring[np.argmin(np.abs(np.arctan2(ring[:, 0], ring[:, 2] - body.neck_z) - 0.35))]
    shirt = out[0]
    over = SurfaceDistance(shirt.vertices.astype(np.float64), shirt.faces)
    tube = 0.016 * s
    path = hang(start + np.array([0.0, -0.3 * tube, 0.0]), 0.15 * s, over, 0.45 * tube + 0.002)
    hv, hf = sweep(
        path,
        ring_points(10),
        scale=np.tile([tube * 1.5, tube * 0.45], (len(path), 1)),
        up=np.tile([0.0, 0.0, 1.0], (len(path), 1)),
    )
    out.append(garment_mesh("scarf_end", hv, hf, "CLOTHING", mat))
    return out


CLOTHING_BUILDERS: dict[str, Callable[[Body, tuple], list[Mesh]]] = {
    "tshirt": _tshirt,
    "shirt": _shirt,
    "sweater": _sweater,
    "hoodie": _hoodie,
    "jacket": _jacket,
    "scarf": _scarf,
}
