"""Clothing and headwear fitted to babies, adults, the elderly, extreme weights and open jaws.

Checked with the independent tools of tests/test_glasses.py (exact distances through
trimesh, segment-triangle crossings, winding numbers) plus ray tests for coverage: the
skin's crop edge and neck must be hidden under the clothes, the scalp under hats, and the
eyes and mouth must stay visible.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_glasses import assert_worn_clear, person, segments_hit

from facefarm.catalog import vocabulary
from facefarm.compose.attachments import garment_meshes
from facefarm.compose.garments import clothing as GM
from facefarm.compose.garments import headwear as HW
from facefarm.compose.garments.body import Body
from facefarm.compose.posed_head import PosedHead
from facefarm.head.model import IdentityParams
from facefarm.scene.classes import CLASS_IDS

JAW = {"jawOpen": 1.0, "mouthSmileLeft": 0.6, "mouthSmileRight": 0.6}

CLOTHING_CASES = [
    ("tshirt", "baby", False),
    ("tshirt", "heavy_man", False),
    ("shirt", "woman", True),
    ("shirt", "baby", False),
    ("sweater", "elder", True),
    ("sweater", "child", False),
    ("hoodie", "thin_man", False),
    ("hoodie", "baby", True),
    ("jacket", "heavy_man", True),
    ("jacket", "child", False),
    ("scarf", "woman", False),
    ("scarf", "elder", False),
]
HEADWEAR_CASES = [
    ("cap", "baby", False),
    ("cap", "heavy_man", True),
    ("beanie", "child", False),
    ("beanie", "elder", True),
    ("wide_brim_hat", "woman", False),
    ("wide_brim_hat", "thin_man", False),
    ("headscarf", "woman", True),
    ("headscarf", "baby", False),
]


def _person(head, who, jaw):
    v = person(head, who)
    return v + head.expression_offsets(v, JAW) if jaw else v


def merged_arrays(meshes):
    vs, fs, off = [], [], 0
    for m in meshes:
        vs.append(m.vertices.astype(np.float64))
        fs.append(m.faces.astype(np.int64) + off)
        off += len(m.vertices)
    return np.concatenate(vs), np.concatenate(fs)


def _skin_ids(head):
    return np.unique(head.faces[head.face_part == list(head.part_names).index("skin")])


def _crop_edge(head):
    f = head.faces[head.face_part == list(head.part_names).index("skin")]
    e = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    u, c = np.unique(e, axis=0, return_counts=True)
    return np.unique(u[c == 1])


@pytest.mark.parametrize("garment,who,jaw", CLOTHING_CASES)
def test_clothing_clears_and_covers_the_body(head, garment, who, jaw):
    v = _person(head, who, jaw)
    meshes = GM.clothing_meshes(garment, (0.3, 0.4, 0.6), Body.measure(head, v))
    assert meshes and all(np.all(m.face_class == CLASS_IDS["CLOTHING"]) for m in meshes)
    assert all(m.material.kind == "cloth" for m in meshes)
    assert_worn_clear(meshes, head, v, min_gap=0.0005, what=f"{garment} on {who}")

    gv, gf = merged_arrays(meshes)
    body = Body.measure(head, v)
    # the ragged crop edge of the head asset is hidden: a ray from the neck axis out through
    # every crop-edge vertex meets the garment beyond it
    crop = v[_crop_edge(head)]
    out = crop - [0.0, crop[:, 1].mean(), body.neck_z]
    out[:, 1] = 0.0
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    hits = segments_hit(crop + out * 1e-4, crop + out * 0.3, gv, gf)
    assert np.all(hits > 0), f"{garment} on {who}: {np.sum(hits == 0)} of {len(crop)} crop-edge points show"
    # the neck below the neckline is covered too; the chin and face are not
    skin = v[_skin_ids(head)]
    low_neck = skin[(skin[:, 1] < body.nape_y - 2.6 * body.neck_r) & (skin[:, 1] > crop[:, 1].max())]
    if len(low_neck):
        d = low_neck - [0.0, 0.0, body.neck_z]
        d[:, 1] = 0.0
        d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
        covered = segments_hit(low_neck + d * 1e-4, low_neck + d * 0.3, gv, gf) > 0
        assert covered.mean() > 0.97, f"{garment} on {who}: only {covered.mean():.0%} of the lower neck covered"
    face = v[head.vertex_class == CLASS_IDS["TOP_LIP"]]
    assert not np.any(segments_hit(face, face + [0.0, 0.0, 0.5], gv, gf)), "the garment hides the mouth"


@pytest.mark.parametrize("headwear,who,jaw", HEADWEAR_CASES)
def test_headwear_clears_the_head_and_leaves_the_face(head, headwear, who, jaw):
    v = _person(head, who, jaw)
    meshes = HW.headwear_meshes(headwear, (0.6, 0.2, 0.2), Body.measure(head, v))
    assert meshes and all(np.all(m.face_class == CLASS_IDS["HEADWEAR"]) for m in meshes)
    assert all(m.material.kind == "headwear" for m in meshes)
    assert_worn_clear(meshes, head, v, min_gap=0.0005, what=f"{headwear} on {who}")

    gv, gf = merged_arrays(meshes)
    skin = v[_skin_ids(head)]
    top = skin[np.argmax(skin[:, 1])]
    assert segments_hit(top[None], (top + [0.0, 0.3, 0.0])[None], gv, gf)[0] > 0, "the crown is bare"
    # eyes and mouth stay visible from the front
    for cls in ("RIGHT_EYE", "LEFT_EYE", "TOP_LIP", "NOSE"):
        pts = v[head.vertex_class == CLASS_IDS[cls]]
        front = pts[pts[:, 2] > np.percentile(pts[:, 2], 80)]
        hidden = segments_hit(front, front + [0.0, 0.0, 0.5], gv, gf) > 0
        assert not hidden.any(), f"{headwear} on {who} hides {hidden.sum()} {cls} points"


def test_headwear_coverage_marks_the_scalp_not_the_face(head):
    v = person(head, "woman")
    covered = HW.headwear_coverage("beanie", head, v, HW.headwear_field("beanie", Body.measure(head, v)))
    skin = _skin_ids(head)
    assert covered[skin[np.argmax(v[skin, 1])]], "the top of the head is under the beanie"
    assert not covered[head.vertex_class == CLASS_IDS["NOSE"]].any()
    assert not covered[head.vertex_class == CLASS_IDS["TOP_LIP"]].any()
    assert not HW.headwear_coverage("not-a-hat", head, v, HW.headwear_field("not-a-hat", Body.measure(head, v))).any()


def test_catalog_vocabulary_is_supported():
    """The catalog offers exactly the garments built here: none it can draw is missing, none built is hidden."""
    assert set(vocabulary.CLOTHING_IDS) - {"none"} == set(GM.CLOTHING_BUILDERS) - {"none"}
    assert set(vocabulary.HEADWEAR_IDS) - {"none"} == set(HW.HEADWEAR_BUILDERS) - {"none"}


def test_garment_meshes_follow_the_sample(head):
    from facefarm.catalog import Catalog, resolve

    cat = Catalog.model_validate(
        {
            "catalog_version": 1,
            "headwear": {"probability": 1.0, "ids": {"kind": "categorical", "weights": {"cap": 1}}},
            "clothing": {"ids": {"kind": "categorical", "weights": {"hoodie": 1}}},
        }
    )
    s = resolve(cat, seed=1, index=0)
    v = head.shape(IdentityParams(age_years=s.age_years, gender=s.gender, ancestry=s.ancestry_weights))
    meshes = garment_meshes(PosedHead.pose(s, head, v))
    names = {m.name for m in meshes}
    assert "hoodie" in names and "cap" in names
    bare = resolve(Catalog.model_validate({"catalog_version": 1, "headwear": {"probability": 0.0}}), 1, 0)
    assert not any(m.face_class[0] == CLASS_IDS["HEADWEAR"] for m in garment_meshes(PosedHead.pose(bare, head, v)))


@pytest.mark.parametrize("garment,who", [("tshirt", "baby"), ("sweater", "baby"), ("hoodie", "child")])
def test_small_child_garment_spans_sloping_shoulders(head, garment, who):
    """A small child's head mesh ends round the base of the neck, so the garment makes the
    shoulders: about 1.4-2.2 head widths across, falling from the neck to the shoulder tips
    (not a flat plate, nor wings rising at the sides), and reaching down the arms."""
    v = person(head, who)
    main = GM.clothing_meshes(garment, (0.3, 0.4, 0.6), Body.measure(head, v))[0]
    g = main.vertices.astype(np.float64)
    skin = v[_skin_ids(head)]
    head_w = np.ptp(skin[skin[:, 1] > Body.measure(head, v).nape_y, 0])  # ears included
    half = np.abs(g[:, 0]).max()
    assert 1.4 < 2 * half / head_w < 2.2, f"{garment} on {who}: {2 * half / head_w:.2f} head widths across"
    centre = g[np.abs(g[:, 0]) < 0.25 * half]
    tips = g[np.abs(g[:, 0]) > 0.8 * half]
    s = Body.measure(head, v).s
    assert tips[:, 1].max() < centre[:, 1].max() - 0.005 * s, (
        f"{garment} on {who}: shoulder tips at {tips[:, 1].max():.3f} m, neck at {centre[:, 1].max():.3f} m"
    )
    assert np.ptp(tips[:, 1]) > 0.04 * s, f"{garment} on {who}: the sides are a flat plate"
