"""The skin under the hair: painted and labelled HAIR along the identity's own hairline
(compose.hair.strands.hair_cover), so bald scalps, receding temples and balding crowns stay SKIN."""

from __future__ import annotations

import numpy as np
import pytest

from facefarm.catalog import load_catalog, resolve
from facefarm.catalog.skin_tone import skin_albedo_linear
from facefarm.compose.compositor import compose
from facefarm.compose.hair.colour import hair_albedo_linear
from facefarm.scene.classes import CLASS_IDS

HAIR, SKIN = CLASS_IDS["HAIR"], CLASS_IDS["SKIN"]


@pytest.fixture(scope="module")
def base():
    s = resolve(load_catalog("facefarm/assets/catalogs/default.json"), 0, 7, 16)
    return s.model_copy(
        update={
            "age_years": 50.0,
            "gender": 0.9,
            "head_pose": s.head_pose.model_copy(update={"yaw_deg": 0.0, "pitch_deg": 0.0, "roll_deg": 0.0}),
            "headwear": s.headwear.model_copy(update={"id": "none", "color_rgb": None}),
        }
    )


@pytest.fixture(scope="module")
def scalp_faces(base, head):
    """style -> (face class (F,), azimuth (F,), elevation (F,), colour (F, 3)) of the skin mesh's faces.

    Azimuth/elevation (degrees) about the ear midpoint as in the hair chart: 0 = face, 90 = side;
    with a zero head pose the world axes are the head frame's."""
    out = {}
    for style in ("short", "receding", "balding", "bald"):
        s = base.model_copy(update={"hair": base.hair.model_copy(update={"style": style, "density": 0.9})})
        skin = next(m for m in compose(s, head).meshes if m.name == "skin")
        centres = skin.vertices[skin.faces].mean(axis=1).astype(np.float64)
        ears = np.isin(skin.face_class, [CLASS_IDS["LEFT_EAR"], CLASS_IDS["RIGHT_EAR"]])
        d = centres - centres[ears].mean(axis=0)
        az = np.degrees(np.arctan2(d[:, 0], d[:, 2]))
        el = np.degrees(np.arctan2(d[:, 1], np.hypot(d[:, 0], d[:, 2])))
        colour = skin.vertex_colors[skin.faces].mean(axis=1)
        out[style] = (skin.face_class, az, el, colour)
    return out


def _region(az, el, az_range, el_range):
    return (np.abs(az) >= az_range[0]) & (np.abs(az) <= az_range[1]) & (el >= el_range[0]) & (el <= el_range[1])


def test_bald_scalp_is_skin(scalp_faces, base):
    cls, az, el, colour = scalp_faces["bald"]
    assert not (cls == HAIR).any()
    crown = _region(az, el, (0, 180), (65, 90))
    assert crown.sum() > 20 and (cls[crown] == SKIN).all()
    # the bald crown is painted in the skin's colour, not the hair's
    crown_colour = np.median(colour[crown], axis=0)
    skin_albedo = np.asarray(skin_albedo_linear(base.skin.melanin, base.skin.haemoglobin))
    hair_albedo = np.asarray(hair_albedo_linear(base.hair.melanin, base.hair.redness, base.hair.grey))
    assert np.abs(crown_colour - skin_albedo).max() < 0.1
    assert np.abs(crown_colour - skin_albedo).max() < 0.5 * np.abs(crown_colour - hair_albedo).max()


def test_full_style_labels_the_crown_hair(scalp_faces):
    cls, az, el, colour = scalp_faces["short"]
    crown = _region(az, el, (0, 180), (65, 90)) & np.isin(cls, [HAIR, SKIN])
    assert crown.sum() > 20 and (cls[crown] == HAIR).mean() > 0.95
    # and the face below the hairline stays skin
    assert (cls[_region(az, el, (0, 30), (0, 30))] != HAIR).all()
    # the label and the paint agree: HAIR faces are painted in the hair colour, not the skin's
    bald_colour = scalp_faces["bald"][3]
    assert np.abs(colour[crown] - bald_colour[crown]).max(axis=1).mean() > 0.1


def test_receding_hairline_shows_temple_skin(scalp_faces):
    temples = {}
    for style in ("short", "receding"):
        cls, az, el, _ = scalp_faces[style]
        region = _region(az, el, (25, 60), (35, 62)) & np.isin(cls, [HAIR, SKIN])
        temples[style] = int((cls[region] == HAIR).sum())
    assert temples["receding"] < 0.5 * temples["short"], temples
    # still the same person with hair at the back
    cls, az, el, _ = scalp_faces["receding"]
    assert (cls[_region(az, el, (120, 180), (0, 40))] == HAIR).mean() > 0.9


def test_balding_crown_is_skin_with_hair_at_the_sides(scalp_faces):
    cls, az, el, _ = scalp_faces["balding"]
    crown = _region(az, el, (0, 180), (70, 90)) & np.isin(cls, [HAIR, SKIN])
    assert crown.sum() >= 10 and (cls[crown] == HAIR).mean() < 0.1
    sides = _region(az, el, (100, 160), (0, 30)) & np.isin(cls, [HAIR, SKIN])
    assert (cls[sides] == HAIR).mean() > 0.8
