"""Headwear on the head: caps, beanies, wide-brimmed hats, and the headscarves of :mod:`facefarm.compose.garments.headscarf`; the part of the head each covers."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from facefarm.catalog.vocabulary import HEADWEAR_IDS
from facefarm.compose.garments.body import Body, boundary_loop, head_topology
from facefarm.compose.garments.headscarf import hijab, hijab_field, kerchief, kerchief_field
from facefarm.compose.garments.shell import (
    Shell,
    clip_surface,
    cover_skin,
    drape,
    garment_mesh,
    headwear_material,
    hem,
    linear_rgb,
    resample_polyline,
    ring_points,
    shaded,
    smooth_polyline,
)
from facefarm.geometry import vectors
from facefarm.geometry.surface import orient_outward, sweep
from facefarm.scene.model import Mesh


def headwear_meshes(headwear_id: str, color_rgb, body: Body, under: Sequence[Mesh] = ()) -> list[Mesh]:
    """Meshes of one built-in headwear item (an id of :data:`HEADWEAR_IDS`; user assets are
    fitted by :mod:`facefarm.compose.user_assets`) on ``body`` (:meth:`Body.measure` of the posed
    head). ``under``: clothing meshes (head frame) that a scarf has to drape over."""
    if headwear_id in _OVER_CLOTHES:
        return HEADWEAR_BUILDERS[headwear_id](body, linear_rgb(color_rgb), list(under))
    return HEADWEAR_BUILDERS[headwear_id](body, linear_rgb(color_rgb))


def headwear_field(headwear_id: str, body: Body) -> Callable[[np.ndarray], np.ndarray] | None:
    """g(points (n, 3)) -> (n,): <= 0 in the part of the head (measured as ``body``) the headwear
    ``headwear_id`` covers (above its line round the head), or None for no known headwear."""
    if headwear_id not in HEADWEAR_IDS:
        return None
    return _HEADWEAR_FIELDS[headwear_id](body)


def tucks_all_hair(headwear_id: str) -> bool:
    """Whether no scalp hair at all shows under the headwear (a headscarf)."""
    return headwear_id in _TUCKS_ALL_HAIR


def headwear_coverage(headwear_id: str, head, vertices: np.ndarray, field) -> np.ndarray:
    """(V,) bool: head vertices under the headwear ``headwear_id`` (where hair should not show).
    ``field``: its :func:`headwear_field` on these vertices (None: nothing is covered)."""
    if field is None:
        return np.zeros(len(vertices), bool)
    skin_ids = head_topology(head).skin_ids
    covered = np.zeros(len(vertices), bool)
    covered[skin_ids] = field(np.asarray(vertices, np.float64)[skin_ids]) <= 0
    if headwear_id in _TUCKS_ALL_HAIR:
        # the sideburns in front of the ears are open with the face, but their hair is tucked in too
        covered[np.asarray(head.scalp)] = True
    return covered


# ---------------------------------------------------------------------------------- headwear
def _hat_line(
    front: float, side: float, back: float, front_power: float = 1.5
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
    return shell, cover_skin(p, shell.f, body, under, 0.4 * thickness)


def _edge_loop(shell: Shell, p: np.ndarray, n: int = 128) -> np.ndarray:
    loops = boundary_loop(shell.f)
    return resample_polyline(smooth_polyline(p[loops[0]], True, 2), n, True)


def _cap(body: Body, rgb) -> list[Mesh]:
    s = body.s
    shell, p = _crown(body, _hat_line(0.022, 0.012, -0.002)(body), 0.004 * s**0.5)
    mat = headwear_material("cap", rgb)
    out = [garment_mesh("cap", p, shell.f, "HEADWEAR", mat)]
    edge = _edge_loop(shell, p)
    hv, hf = hem(edge, 0.003 * s**0.5, body)
    out.append(garment_mesh("cap_band", hv, hf, "HEADWEAR", mat))
    # visor: from the front of the band forward and slightly down, rounded at the tip
    phi = body.head_azimuth(edge)
    front = np.abs(phi) < 1.05
    inner = edge[front][np.argsort(phi[front])]
    t = np.sin(np.clip(body.head_azimuth(inner), -1.05, 1.05) / 1.05 * np.pi / 2)
    reach = 0.07 * s * np.sqrt(np.clip(1 - t**2, 0.0, 1.0)) + 0.004 * s
    outward = inner - np.array([0.0, inner[:, 1].mean(), body.head_z])
    outward[:, 1] = 0.0
    outward /= vectors.length(outward, True)
    fwd = 0.6 * outward + 0.4 * np.array([0.0, 0.0, 1.0])
    fwd /= vectors.length(fwd, True)
    tip = inner + fwd * reach[:, None] + np.array([0.0, -1.0, 0.0]) * (0.2 * reach)[:, None]
    vv, vf = _slab(inner + [0.0, 0.0015 * s, 0.0], tip, 0.0035 * s**0.5)
    out.append(garment_mesh("cap_visor", vv, vf, "HEADWEAR", headwear_material("cap_visor", shaded(rgb, 0.9))))
    apex = p[np.argmax(p[:, 1])]
    bv, bf = sweep(
        np.array([apex - [0, 0.001, 0], apex + [0, 0.003 * s, 0]]),
        ring_points(10),
        up=np.tile([0.0, 0.0, 1.0], (2, 1)),
        scale=np.full((2, 2), 0.005 * s),
    )
    out.append(garment_mesh("cap_button", bv, bf, "HEADWEAR", mat))
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

    for j in range(n - 1):  # inner and outer edges
        side(j + 1, j)
        side(rows * n + j, rows * n + j + 1)
    for r in range(rows):  # the two ends
        side(r * n, (r + 1) * n)
        side((r + 1) * n + n - 1, r * n + n - 1)

    return orient_outward(v, np.asarray(f))


def _beanie(body: Body, rgb) -> list[Mesh]:
    s = body.s
    line = _hat_line(0.012, 0.012, -0.012)(body)
    shell = clip_surface(body.v, body.outer_faces, line(body.v), body.normals, np.zeros(len(body.v), bool))
    # knitted: thick, a little slouch at the top, and a folded cuff along the edge
    above = -line(shell.v)  # metres above the hat line
    height = (shell.v[:, 1] - shell.v[:, 1].min()) / max(np.ptp(shell.v[:, 1]), 1e-6)
    thick = (0.006 + 0.01 * height**3) * s**0.5
    p = drape(shell, body, thick, smooth=28)
    under = line(body.v)[body.outer_faces].max(axis=1) < -0.004 * s
    p = cover_skin(p, shell.f, body, under, 0.0024 * s**0.5)
    mat = headwear_material("beanie", rgb, roughness=0.95, sheen=0.7)  # a knit, fuzzy like a sweater
    out = [garment_mesh("beanie", p, shell.f, "HEADWEAR", mat)]
    band = above < 0.03 * s
    cuff_thick = np.where(band, 0.011 * s**0.5, thick)
    cuff_shell = Shell(v=shell.v, f=shell.f[band[shell.f].all(axis=1)], n=shell.n, on_crop=shell.on_crop)
    if len(cuff_shell.f):
        used = np.unique(cuff_shell.f)
        remap = np.full(len(shell.v), -1)
        remap[used] = np.arange(len(used))
        sub = Shell(v=shell.v[used], f=remap[cuff_shell.f], n=shell.n[used], on_crop=shell.on_crop[used])
        cp = drape(sub, body, cuff_thick[used], smooth=12)
        out.append(garment_mesh("beanie_cuff", cp, sub.f, "HEADWEAR", mat))
        edge = _edge_loop(sub, cp)
        hv, hf = hem(edge, 0.004 * s**0.5, body)
        out.append(garment_mesh("beanie_edge", hv, hf, "HEADWEAR", mat))
    return out


def _wide_brim_hat(body: Body, rgb) -> list[Mesh]:
    s = body.s
    shell, p = _crown(body, _hat_line(0.026, 0.014, 0.0)(body), 0.012 * s**0.5, smooth=40)
    mat = headwear_material("hat", rgb, roughness=0.7, sheen=0.5)  # felt
    # a taller, flatter crown than the skull: lift the top
    top = p[:, 1].max()
    lift = np.clip((p[:, 1] - (top - 0.05 * s)) / (0.05 * s), 0.0, 1.0)
    p = p + np.column_stack([np.zeros(len(p)), 0.02 * s * lift, np.zeros(len(p))])
    out = [garment_mesh("hat_crown", p, shell.f, "HEADWEAR", mat)]
    edge = _edge_loop(shell, p)
    hv, hf = hem(edge, 0.005 * s**0.5, body)
    out.append(garment_mesh("hat_band", hv, hf, "HEADWEAR", headwear_material("hat_band", shaded(rgb, 0.35))))
    centre = np.array([0.0, edge[:, 1].mean(), body.head_z])
    radial = edge - centre
    radial[:, 1] = 0.0
    radial /= vectors.length(radial, True)
    width = 0.075 * s
    outer = edge + radial * width + np.array([0.0, -0.012 * s, 0.0])
    ring_in = np.vstack([edge, edge[:1]])
    ring_out = np.vstack([outer, outer[:1]])
    bv, bf = _slab(ring_in + [0.0, 0.002 * s, 0.0], ring_out, 0.004 * s**0.5, rows=5)
    out.append(garment_mesh("hat_brim", bv, bf, "HEADWEAR", mat))
    return out


def _headscarf(body: Body, rgb, under: Sequence[Mesh] = ()) -> list[Mesh]:
    return hijab(body, rgb, under)


def _kerchief(body: Body, rgb, under: Sequence[Mesh] = ()) -> list[Mesh]:
    return kerchief(body, rgb, under)


def _headscarf_field(body: Body) -> Callable[[np.ndarray], np.ndarray]:
    return hijab_field(body)


def _kerchief_field(body: Body) -> Callable[[np.ndarray], np.ndarray]:
    return kerchief_field(body)


#: Headwear that drapes over the clothes gets them as ``under``.
HEADWEAR_BUILDERS: dict[str, Callable[..., list[Mesh]]] = {
    "cap": _cap,
    "beanie": _beanie,
    "wide_brim_hat": _wide_brim_hat,
    "headscarf": _headscarf,
    "kerchief": _kerchief,
}


_OVER_CLOTHES = ("headscarf", "kerchief")


#: Headwear under which no scalp hair shows at all, even where the head stays bare.
_TUCKS_ALL_HAIR = ("headscarf",)


_HEADWEAR_FIELDS = {
    "cap": _hat_line(0.022, 0.012, -0.002),
    "beanie": _hat_line(0.012, 0.012, -0.012),
    "wide_brim_hat": _hat_line(0.026, 0.014, 0.0),
    "headscarf": _headscarf_field,
    "kerchief": _kerchief_field,
}
