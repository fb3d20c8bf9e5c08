"""The fast back-end's hair look: per-strand tint, soft tips and strand highlights (colour pass only).

Geometry checks measure :func:`pyrender_geometry.ribbons` on synthetic strands; render
checks draw sheets of parallel strands (<= 96 px) and measure the images. Labels must not
see any of the look: segmentation and depth come from the full-width ribbons.
"""

from __future__ import annotations

import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")  # before pyrender / PyOpenGL are imported

import numpy as np
import pytest

from facefarm.geometry.camera import Camera, intrinsics, look_at
from facefarm.render.pyrender import geometry as geom
from facefarm.scene.classes import CLASS_IDS
from facefarm.scene.model import Curves, Environment, Landmarks, Light, Material, Mesh, Scene

NO_LANDMARKS = Landmarks(points=np.zeros((0, 3)), names=(), n_sparse=0)
BLACK = Environment(hdri=None, color=(0.0, 0.0, 0.0))
GREY = Environment(hdri=None, color=(0.5, 0.5, 0.5))
CAM = Camera(K=intrinsics(50, 36, 96, 96), world_to_camera=look_at((0, 0, 0.6), (0, 0, 0)), width=96, height=96)


def sheet(vertical: bool, n: int = 48, k: int = 8, colour=(0.3, 0.2, 0.1), name="hair", width: float = 0.1) -> Curves:
    """``n`` parallel straight strands 10 cm long, ``width`` apart overall, in the z = 0 plane facing the camera."""
    a = np.linspace(-width / 2, width / 2, n)
    t = np.linspace(-0.05, 0.05, k)
    pts = np.zeros((n, k, 3))
    if vertical:  # roots at the top, hanging down
        pts[..., 0], pts[..., 1] = a[:, None], -t[None, :]
    else:
        pts[..., 0], pts[..., 1] = t[None, :], a[:, None]
    radius = np.broadcast_to(np.linspace(5e-4, 2e-4, k), (n, k))
    return Curves(
        name=name,
        points=pts.astype(np.float32),
        radius=radius.astype(np.float32),
        class_id=CLASS_IDS["HAIR"],
        material=Material(name=name, kind="hair", base_color=colour, roughness=0.35),
    )


def scene(curves=(), meshes=(), env=BLACK, lights=(), camera=CAM) -> Scene:
    return Scene(
        meshes=tuple(meshes),
        camera=camera,
        environment=env,
        landmarks=NO_LANDMARKS,
        head_pose=np.eye(4),
        lights=tuple(lights),
        curves=tuple(curves),
    )


def sun(direction) -> Light:
    """A directional light shining along ``direction`` (world), 3 W/m^2."""
    z = -np.asarray(direction, float) / np.linalg.norm(direction)
    up = np.array([0.0, 1.0, 0.0]) if abs(z[1]) < 0.99 else np.array([1.0, 0.0, 0.0])
    x = np.cross(up, z)
    x /= np.linalg.norm(x)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2] = x, np.cross(z, x), z
    return Light(kind="directional", color=(1.0, 1.0, 1.0), intensity=3.0, pose=pose)


# --------------------------------------------------------------------------------------------
# geometry (numpy only)


def test_ribbon_strand_tint_is_deterministic_varied_and_darker_at_the_root():
    c = sheet(True, n=400)
    a, b = geom.ribbons(c, CAM), geom.ribbons(c, CAM)
    np.testing.assert_array_equal(a.colors, b.colors)
    np.testing.assert_array_equal(a.tangents, b.tangents)
    s, k = c.points.shape[:2]
    col = a.colors.reshape(s, k, 2, 4)
    assert np.all(col[..., 3] == 1.0)  # alpha 1: hair stays in the opaque pass
    np.testing.assert_array_equal(col[:, :, 0], col[:, :, 1])  # both sides of a point share it
    lum = np.log(col[:, :, 0, :3].mean(axis=-1))  # (s, k)
    # strands differ from each other (log-lightness spread ~ STRAND_LIGHTNESS_JITTER) ...
    spread = lum[:, k // 2].std()
    assert 0.5 * geom.STRAND_LIGHTNESS_JITTER < spread < 2.0 * geom.STRAND_LIGHTNESS_JITTER
    # ... the hue moves a little (red vs blue), and every tip is lighter than its root
    hue = np.log(col[:, 0, 0, 0] / col[:, 0, 0, 2])
    assert 0.02 < hue.std() < 0.3
    rise = lum[:, -1] - lum[:, 0]
    np.testing.assert_allclose(rise, np.diff(geom.ROOT_TIP_LIGHTNESS)[0], atol=1e-5)
    # the mean tint stays near 1, so hair keeps the material's colour on average (as in Cycles)
    assert abs(lum.mean()) < 0.05
    # another strand set (e.g. the grey strands) gets other draws
    other = geom.ribbons(sheet(True, n=400, name="hair_grey"), CAM).colors
    assert not np.allclose(other, a.colors)


def test_ribbon_albedo_is_capped_for_light_hair():
    c = sheet(True, n=300, colour=(0.9, 0.85, 0.7))
    col = geom.ribbons(c, CAM).colors[:, :3]
    assert np.all(col * np.array(c.material.base_color) <= geom.MAX_ALBEDO + 1e-6)


def test_ribbon_tangents_follow_strands_and_tips_narrow_in_colour_only():
    c = sheet(True, n=10, k=6)
    r = geom.ribbons(c, CAM)
    s, k = 10, 6
    t = r.tangents.reshape(s, k, 2, 4)
    np.testing.assert_allclose(np.linalg.norm(t[..., :3], axis=-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(t[..., 1], -1.0, atol=1e-5)  # root at the top: tangent points down
    assert np.all(np.abs(t[..., 3]) < 5 * geom.STRAND_SHIFT_JITTER) and t[..., 3].std() > 0
    label = np.linalg.norm(np.diff(r.vertices.reshape(s, k, 2, 3), axis=2)[:, :, 0], axis=-1)
    shaded = np.linalg.norm(np.diff(r.shaded_vertices.reshape(s, k, 2, 3), axis=2)[:, :, 0], axis=-1)
    px_m = 0.6 / CAM.K[0, 0]
    card = geom.CARDS["hair"]
    # colour: cards `widen` x the radius (widening at most widen_max_m, and at least MIN_RIBBON_PX
    # overall), narrower at the root, the tip closing to a point on the strand
    half = c.radius + np.minimum((card.widen - 1) * c.radius, card.widen_max_m)
    want = np.maximum(2 * half, geom.MIN_RIBBON_PX * px_m)
    np.testing.assert_allclose(shaded[:, 1:-1], want[:, 1:-1], rtol=1e-4)
    np.testing.assert_allclose(shaded[:, 0], geom.ROOT_WIDTH * want[:, 0], rtol=1e-4)
    assert np.all(shaded[:, -1] < 1e-7)
    np.testing.assert_allclose(r.shaded_vertices.reshape(s, k, 2, 3)[:, -1, 0], c.points[:, -1], atol=1e-7)
    # labels: the half-covered part: never wider than the card, never under MIN_RIBBON_PX wide
    # where the card is wide enough to fade at its edges, and running from LABEL_ROOT to LABEL_TIP
    assert np.all(label[:, 1:-1] <= shaded[:, 1:-1] * (1 + 1e-5))
    floor = (1 - geom.CARD_EDGE / card.strands) * geom.MIN_RIBBON_PX * px_m * 0.99
    assert np.all(label[:, 1:] >= floor) and np.all(label[:, 0] >= geom.ROOT_WIDTH * floor)
    mid = r.vertices.reshape(s, k, 2, 3).mean(axis=2)
    length = lambda q: np.linalg.norm(np.diff(q, axis=1), axis=-1).sum(axis=1)  # noqa: E731
    np.testing.assert_allclose(length(mid), (geom.LABEL_TIP - geom.LABEL_ROOT) * length(c.points), rtol=1e-4)


def test_ribbon_card_coordinates_span_the_strands_and_the_length():
    """Cards carry (across in strands, arc fraction, seed, strands): the shader cuts strands by them."""
    c = sheet(True, n=30, k=6)
    r = geom.ribbons(c, CAM)
    cards = r.cards.reshape(30, 6, 2, 4)
    w = geom.CARDS["hair"].strands
    assert w > 1  # scalp hair is drawn as locks of several strands
    np.testing.assert_array_equal(cards[:, :, 0, 0], 0.0)
    np.testing.assert_array_equal(cards[:, :, 1, 0], w)
    np.testing.assert_allclose(cards[:, :, 0, 1], np.linspace(0, 1, 6)[None].repeat(30, 0), atol=1e-6)
    seeds = cards[:, 0, 0, 2]
    assert np.all((seeds >= 0) & (seeds < 1)) and len(np.unique(seeds)) == 30
    assert np.all(cards[..., 2] == seeds[:, None, None]) and np.all(cards[..., 3] == w)
    np.testing.assert_array_equal(geom.ribbons(c, CAM).cards, r.cards)  # deterministic


# --------------------------------------------------------------------------------------------
# rendering


@pytest.fixture(scope="module")
def renderer():
    from facefarm.render.pyrender.renderer import PyrenderRenderer

    r = PyrenderRenderer(view_transform="Standard")
    yield r
    r.close()


@pytest.mark.slow
def test_hair_labels_come_from_the_full_ribbons(renderer):
    """Segmentation and depth of strands = those of their plain ribbons drawn as a mesh."""
    c = sheet(True, n=24, k=5)
    r = geom.ribbons(c, CAM)
    plain = Mesh(
        name="ribbons",
        vertices=r.vertices,
        faces=r.faces,
        face_class=np.full(len(r.faces), CLASS_IDS["HAIR"], np.uint8),
        material=Material(name="ribbons", kind="hair", base_color=(0.3, 0.2, 0.1)),
    )
    a = renderer.render(scene(curves=[c], env=GREY))
    b = renderer.render(scene(meshes=[plain], env=GREY))
    assert (a.segmentation == CLASS_IDS["HAIR"]).sum() > 300
    np.testing.assert_array_equal(a.segmentation, b.segmentation)
    np.testing.assert_array_equal(a.depth, b.depth)


@pytest.mark.slow
def test_hair_of_several_colours_keeps_each_colour(renderer):
    """Hair comes as several Curves of one kind that differ only in colour (grey shares); the
    renderer draws them together with the colour on the vertices: each sheet must keep its own,
    and the image must equal the sheets drawn one scene at a time where they do not overlap."""
    red, blue = (
        sheet(True, n=24, colour=(0.6, 0.05, 0.05)),
        sheet(True, n=24, colour=(0.05, 0.05, 0.6), name="hair_grey50"),
    )
    shift = np.array([0.06, 0.0, 0.0], np.float32)
    red = Curves(
        name=red.name, points=red.points - shift, radius=red.radius, class_id=red.class_id, material=red.material
    )
    blue = Curves(
        name=blue.name, points=blue.points + shift, radius=blue.radius, class_id=blue.class_id, material=blue.material
    )
    both = renderer.render(scene(curves=[red, blue], env=GREY))
    alone_red = renderer.render(scene(curves=[red], env=GREY))
    alone_blue = renderer.render(scene(curves=[blue], env=GREY))
    left, right = both.rgb[:, :40].astype(int), both.rgb[:, 56:].astype(int)
    hair = both.segmentation == CLASS_IDS["HAIR"]
    assert (left[..., 0] > left[..., 2] + 20)[hair[:, :40]].mean() > 0.9
    assert (right[..., 2] > right[..., 0] + 20)[hair[:, 56:]].mean() > 0.9
    np.testing.assert_array_equal(both.rgb[:, :40], alone_red.rgb[:, :40])
    np.testing.assert_array_equal(both.rgb[:, 56:], alone_blue.rgb[:, 56:])


@pytest.mark.slow
def test_brows_and_beards_get_their_share_of_the_light(renderer):
    """The same strands drawn as a beard or brows reflect FACE_HAIR_SHARE of what scalp hair does
    (they lie on the skin, which hides and shadows them); labels do not change."""
    from dataclasses import replace

    from facefarm.render.pyrender.shaders import FACE_HAIR_SHARE

    hair = sheet(True, n=48)
    renders, masks = {}, {}
    for kind in ("hair", "beard", "brow"):
        c = replace(hair, material=replace(hair.material, kind=kind))
        renders[kind] = out = renderer.render(scene(curves=[c], env=GREY))
        masks[kind] = out.segmentation == CLASS_IDS["HAIR"]
        assert masks[kind].sum() > 300
    # the pixels all three label: inside the strands (brows label their whole card, edges included)
    common = masks["hair"] & masks["beard"] & masks["brow"]
    assert common.sum() > 300
    lit = {k: (out.rgb[common].astype(float) / 255.0) ** 2.2 for k, out in renders.items()}  # undo the display curve
    for kind in ("beard", "brow"):
        ratio = np.median(lit[kind]) / np.median(lit["hair"])
        assert abs(ratio - FACE_HAIR_SHARE) < 0.05, (kind, ratio)


@pytest.mark.slow
def test_strands_vary_in_colour_and_fade_at_the_tips(renderer):
    """Under uniform light, neighbouring strands differ in lightness; tips blend into the background.

    Strands 2 cm wide (4-5 px), so each has fully covered pixels: under a uniform grey sky the
    irradiance does not depend on the normal, and without the per-strand tint every fully
    covered hair pixel would be the same value.
    """
    c = sheet(True, n=12, k=8, colour=(0.3, 0.2, 0.1), width=0.32)
    r = 1e-2 - geom.CARDS["hair"].widen_max_m  # cards 2 cm wide (widened by at most widen_max_m)
    c = Curves(name=c.name, points=c.points, radius=np.full_like(c.radius, r), class_id=c.class_id, material=c.material)
    res = renderer.render(scene(curves=[c], env=GREY))
    hair = res.segmentation == CLASS_IDS["HAIR"]
    lum = res.rgb.astype(float).mean(axis=-1)
    rows = np.flatnonzero(hair.any(axis=1))
    mid = rows[len(rows) // 2]
    # one value per strand crossing the middle row: the median of its interior (fully covered) pixels
    cols = np.flatnonzero(hair[mid])
    runs = np.split(cols, np.flatnonzero(np.diff(cols) > 1) + 1)
    per_strand = np.array([np.median(lum[mid, r[1:-1]]) for r in runs])
    assert len(per_strand) == 12
    assert per_strand.std() / per_strand.mean() > 0.02, per_strand
    # the last rows of the hair label (the tips) show more background than the middle
    tip = rows[-1]
    assert lum[tip][hair[tip]].mean() > lum[mid][hair[mid]].mean() + 10


@pytest.mark.slow
def test_strand_highlight_follows_the_tangent(renderer):
    """Kajiya-Kay: dark hair under one light glints where the half vector is normal to the strands.

    Light 50 degrees to the side of the view: the half vector tilts 25 degrees sideways, so it is
    perpendicular to vertical strands (a highlight) but 25 degrees off the normal plane of
    horizontal ones (about 2.5 lobe widths at roughness 0.35). With the light 50 degrees above
    the view, the roles swap. The lobes are shifted along the strand (cuticle tilt), so the
    same sheet with roots and tips swapped glints differently, though its ribbons are identical.
    """
    dark = (0.01, 0.01, 0.01)

    def brightness(curves, light):
        res = renderer.render(scene(curves=[curves], lights=[light]))
        hair = res.segmentation == CLASS_IDS["HAIR"]
        return res.rgb.astype(float).mean(axis=-1)[hair].mean()

    side = sun((-np.sin(np.radians(50)), 0.0, -np.cos(np.radians(50))))
    above = sun((0.0, -np.sin(np.radians(50)), -np.cos(np.radians(50))))
    vertical, horizontal = sheet(True, colour=dark), sheet(False, colour=dark)
    v_side, h_side = brightness(vertical, side), brightness(horizontal, side)
    v_above, h_above = brightness(vertical, above), brightness(horizontal, above)
    assert v_side > 40 and h_above > 40  # a visible glint where the half vector meets the cone
    assert v_side > 2.0 * h_side and h_above > 2.0 * v_above, (v_side, h_side, h_above, v_above)

    low = sun((0.0, -np.sin(np.radians(24)), -np.cos(np.radians(24))))
    flipped = Curves(
        name=vertical.name,
        points=vertical.points[:, ::-1].copy(),
        radius=vertical.radius[:, ::-1].copy(),
        class_id=vertical.class_id,
        material=vertical.material,
    )
    down, up = brightness(vertical, low), brightness(flipped, low)
    assert down > 1.15 * up, (down, up)


# --------------------------------------------------------------------------------------------
# hair cards: strands cut per fragment, labels where the cards cover


CLOSE = Camera(K=intrinsics(50, 36, 256, 256), world_to_camera=look_at((0, 0, 0.3), (0, 0, 0)), width=256, height=256)


def plate(albedo: float) -> Mesh:
    """A square 12 cm wide, 2 cm behind the strand sheets, facing the camera."""
    h = 0.06
    v = np.array([[-h, -h, -0.02], [h, -h, -0.02], [h, h, -0.02], [-h, h, -0.02]], np.float32)
    return Mesh(
        name="plate",
        vertices=v,
        faces=np.array([[0, 1, 2], [0, 2, 3]]),
        face_class=np.full(2, CLASS_IDS["SKIN"], np.uint8),
        material=Material(name="plate", kind="skin", base_color=(albedo, albedo, albedo), roughness=0.9),
    )


def close_scene(curves=(), meshes=()) -> Scene:
    return scene(curves, meshes, env=GREY, camera=CLOSE)


def cards_over_plates(renderer, curves: Curves) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(coverage (h, w): 1 - the share of the plate seen through the hair, per pixel (NaN off the
    plate); the hair label
    (h, w) bool; the light-plate image) from renders over a light and a dark plate, with and without
    the hair. The view is Standard sRGB and the multisample resolve averages display values, so the
    plate's share of a pixel is the ratio of the differences."""
    lum = {}
    for albedo in (0.8, 0.02):
        for hair in (True, False):
            res = renderer.render(close_scene(curves=[curves] if hair else [], meshes=[plate(albedo)]))
            lum[albedo, hair] = res.rgb.astype(float).mean(axis=-1)
            if hair and albedo == 0.8:
                label, image = res.segmentation == CLASS_IDS["HAIR"], res.rgb
    plate_diff = lum[0.8, False] - lum[0.02, False]
    seen = (lum[0.8, True] - lum[0.02, True]) / np.maximum(plate_diff, 1.0)
    # off the plate (and on its anti-aliased rim) there is nothing to see through: NaN
    return np.where(plate_diff > 0.9 * np.median(plate_diff[plate_diff > 20]), 1.0 - seen, np.nan), label, image


@pytest.mark.slow
def test_hair_cards_cut_strands_and_label_what_they_cover(renderer):
    """Cards several strands wide, ~10 px: the plate shows between their strands and past their
    edges and tips (alpha applied), and the hair label holds the pixels the cards mostly cover,
    and no others: no HAIR over pixels that show the plate through a card, and vice versa."""
    n, k = 8, 10
    pts = np.zeros((n, k, 3), np.float32)
    pts[..., 0] = np.linspace(-0.04, 0.04, n)[:, None]  # 11 mm apart
    pts[..., 1] = np.linspace(0.04, -0.04, k)[None, :]  # roots at the top
    c = Curves(
        name="hair",
        points=pts,
        radius=np.full((n, k), 4e-3, np.float32),  # cards ~9 mm (~10 px) wide
        class_id=CLASS_IDS["HAIR"],
        material=Material(name="hair", kind="hair", base_color=(0.05, 0.04, 0.03), roughness=0.35),
    )
    cover, label, image = cards_over_plates(renderer, c)
    near = np.zeros_like(label)  # pixels within 3 px of the hair label, where a disagreement could show
    for dy in range(-3, 4):
        for dx in range(-3, 4):
            near |= np.roll(label, (dy, dx), axis=(0, 1))
    on = np.isfinite(cover)
    label, near = label & on, near & on
    assert label.sum() > 2000
    # labels agree with the image: HAIR where the cards cover at least half, the rest at most half
    # (coverage comes in quarters, 4x MSAA). Where the cards' strands start and end one by one
    # (the first 1.5 CARD_ROOT_FADE and the last 1 - LABEL_TIP + CARD_TIP_FADE of their length) a
    # pixel shows a strand or none, and the label, starting and ending where half of them do,
    # can agree only on average
    rows = np.flatnonzero(label.any(axis=1))
    ends = np.zeros_like(label)
    ends[rows[-1] - int(np.ceil(len(rows) * (1 - geom.LABEL_TIP + geom.CARD_TIP_FADE))) :] = True
    ends[: rows[0] + int(np.ceil(len(rows) * 1.5 * geom.CARD_ROOT_FADE)) + 1] = True
    body = ~ends
    half = 0.5 + 0.05 * np.array([-1, 1])  # a half, measured (display levels are integers)
    assert np.mean(cover[label & body] >= half[0]) > 0.98, np.mean(cover[label & body] >= half[0])
    assert np.mean(cover[near & ~label & body] <= half[1]) > 0.98, np.mean(cover[near & ~label & body] <= half[1])
    assert cover[label & ends].mean() > 0.45 and cover[near & ~label & ends].mean() < 0.5
    # alpha is applied: inside the label most pixels are covered fully, but some show the plate
    # between strands (partial coverage), and the edges and tips outside the label are partly covered
    inside = cover[label]
    assert np.mean(inside > 0.95) > 0.4
    assert np.mean((inside > 0.3) & (inside < 0.9)) > 0.05
    edge = cover[near & ~label]
    assert np.mean((edge > 0.05) & (edge < 0.5)) > 0.1
    # deterministic, bit for bit
    again = renderer.render(close_scene(curves=[c], meshes=[plate(0.8)]))
    np.testing.assert_array_equal(again.rgb, image)


@pytest.mark.slow
def test_hair_cards_vary_strand_by_strand_within_a_card(renderer):
    """Across one card its strands differ in lightness (each its own, from the card's seed)."""
    pts = np.zeros((1, 10, 3), np.float32)
    pts[0, :, 1] = np.linspace(0.04, -0.04, 10)
    c = Curves(
        name="hair",
        points=pts,
        radius=np.full((1, 10), 1.5e-2, np.float32),  # one card ~3 cm (~36 px) wide: 9 px a strand
        class_id=CLASS_IDS["HAIR"],
        material=Material(name="hair", kind="hair", base_color=(0.3, 0.2, 0.1), roughness=0.35),
    )
    res = renderer.render(close_scene(curves=[c]))
    hair = res.segmentation == CLASS_IDS["HAIR"]
    row = np.flatnonzero(hair.any(axis=1))
    mid = row[len(row) // 2]
    cols = np.flatnonzero(hair[mid])
    lum = res.rgb[mid, cols].astype(float).mean(axis=-1)
    w = geom.CARDS["hair"].strands
    # the median of each strand's middle third (its core, away from the grooves between strands)
    edges = np.linspace(cols[0], cols[-1] + 1, w + 1)
    per_strand = [
        np.median(lum[(cols >= a + (b - a) / 3) & (cols < b - (b - a) / 3)]) for a, b in zip(edges[:-1], edges[1:])
    ]
    assert np.ptp(per_strand) > 4, per_strand  # display levels
