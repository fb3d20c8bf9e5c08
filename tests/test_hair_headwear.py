"""Scalp hair under headwear: none shows under a headscarf, and none is drawn through a hat.

Scenes come from the real compositor (catalog -> resolve -> compose); crossings are counted
with the independent segment-triangle test of tests/test_glasses.py against the headwear
meshes the renderers draw.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_glasses import segments_hit

from facefarm.catalog import Catalog, resolve
from facefarm.compose.compositor import compose
from facefarm.scene.classes import CLASS_IDS
from facefarm.scene.model import RASTER_STRANDS


def _scene(head, headwear: str, style: str, index: int):
    cat = Catalog.model_validate(
        {
            "catalog_version": 1,
            "age": {"kind": "categorical", "values": [35]},
            "gender": {"kind": "categorical", "values": [0.15]},
            "hair": {"styles": {"kind": "categorical", "weights": {style: 1}}, "styles_male": None},
            "headwear": {"probability": 1.0, "ids": {"kind": "categorical", "weights": {headwear: 1}}},
            "render": {"resolution": [256, 256]},
        }
    )
    sample = resolve(cat, seed=3, index=index)
    assert sample.headwear.id == headwear and sample.hair.style == style
    return compose(sample, head, RASTER_STRANDS)


def _headwear(scene):
    parts = [m for m in scene.meshes if m.material.kind == "headwear"]
    offsets = np.cumsum([0] + [len(m.vertices) for m in parts])
    v = np.concatenate([m.vertices for m in parts]).astype(np.float64)
    f = np.concatenate([m.faces + o for m, o in zip(parts, offsets)]).astype(np.int64)
    return v, f


def _scalp_hair(scene):
    return [c for c in scene.curves if c.class_id == CLASS_IDS["HAIR"]]


@pytest.mark.parametrize("style,index", [("medium", 0), ("long", 1), ("short", 2)])
def test_no_scalp_hair_shows_under_a_headscarf(head, style, index):
    scene = _scene(head, "headscarf", style, index)
    assert not any(len(c.points) for c in _scalp_hair(scene)), "hair hangs out of the headscarf"
    assert any(c.class_id == CLASS_IDS["RIGHT_BROW"] and len(c.points) for c in scene.curves), (
        "the brows went with the hair"
    )


@pytest.mark.parametrize(
    "headwear,style,index",
    [
        ("kerchief", "long", 0),
        ("kerchief", "medium", 1),
        ("cap", "medium", 2),
        ("cap", "short", 3),
        ("wide_brim_hat", "long", 4),
        ("beanie", "wavy", 5),
    ],
)
def test_hair_is_not_drawn_through_headwear(head, headwear, style, index):
    """Strands that would grow up into a hat end below its line; hair below it still shows."""
    scene = _scene(head, headwear, style, index)
    hv, hf = _headwear(scene)
    strands, crossing = 0, 0
    for c in _scalp_hair(scene):
        p = np.asarray(c.points, np.float64)
        hits = segments_hit(p[:, :-1].reshape(-1, 3), p[:, 1:].reshape(-1, 3), hv, hf)
        crossing += int((hits.reshape(len(p), -1).sum(axis=1) > 0).sum())
        strands += len(p)
    assert strands >= 10, f"no hair left below the {headwear}"
    assert crossing <= 0.01 * strands, f"{crossing} of {strands} strands pass through the {headwear}"
