"""Per-identity skin texture maps in the head's UV layout: albedo detail, pore normals, roughness, oil.

Vertex colours carry the skin's tone and its large regions (:mod:`facefarm.compose.skin`); what a
mesh cannot carry lives here, in MakeHuman's UV layout at a resolution chosen from the image's
pixel density (:func:`map_size`), so both back-ends read the same maps
(:class:`~facefarm.scene.model.SurfaceMaps`):

* ``albedo`` — a multiplier of the vertex albedo: melanin and haemoglobin mottling at several
  scales, redder cheeks and nose, a darker under-eye, a beard shadow on men, freckles and moles at
  texel resolution, a fine grain;
* ``normal`` — pore-level relief (pits and a fine "orange peel") as a tangent-space normal map,
  strongest on the nose and cheeks, faint on the lids and none on the lips;
* ``roughness`` and ``specular`` — an oily T-zone (forehead, nose, chin) against matte cheeks,
  moist lips, and pores that reflect less.

What does not depend on the identity is cached per process: the UV layout's rasterisation and its
region masks (:func:`layout`, from the neutral head), and the noise tiles at each size
(:func:`_tiles`). An identity draws offsets into those tiles and its strengths from its own stream
(``skin.maps``), so every image of a person has the same skin; the last few identities' maps are
kept (:data:`_MAPS`), since a person's images are often composed together.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage

from facefarm.catalog.rng import identity_stream
from facefarm.head.surface_uv import surface_uvs
from facefarm.scene.classes import CLASS_IDS
from facefarm.scene.model import SurfaceMaps

#: Map sizes (texels a side) the resolution is chosen from.
MIN_SIZE, MAX_SIZE = 512, 2048
#: Texels per image pixel at the face the maps aim for (rounded to the nearest power of two;
#: mip-mapping filters what is finer than a pixel).
TEXELS_PER_PIXEL = 1.0
#: Size of the cached region masks (they are smooth: upsampled to the map size).
MASK_SIZE = 256
#: Pore spacing and the fine relief, metres on the face.
PORE_SIZE_M = 0.0006
#: Identities whose maps are kept (a 1024 map set is 32 MB).
_KEEP = 2


@dataclass(frozen=True)
class Layout:
    """The skin's UV layout rasterised (identity-independent, from the neutral head).

    uv_per_m : UV units per metre on the face (median over face triangles) ·
    masks : name -> (MASK_SIZE, MASK_SIZE) float32 0..1 region weight over the UV square ·
    covered : (MASK_SIZE, MASK_SIZE) bool texels inside a skin triangle.
    """

    uv_per_m: float
    masks: dict[str, np.ndarray]
    covered: np.ndarray


def map_size(pixels_per_metre: float, uv_per_m: float) -> int:
    """Texels a side for an image that resolves ``pixels_per_metre`` at the face: a power of two,
    :data:`MIN_SIZE`..:data:`MAX_SIZE`."""
    want = TEXELS_PER_PIXEL * pixels_per_metre / max(uv_per_m, 1e-9)
    return int(np.clip(2 ** np.round(np.log2(max(want, 1.0))), MIN_SIZE, MAX_SIZE))


# ----------------------------------------------------------------------------- the layout
def _rasterise(uv: np.ndarray, faces: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which triangle covers each texel centre of an n x n map, and where.

    uv : (V, 2) in 0..1 · faces : (F, 3). Returns ((n, n) int64 triangle or -1, (n, n, 3)
    barycentric weights, (n, n) bool covered); uncovered texels take their nearest covered
    texel's triangle and weights (so filtering and mip-mapping never pull in black).
    """
    p = uv[faces] * n - 0.5  # texel-centre coordinates
    lo = np.floor(p.min(axis=1)).astype(np.int64)
    hi = np.ceil(p.max(axis=1)).astype(np.int64)
    lo, hi = np.clip(lo, 0, n - 1), np.clip(hi, 0, n - 1)
    w, h = hi[:, 0] - lo[:, 0] + 1, hi[:, 1] - lo[:, 1] + 1
    count = w * h
    tri = np.repeat(np.arange(len(faces)), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    x = lo[tri, 0] + k % w[tri]
    y = lo[tri, 1] + k // w[tri]
    a, b, c = p[tri, 0], p[tri, 1], p[tri, 2]
    v0, v1 = b - a, c - a
    q = np.stack([x, y], axis=1) - a
    den = v0[:, 0] * v1[:, 1] - v0[:, 1] * v1[:, 0]
    ok = np.abs(den) > 1e-12
    den = np.where(ok, den, 1.0)
    s = (q[:, 0] * v1[:, 1] - q[:, 1] * v1[:, 0]) / den
    t = (v0[:, 0] * q[:, 1] - v0[:, 1] * q[:, 0]) / den
    inside = ok & (s >= -1e-9) & (t >= -1e-9) & (s + t <= 1 + 1e-9)
    which = np.full((n, n), -1, np.int64)
    bary = np.zeros((n, n, 3))
    which[y[inside], x[inside]] = tri[inside]
    bary[y[inside], x[inside]] = np.stack([1 - s - t, s, t], axis=1)[inside]
    covered = which >= 0
    _, (iy, ix) = ndimage.distance_transform_edt(~covered, return_indices=True)
    return which[iy, ix], bary[iy, ix], covered


def _gauss(p: np.ndarray, centre: np.ndarray, sigma: float, scale=(1.0, 1.0, 1.0)) -> np.ndarray:
    d = (p - centre) / np.asarray(scale)
    return np.exp(-(d * d).sum(axis=1) / (2 * sigma**2))


@lru_cache(maxsize=2)
def layout(head) -> Layout:
    """The skin's UV layout and region masks for ``head`` (cached per process)."""
    surface = head.surfaces[0]
    uvs = surface_uvs(head, surface)
    skin = head.part_names.index("skin")
    vidx, faces, sel = surface.part(skin)
    rows, local, uv = uvs.part(vidx, sel)
    src = uvs.source[rows]  # render vertex of each row
    neutral = np.asarray(head.neutral, np.float64)
    pos = surface.vertices(neutral)[src]  # (n, 3) metres, neutral head frame
    lm = head.landmark_points(neutral, surface)
    cls = surface.vertex_class[src]

    # UV units per metre on the face: triangles within the face's box
    face = (np.abs(pos[local].mean(axis=1)[:, 0]) < 0.06) & (pos[local].mean(axis=1)[:, 2] > lm[:, 2].min())
    a3 = np.linalg.norm(np.cross(pos[local[:, 1]] - pos[local[:, 0]], pos[local[:, 2]] - pos[local[:, 0]]), axis=1)
    d1, d2 = uv[local[:, 1]] - uv[local[:, 0]], uv[local[:, 2]] - uv[local[:, 0]]
    a2 = np.abs(d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0])
    keep = face & (a3 > 0)
    uv_per_m = float(np.median(np.sqrt(a2[keep] / a3[keep])))

    # region fields over the vertices (neutral head, metres), from the 68 landmarks
    s = float(np.linalg.norm(lm[36] - lm[45]) / 0.09)  # outer eye corners ~9 cm apart
    eye_r, eye_l = lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)
    nose_tip, mouth, chin = lm[30], lm[48:60].mean(axis=0), lm[8]
    brow_mid, forehead = lm[17:27].mean(axis=0), lm[17:27].mean(axis=0) + np.array([0.0, 0.035, 0.0]) * s
    down = np.array([0.0, -1.0, 0.0])
    f: dict[str, np.ndarray] = {}
    f["cheeks"] = np.sum(
        [
            _gauss(pos, e + np.array([side * 0.012, -0.035, 0.005]) * s, 0.016 * s)
            for e, side in ((eye_r, -1), (eye_l, 1))
        ],
        axis=0,
    )
    f["nose"] = np.maximum((cls == CLASS_IDS["NOSE"]).astype(float), _gauss(pos, nose_tip, 0.012 * s))
    f["lips"] = np.isin(cls, [CLASS_IDS["TOP_LIP"], CLASS_IDS["BOTTOM_LIP"]]).astype(float)
    f["under_eye"] = np.sum([_gauss(pos, e + down * 0.014 * s, 0.007 * s, (1.0, 0.6, 1.0)) for e in (eye_r, eye_l)], 0)
    tz = _gauss(pos, forehead, 0.025 * s, (1.2, 1.0, 1.0)) + _gauss(pos, chin + np.array([0, 0.01, 0]) * s, 0.012 * s)
    f["tzone"] = np.maximum(tz + _gauss(pos, 0.5 * (brow_mid + nose_tip), 0.012 * s, (0.7, 1.6, 1.0)), f["nose"])
    jaw = lm[2:15]
    d_jaw = np.min(np.linalg.norm(pos[:, None, :] - jaw[None, :, :], axis=2), axis=1)
    below_nose = pos[:, 1] < nose_tip[1] - 0.012 * s
    front = pos[:, 2] > lm[0, 2] - 0.03 * s
    f["beard"] = (
        below_nose & front & (d_jaw < 0.03 * s) & ~np.isin(cls, [CLASS_IDS["TOP_LIP"], CLASS_IDS["BOTTOM_LIP"]])
    ).astype(float)
    f["beard"] += _gauss(pos, 0.5 * (nose_tip + mouth), 0.008 * s, (1.8, 1.0, 1.0)) * (1 - f["lips"])
    f["face"] = _gauss(pos, 0.5 * (eye_r + eye_l) + down * 0.03 * s, 0.04 * s, (1.2, 1.0, 1.0))
    lids = np.sum([_gauss(pos, e, 0.009 * s, (1.4, 1.0, 1.0)) for e in (eye_r, eye_l)], axis=0)
    f["pores"] = np.clip(0.55 + 0.45 * f["nose"] + 0.35 * f["cheeks"] - 0.5 * lids, 0.15, 1.0) * (1 - f["lips"])
    f["scalp"] = (pos[:, 1] > forehead[1] + 0.01 * s).astype(float)

    which, bary, covered = _rasterise(uv.astype(np.float64), local, MASK_SIZE)
    corners = local[which]  # (M, M, 3)
    masks = {}
    for name, field in f.items():
        m = (np.clip(field, 0.0, 1.0)[corners] * bary).sum(axis=2)
        masks[name] = ndimage.gaussian_filter(m, 1.0).astype(np.float32)
    masks["lips"] = (masks["lips"] * masks["lips"]).astype(np.float32)
    return Layout(uv_per_m=uv_per_m, masks=masks, covered=covered)


# ----------------------------------------------------------------------------- noise
@lru_cache(maxsize=3)
def _tiles(n: int, texels_per_m: float) -> dict[str, np.ndarray]:
    """Tileable zero-mean, unit-variance noise at ``n`` x ``n`` texels, by physical scale
    (band-limited white noise from one fixed stream: the same for every identity)."""
    rng = np.random.default_rng(0x5EED_5C1)
    fy = np.fft.fftfreq(n)[:, None]
    fx = np.fft.rfftfreq(n)[None, :]
    f2 = fx * fx + fy * fy
    out = {}
    for name, metres in (("pore", PORE_SIZE_M), ("peel", 0.0025), ("mottle", 0.006), ("patch", 0.02)):
        sigma = max(metres * texels_per_m / 2.5, 0.5)  # texels
        spec = np.fft.rfft2(rng.standard_normal((n, n)).astype(np.float32))
        field = np.fft.irfft2(spec * np.exp(-2 * (np.pi * sigma) ** 2 * f2), s=(n, n))
        out[name] = ((field - field.mean()) / max(float(field.std()), 1e-12)).astype(np.float32)
    return out


def _shifted(tile: np.ndarray, yx: tuple[np.ndarray, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """The tile rolled by a random offset and maybe transposed, at texels ``yx`` (rows, columns):
    another identity's noise."""
    n = tile.shape[0]
    dy, dx = int(rng.integers(n)), int(rng.integers(n))
    y, x = yx if rng.random() < 0.5 else yx[::-1]
    return tile.ravel()[((y + dy) & (n - 1)) * n + ((x + dx) & (n - 1))]  # n: a power of two


def _spots(n: int, centres: np.ndarray, radii: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """(n, n) sum of round Gaussian spots (centres (k, 2) in UV, radii (k,) texels, depth (k,))."""
    out = np.zeros((n, n), np.float32)
    for (u, v), r, d in zip(centres, radii, depth):
        cx, cy = u * n - 0.5, v * n - 0.5
        h = int(np.ceil(3 * r)) + 1
        x0, y0 = int(np.floor(cx)) - h, int(np.floor(cy)) - h
        xs = np.arange(x0, x0 + 2 * h + 2)
        ys = np.arange(y0, y0 + 2 * h + 2)
        g = np.exp(-((xs[None, :] - cx) ** 2 + (ys[:, None] - cy) ** 2) / (2 * r * r)) * d
        yi, xi = np.clip(ys, 0, n - 1), np.clip(xs, 0, n - 1)
        out[np.ix_(yi, xi)] += g.astype(np.float32)
    return out


def _sample_in(mask: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """(k, 2) UV points drawn with density ~ ``mask`` (a cached mask)."""
    p = mask.ravel().astype(np.float64)
    p = p / p.sum()
    idx = rng.choice(len(p), size=k, p=p)
    m = mask.shape[0]
    return (np.stack([idx % m, idx // m], axis=1) + rng.random((k, 2))) / m


# ----------------------------------------------------------------------------- the maps
_MAPS: OrderedDict[tuple, SurfaceMaps] = OrderedDict()


def skin_maps(sample, head, pixels_per_metre: float) -> SurfaceMaps:
    """The skin maps of ``sample``'s identity at the resolution ``pixels_per_metre`` calls for."""
    lay = layout(head)
    n = map_size(pixels_per_metre, lay.uv_per_m)
    sk = sample.skin
    key = (
        sample.catalog_hash,
        int(sample.seed),
        int(sample.identity_index),
        n,
        str(head.path),
        round(float(sk.melanin), 6),
        round(float(sk.haemoglobin), 6),
        round(float(sk.freckles), 6),
        round(float(sk.moles), 6),
        round(float(sample.age_years), 3),
        round(float(sample.gender), 6),
    )
    hit = _MAPS.get(key)
    if hit is not None:
        _MAPS.move_to_end(key)
        return hit
    maps = _build(sample, lay, _shared(head, n), n)
    _MAPS[key] = maps
    while len(_MAPS) > _KEEP:
        _MAPS.popitem(last=False)
    return maps


@dataclass(frozen=True)
class _Shared:
    """What every identity's maps share at one size: the masks, the relief, the roughness terms."""

    masks: dict[str, np.ndarray]
    normal: np.ndarray  # (n, n, 3) float32
    roughness: np.ndarray  # (n, n) float32 without oil
    oil_roughness: np.ndarray  # (n, n) float32 change per unit of oil
    specular: np.ndarray  # (n, n) float32 without oil
    oil_specular: np.ndarray  # (n, n) float32 change per unit of oil
    active: np.ndarray  # (k,) int64 flat texels an identity paints: the UV islands and a margin
    active_yx: tuple[np.ndarray, np.ndarray]  # (k,) int32 their rows and columns
    active_masks: dict[str, np.ndarray]  # name -> (k,) float32 the masks there


@lru_cache(maxsize=2)
def _shared(head, n: int) -> _Shared:
    """The identity-independent maps at size ``n``: pores are too fine to tell people apart, so
    the relief is one map; an identity's oiliness scales the T-zone's terms."""
    lay = layout(head)
    m = {
        k: ndimage.zoom(v, n / v.shape[0], order=1, grid_mode=True, mode="nearest").astype(np.float32)
        for k, v in lay.masks.items()
    }
    texels_per_m = lay.uv_per_m * n
    tiles = _tiles(n, round(texels_per_m, 1))
    pits = np.maximum(-tiles["pore"] - 0.6, 0.0)  # the deepest ~25 %: pits, not bumps
    height = m["pores"] * (0.9 * pits + 0.25 * np.roll(tiles["peel"], n // 3, axis=0)) * (1.0 - m["lips"])
    # relief ~0.1 mm per unit of height: at 1024 texels, map normals tilt ~0.05 rad (rms), ~0.2 in a pit
    slope = 0.1e-3 * texels_per_m
    gy, gx = np.gradient(height)
    normal = np.stack([-slope * gx, -slope * gy, np.ones_like(gx)], axis=2)
    normal /= np.linalg.norm(normal, axis=2, keepdims=True)
    patch = np.roll(tiles["patch"], n // 2, axis=1)
    rough = 0.45 + 0.05 * m["cheeks"] - 0.12 * m["lips"] + 0.03 * patch + 0.04 * pits
    spec = (1.0 + 0.2 * m["lips"] - 0.1 * m["cheeks"]) * (1.0 - 0.25 * np.minimum(pits, 1.0))
    # what an identity paints: the islands and a margin as wide as mip level 3 reaches
    up = n // lay.covered.shape[0]  # sizes are powers of two >= MASK_SIZE
    inside = np.repeat(np.repeat(lay.covered, up, axis=0), up, axis=1)
    inside = ndimage.binary_dilation(inside, iterations=max(n // 128, 2))
    active = np.flatnonzero(inside)
    return _Shared(
        active=active,
        active_yx=((active // n).astype(np.int32), (active % n).astype(np.int32)),
        active_masks={k: v.ravel()[active] for k, v in m.items()},
        masks=m,
        normal=normal.astype(np.float32),
        roughness=rough.astype(np.float32),
        oil_roughness=(-0.14 * m["tzone"]).astype(np.float32),
        specular=spec.astype(np.float32),
        oil_specular=(0.6 * m["tzone"] * (1.0 - 0.25 * np.minimum(pits, 1.0))).astype(np.float32),
    )


#: How each pigment field (rows) darkens the linear albedo per channel (columns), as a log:
#: melanin absorbs more towards blue, haemoglobin in green and blue, the under-eye is
#: brown-violet, a shaved beard's stubble grey-blue, freckles and moles brown.
_PIGMENTS = np.array(
    [
        [0.55, 0.80, 1.00],  # melanin mottle
        [0.00, 0.75, 0.55],  # haemoglobin
        [0.55, 0.65, 0.45],  # under-eye
        [0.22, 0.19, 0.13],  # beard shadow
        [0.55, 0.85, 1.00],  # freckles
        [0.80, 0.95, 1.00],  # moles
    ],
    np.float32,
)


def _plus(base: np.ndarray, k: float, delta: np.ndarray, active: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``base + k * delta`` within lo..hi on the ``active`` texels, ``base`` elsewhere ((n, n) float32)."""
    out = base.copy()
    flat = out.reshape(-1)
    flat[active] = np.clip(flat[active] + np.float32(k) * delta.reshape(-1)[active], lo, hi)
    return out


def _build(sample, lay: Layout, sh: _Shared, n: int) -> SurfaceMaps:
    rng = identity_stream(sample, "skin.maps")
    sk = sample.skin
    texels_per_m = lay.uv_per_m * n
    tiles = _tiles(n, round(texels_per_m, 1))
    m, yx = sh.active_masks, sh.active_yx
    age = float(sample.age_years)
    adult = float(np.clip((age - 14.0) / 6.0, 0.0, 1.0))
    mel, haem = float(sk.melanin), float(sk.haemoglobin)

    a_mel = rng.uniform(0.03, 0.07) * (1.0 + 0.5 * adult)
    a_haem = rng.uniform(0.03, 0.07)
    cheek = rng.uniform(0.04, 0.16) * (0.6 + haem) * (1.0 - 0.5 * mel)
    nose = rng.uniform(0.02, 0.12) * (0.6 + haem) * (1.0 - 0.5 * mel)
    under = rng.uniform(0.03, 0.10) * (0.5 + 0.8 * adult) + 0.05 * float(np.clip((age - 40) / 40, 0, 1))
    beard = float(sample.gender >= 0.5) * adult * rng.uniform(0.3, 1.0)
    oil = rng.uniform(0.2, 1.0) * (0.5 + 0.5 * adult)
    # pigment fields over the active texels (k, 6)
    fields = np.zeros((len(sh.active), len(_PIGMENTS)), np.float32)
    fields[:, 0] = a_mel * (0.6 * _shifted(tiles["mottle"], yx, rng) + 0.8 * _shifted(tiles["patch"], yx, rng))
    fields[:, 0] += 0.02 * _shifted(tiles["peel"], yx, rng)
    blotch = np.maximum(_shifted(tiles["patch"], yx, rng), -1.0)
    fields[:, 1] = a_haem * blotch * (0.5 + m["cheeks"] + m["nose"]) + cheek * m["cheeks"] + nose * m["nose"]
    fields[:, 2] = under * m["under_eye"]
    fields[:, 3] = beard * m["beard"]
    # freckles (nose and cheeks, ~1 mm) and moles (anywhere on the face, ~2 mm), at texel resolution
    n_freckles = int(round(float(sk.freckles) * 260))
    if n_freckles:
        where = _sample_in(lay.masks["face"] * (0.4 + lay.masks["cheeks"] + lay.masks["nose"]), n_freckles, rng)
        r = rng.uniform(0.35e-3, 0.8e-3, n_freckles) * texels_per_m
        d = rng.uniform(0.15, 0.4, n_freckles) * (1.0 - 0.5 * mel)
        fields[:, 4] = _spots(n, where, np.maximum(r, 0.6), d).ravel()[sh.active]
    n_moles = int(round(float(sk.moles) * 6))
    if n_moles:
        where = _sample_in(lay.masks["face"] + 0.2 * lay.masks["scalp"], n_moles, rng)
        r = rng.uniform(0.7e-3, 1.4e-3, n_moles) * texels_per_m
        d = rng.uniform(0.5, 1.1, n_moles)
        fields[:, 5] = _spots(n, where, np.maximum(r, 0.8), d).ravel()[sh.active]
    albedo = np.ones((n * n, 3), np.float32)
    albedo[sh.active] = np.clip(np.exp(-(fields @ _PIGMENTS)), 0.3, 1.3)
    return SurfaceMaps(
        albedo=albedo.reshape(n, n, 3),
        normal=sh.normal,
        roughness=_plus(sh.roughness, oil, sh.oil_roughness, sh.active, 0.15, 0.85),
        specular=_plus(sh.specular, oil, sh.oil_specular, sh.active, 0.3, 2.0),
        key=f"{sample.catalog_hash[:16]}-{int(sample.seed)}-{int(sample.identity_index)}-{n}",
    )
