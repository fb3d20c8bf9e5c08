"""What is painted and shaded on the skin under grown hair (compose.hair.base): a soft hairline,
the beard's shadow, and the share of light hair leaves the skin under it."""

from __future__ import annotations

import numpy as np
import pytest

from facefarm.catalog import load_catalog, resolve
from facefarm.compose.compositor import compose
from facefarm.compose.hair import base
from facefarm.compose.hair.colour import hair_albedo_linear
from facefarm.compose.hair.strands import hair_cover
from facefarm.scene.classes import CLASS_IDS
from facefarm.scene.model import OCCLUSION_ATTRIBUTE


@pytest.fixture(scope="module")
def sample():
    s = resolve(load_catalog("facefarm/assets/catalogs/default.json"), 0, 7, 16)
    return s.model_copy(
        update={
            "age_years": 40.0,
            "headwear": s.headwear.model_copy(update={"id": "none", "color_rgb": None}),
            "hair": s.hair.model_copy(update={"style": "short", "density": 0.9, "melanin": 0.9}),
            "facial_hair": s.facial_hair.model_copy(update={"style": "full_beard", "density": 0.9, "melanin": 0.9}),
        }
    )


def _cap(sample, head) -> np.ndarray:
    return np.flatnonzero(hair_cover(sample, head) > 0.5 * sample.hair.density)


def test_beard_shadow_tints_the_skin_under_the_beard_only(sample, head):
    skin = np.full((len(head.vertex_class), 3), 0.5, np.float32)
    out = base.paint_under_hair(sample, head, skin, None)
    cover = base.beard_cover(sample, head)
    beard = hair_albedo_linear(sample.facial_hair.melanin, sample.facial_hair.redness, sample.facial_hair.grey)
    under, bare = cover > 0.95, cover == 0
    assert under.sum() > 50 and bare.sum() > 1000
    # towards the beard's colour by its share under the beard, untouched off it
    moved = (skin[under] - out[under]) / (skin[under] - beard)
    want = base.beard_shadow_amount(sample.facial_hair) * cover[under, None]
    np.testing.assert_allclose(moved, np.broadcast_to(want, moved.shape), atol=1e-5)
    np.testing.assert_array_equal(out[bare], skin[bare])
    # no beard, no shadow
    none = sample.model_copy(update={"facial_hair": sample.facial_hair.model_copy(update={"style": "none"})})
    np.testing.assert_array_equal(base.paint_under_hair(none, head, skin, None), skin)


def test_hairline_fades_into_the_skin(sample, head):
    shaven = sample.model_copy(update={"facial_hair": sample.facial_hair.model_copy(update={"style": "none"})})
    skin = np.full((len(head.vertex_class), 3), 0.5, np.float32)
    cap = _cap(shaven, head)
    out = base.paint_under_hair(shaven, head, skin, cap)
    hair = hair_albedo_linear(shaven.hair.melanin, shaven.hair.redness, shaven.hair.grey)
    painted = (skin[:, 0] - out[:, 0]) / (skin[0, 0] - hair[0])
    np.testing.assert_array_equal(painted[cap], 0.0)  # the cap is the skin's to paint
    nh_vertices = np.asarray(head.neutral, np.float64)
    outside = np.ones(len(painted), bool)
    outside[cap] = False
    d = np.linalg.norm(nh_vertices[:, None] - nh_vertices[cap][None], axis=-1).min(axis=1)
    band = outside & (d < 0.5 * base.HAIRLINE_BAND_M) & (head.vertex_class == CLASS_IDS["SKIN"])
    far = outside & (d > base.HAIRLINE_BAND_M)
    assert band.sum() > 10 and far.sum() > 1000
    # partly painted in the band just outside the cap, more the closer to it; bare skin further out
    assert np.all((painted[band] > 0.2) & (painted[band] <= base.HAIRLINE_OPACITY + 1e-6))
    near_first = np.argsort(d[band])
    assert np.all(np.diff(painted[band][near_first]) <= 1e-6)
    np.testing.assert_allclose(painted[far], 0.0, atol=1e-6)


def test_skin_under_hair_and_beard_gets_less_light(sample, head):
    cap = _cap(sample, head)
    light = base.light_under_hair(sample, head, cap)
    cover = base.beard_cover(sample, head)
    scalp = cap[cover[cap] == 0]  # (a beard's sideburns may reach the cap)
    np.testing.assert_allclose(light[scalp], 1 - (1 - base.SCALP_LIGHT) * sample.hair.density)
    assert np.all(light[cover > 0.95] < 0.8)
    elsewhere = np.ones(len(light), bool)
    elsewhere[cap] = False
    elsewhere &= cover == 0
    np.testing.assert_array_equal(light[elsewhere], 1.0)
    # and the composed skin carries it: the HAIR-labelled scalp is shaded, the nose (no beard) is not
    shaven = sample.model_copy(update={"facial_hair": sample.facial_hair.model_copy(update={"style": "none"})})
    skin = next(m for m in compose(shaven, head).meshes if m.name == "skin")
    occ = skin.attributes[OCCLUSION_ATTRIBUTE]
    scalp = np.unique(skin.faces[skin.face_class == CLASS_IDS["HAIR"]])
    nose = np.unique(skin.faces[skin.face_class == CLASS_IDS["NOSE"]])
    assert len(scalp) > 100 and np.median(occ[scalp]) < 0.5
    np.testing.assert_allclose(occ[nose], 1.0)
