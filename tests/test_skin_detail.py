"""Wrinkles, blemishes and lash strands (facefarm/compose/skin_detail.py) on the real head and in renders."""

from __future__ import annotations

import numpy as np
import pytest

from facefarm.catalog import load_catalog, resolve
from facefarm.compose import skin_detail
from facefarm.compose.compositor import compose
from facefarm.head.surface_uv import surface_uvs
from facefarm.scene.classes import CLASS_IDS

EYE_LIP = [CLASS_IDS[k] for k in ("RIGHT_EYE", "LEFT_EYE", "TOP_LIP", "BOTTOM_LIP", "MOUTH_INTERIOR")]


@pytest.fixture(scope="module")
def old(head):
    """A frontal, neutral, bald 80-year-old without glasses or headwear (nothing over the forehead)."""
    cat = load_catalog(
        {
            "catalog_version": 1,
            "age": 80,
            "glasses": {"probability": 0.0},
            "headwear": {"probability": 0.0},
            "hair": {"styles": "bald", "styles_male": "bald"},
            "expression": {
                "presets": "neutral",
                "intensity": 0.0,
                "random_probability": 0.0,
                "gaze_yaw_deg": 0,
                "gaze_pitch_deg": 0,
            },
            "head_pose": {"yaw_deg": 0, "pitch_deg": 0, "roll_deg": 0},
            "camera": {"head_fraction": 0.6, "position_jitter_m": 0, "principal_jitter_px": 0},
            "render": {"resolution": [256, 256]},
        }
    )
    return resolve(cat, 3, 0)


def _skin(sample, **values):
    return sample.model_copy(update={"skin": sample.skin.model_copy(update=values)})


def _forehead(chart) -> np.ndarray:
    lm, (x, y, z) = chart.landmarks, chart.xyz.T
    brow = lm[17:27, 1].max()
    return chart.face & (y > brow + 0.01) & (y < brow + 0.05) & (np.abs(x) < 0.03) & (z > 0)


def test_no_wrinkles_no_blemishes_changes_nothing(head, old):
    for surface in head.surfaces:
        d = skin_detail.surface_detail(_skin(old, wrinkles=0.0, blemishes=0.0), head, surface)
        assert np.array_equal(d.albedo_scale, np.ones_like(d.albedo_scale))
        assert not d.wrinkle.any()


@pytest.mark.parametrize("level", [0, 1])
def test_wrinkles_are_dark_lines_across_the_forehead(head, old, level):
    surface = head.surfaces[level]
    chart = skin_detail._chart(head, surface)
    band = _forehead(chart)
    d = skin_detail.surface_detail(_skin(old, wrinkles=1.0, blemishes=0.0), head, surface)
    lum = d.albedo_scale[band] @ np.array([0.2126, 0.7152, 0.0722])
    assert lum.mean() < 0.985, lum.mean()
    if level == 1:
        # lines, not a uniform stain: the darkest tenth of the band is darkened more than twice
        # as much as its median vertex (a stain: about as much; 2.4-3.4x over eight identities),
        # and some vertices are nearly untouched
        p10, p50 = np.percentile(lum, [10, 50])
        assert 1.0 - p10 > 2.0 * (1.0 - p50), (p10, p50)
        assert lum.max() > 0.995
    # the fold depth the photoreal back-end bumps sits where the albedo darkens
    assert np.corrcoef(d.wrinkle[band], 1.0 - lum)[0, 1] > 0.8
    # and more wrinkles darken more
    half = skin_detail.surface_detail(_skin(old, wrinkles=0.4, blemishes=0.0), head, surface)
    assert (half.albedo_scale[band] @ np.array([0.2126, 0.7152, 0.0722])).mean() > lum.mean()


def test_wrinkles_reach_the_scene_vertex_colours(head, old):
    young = compose(_skin(old, wrinkles=0.0), head)
    aged = compose(_skin(old, wrinkles=1.0), head)
    a, b = (next(m for m in s.meshes if m.name == "skin") for s in (young, aged))
    # the skin mesh is the surface's skin vertices, then copies along the UV seams
    surface = next(s for s in head.surfaces if len(surface_uvs(head, s).part(*s.part(0)[::2])[0]) == len(a.vertices))
    n = len(surface.part(0)[0])
    band = _forehead(skin_detail._chart(head, surface))[surface.part(0)[0]]
    ratio = (b.vertex_colors[:n][band] / a.vertex_colors[:n][band]).mean(axis=1)
    assert ratio.mean() < 0.985 and ratio.max() <= 1.0 + 1e-6
    assert not b.attributes["wrinkle"][:n][~band].all() and b.attributes["wrinkle"][:n][band].max() > 0.05
    assert not a.attributes["wrinkle"].any()


def test_wrinkles_darken_the_forehead_in_a_pyrender_image(head, old):
    pytest.importorskip("pyrender")
    from facefarm.render.pyrender.renderer import PyrenderRenderer
    from facefarm.sample.labels import landmark_labels

    # at 512 px (the finer surface resolves forehead lines; at 256 px they are faint by design)
    old = old.model_copy(update={"camera": old.camera.model_copy(update={"width": 512, "height": 512})})
    r = PyrenderRenderer()
    try:
        young_scene = compose(_skin(old, wrinkles=0.0), head)
        young = r.render(young_scene)
        aged = r.render(compose(_skin(old, wrinkles=1.0), head))
    finally:
        r.close()
    uv = np.asarray(landmark_labels(young_scene, young)["uv"])[:70]
    brow_v = uv[17:27, 1].min()
    x0, x1 = uv[19, 0], uv[24, 0]
    rows = slice(int(brow_v - 0.45 * (uv[8, 1] - uv[27, 1])), int(brow_v) - 2)
    cols = slice(int(x0), int(x1))
    skin = (young.segmentation[rows, cols] == CLASS_IDS["SKIN"]) & (aged.segmentation[rows, cols] == CLASS_IDS["SKIN"])
    assert skin.sum() > 600
    y0 = young.rgb[rows, cols].astype(float).mean(-1)[skin]
    y1 = aged.rgb[rows, cols].astype(float).mean(-1)[skin]
    # thin lines over a wide band: a small mean drop, concentrated in the lines (measured at
    # 512 px: mean 0.67, 99th percentile 3.7 grey levels; exactly 0 without wrinkles)
    drop = y0 - y1
    assert drop.mean() > 0.3 and np.percentile(drop, 99) > 2.0, (drop.mean(), np.percentile(drop, 99))
    # only skin changes: the background is the same pixels
    bg = (young.segmentation == 0) & (aged.segmentation == 0)
    assert np.array_equal(young.rgb[bg], aged.rgb[bg])


def test_blemishes_are_identity_seeded_and_clear_of_eyes_and_lips(head, old):
    surface = head.surfaces[1]
    spots = _skin(old, wrinkles=0.0, blemishes=1.0)
    a = skin_detail.surface_detail(spots, head, surface).albedo_scale
    b = skin_detail.surface_detail(spots, head, surface).albedo_scale
    assert np.array_equal(a, b)
    # spots: reddish or brown (green darkened most), a few mm across, on the face
    dark = a[:, 1] < 0.85
    assert dark.sum() > 20
    assert (a[dark, 1] < a[dark, 0]).all()
    # never on the eyes, lips or inside the mouth
    protected = np.isin(surface.vertex_class, EYE_LIP)
    assert np.array_equal(a[protected], np.ones_like(a[protected]))
    # another identity has its spots elsewhere; more blemishes, more spots
    other = skin_detail.surface_detail(
        spots.model_copy(update={"identity_index": spots.identity_index + 1}), head, surface
    ).albedo_scale
    assert not np.array_equal(a, other)
    few = skin_detail.surface_detail(_skin(old, wrinkles=0.0, blemishes=0.2), head, surface).albedo_scale
    assert (few[:, 1] < 0.85).sum() < dark.sum()


def test_lash_cards_get_strand_coordinates(head, old):
    surface = head.surfaces[0]
    d = skin_detail.surface_detail(old, head, surface)
    lash_parts = [i for i, n in enumerate(head.part_names) if n.startswith("lash")]
    on_lash = np.zeros(surface.n_vertices, bool)
    for pi in lash_parts:
        on_lash[surface.part(pi)[0]] = True
    assert not d.lash_cover[~on_lash].any()
    cover = d.lash_cover[on_lash]
    assert 0.0 <= cover.min() and cover.max() <= 1.0 and cover.mean() > 0.2
    # about 90 strands across each upper card, 45 across each lower one
    strand = d.lash_strand[on_lash]
    assert strand.max() == pytest.approx(90.0) and strand.min() == 0.0
    attrs = d.for_part("lash", surface.part(lash_parts[0])[0])
    assert set(attrs) == {skin_detail.LASH_STRAND_ATTRIBUTE, skin_detail.LASH_COVER_ATTRIBUTE}
