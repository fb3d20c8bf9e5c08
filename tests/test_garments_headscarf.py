"""The hijab and the kerchief: clear of the skin and the clothes, covering the scalp and ears,
leaving the face oval (all 68 landmarks) open in a real pyrender segmentation.

Geometry is checked with the independent tools of tests/test_glasses.py (exact distances
through trimesh, segment-triangle crossings, winding numbers).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from test_glasses import assert_worn_clear, crossings, person, segments_hit

from facefarm.compose.garments import clothing as GM
from facefarm.compose.garments import headwear as HW
from facefarm.compose.garments.body import Body
from facefarm.compose.garments.shell import merged_arrays
from facefarm.scene.classes import CLASS_IDS

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

JAW = {"jawOpen": 1.0, "mouthSmileLeft": 0.6, "mouthSmileRight": 0.6}


@pytest.mark.parametrize(
    "scarf,who,clothing,jaw",
    [
        ("headscarf", "elder", "hoodie", False),
        ("headscarf", "child", "jacket", True),
        ("headscarf", "heavy_man", "shirt", False),
        ("kerchief", "baby", "tshirt", False),
        ("kerchief", "thin_man", "none", True),
    ],
)
def test_scarf_clears_the_head_and_the_clothes(head, scarf, who, clothing, jaw):
    v = person(head, who)
    if jaw:
        v = v + head.expression_offsets(v, JAW)
    under = [] if clothing == "none" else GM.clothing_meshes(clothing, (0.2, 0.3, 0.5), Body.measure(head, v))
    meshes = HW.headwear_meshes(scarf, (0.6, 0.2, 0.2), Body.measure(head, v), under=under)
    assert meshes and all(np.all(m.face_class == CLASS_IDS["HEADWEAR"]) for m in meshes)
    assert_worn_clear(meshes, head, v, min_gap=0.0005, what=f"{scarf} on {who}")
    if under:
        # the scarf lies over the clothes' main shell and collar, never through them
        cv, cf = merged_arrays([m for m in under if not m.name.endswith(("_string", "_end", "_zip", "_buttons"))])
        for m in meshes:
            n = crossings(m.vertices.astype(np.float64), m.faces.astype(np.int64), cv, cf)
            assert n == 0, f"{scarf} on {who}: {m.name} crosses the {clothing} {n} times"


@pytest.mark.parametrize("who", ["woman", "baby", "elder"])
def test_hijab_covers_scalp_ears_and_neck_not_the_face(head, who):
    v = person(head, who)
    meshes = HW.headwear_meshes("headscarf", (0.6, 0.2, 0.2), Body.measure(head, v))
    gv, gf = merged_arrays(meshes)
    body = Body.measure(head, v)
    centre = np.array([0.0, body.ear_top_y, body.head_z])

    def hidden(points, origin):
        d = points - origin
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        return segments_hit(points + d * 1e-4, points + d * 0.3, gv, gf) > 0

    scalp = v[np.asarray(head.scalp)]
    # the scalp above the ear tops (the sideburns are open with the face) is under the scarf
    top = scalp[scalp[:, 1] > body.ear_top_y + 0.01 * body.s]
    assert hidden(top, centre).mean() > 0.95, f"only {hidden(top, centre).mean():.0%} of the scalp covered"
    ears = v[np.isin(head.vertex_class, [CLASS_IDS["LEFT_EAR"], CLASS_IDS["RIGHT_EAR"]])]
    # the ear's front rim may show next to the tragus landmarks (jaw 0 and 16)
    assert hidden(ears, centre).mean() > 0.7, f"only {hidden(ears, centre).mean():.0%} of the ears covered"
    neck = v[
        (head.vertex_class == CLASS_IDS["NECK"])
        & (v[:, 1] < body.nape_y - 0.3 * body.neck_r)
        & (v[:, 1] > max(body.nape_y - 1.6 * body.neck_r, gv[:, 1].min() + 0.015 * body.s))
    ]
    axis = np.column_stack([np.zeros(len(neck)), neck[:, 1], np.full(len(neck), body.neck_z)])
    d = neck - axis
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    wrapped = segments_hit(neck + d * 1e-4, neck + d * 0.3, gv, gf) > 0
    assert wrapped.mean() > 0.95, f"only {wrapped.mean():.0%} of the neck wrapped"
    # the face oval is open from the front: no landmark is behind the scarf
    lm = body.landmarks[:68]
    assert not segments_hit(lm + [0, 0, 1e-4], lm + [0, 0, 0.5], gv, gf).any(), "the scarf hides landmarks"
    # and the scarf's coverage (where hair is removed) takes the whole scalp
    covered = HW.headwear_coverage("headscarf", head, v, HW.headwear_field("headscarf", Body.measure(head, v)))
    assert covered[np.asarray(head.scalp)].all()
    assert not covered[np.isin(head.vertex_class, [CLASS_IDS["NOSE"], CLASS_IDS["TOP_LIP"]])].any()


@pytest.mark.parametrize("age", [3.0, 35.0])
def test_hijab_leaves_the_68_landmarks_in_a_frontal_segmentation(head, age):
    """Render a frontal view with pyrender and read the class under each projected landmark."""
    from facefarm.catalog import Catalog, resolve
    from facefarm.compose.compositor import compose
    from facefarm.render.backends import backend
    from facefarm.sample.labels import landmark_labels

    cat = Catalog.model_validate(
        {
            "catalog_version": 1,
            "render": {"backend": "pyrender", "resolution": [256, 256]},
            "headwear": {"probability": 1.0, "ids": {"kind": "categorical", "weights": {"headscarf": 1}}},
        }
    )
    s = resolve(cat, 5, 0)
    s = s.model_copy(
        update=dict(
            age_years=age,
            glasses=s.glasses.model_copy(update=dict(present=False)),
            head_pose=s.head_pose.model_copy(update=dict(yaw_deg=0.0, pitch_deg=0.0, roll_deg=0.0)),
            expression=s.expression.model_copy(update=dict(units={k: 0.0 for k in s.expression.units}, blink=0.0)),
            camera=s.camera.model_copy(update=dict(principal_offset_px=(0.0, 0.0), position_jitter_m=(0.0, 0.0, 0.0))),
        )
    )
    assert s.headwear.id == "headscarf"
    scene = compose(s, head)
    with backend("pyrender").start(cat.render) as backend:
        result = backend.render(scene)
    labels = landmark_labels(scene, result)
    uv = np.asarray(labels["uv"])[:68]
    seg = np.asarray(result.segmentation)
    assert (seg == CLASS_IDS["HEADWEAR"]).mean() > 0.05, "no headscarf in the image"
    px = np.clip(np.floor(uv).astype(int), 0, [seg.shape[1] - 1, seg.shape[0] - 1])
    under = seg[px[:, 1], px[:, 0]]
    # a landmark on the face's outline may have the scarf as its backdrop; covered means the
    # scarf is what the camera sees there and it is in front of the landmark
    z = np.asarray(labels["xyz_camera"])[:68, 2]
    depth = np.asarray(result.depth)[px[:, 1], px[:, 0]]
    covered = (under == CLASS_IDS["HEADWEAR"]) & (depth < z - 0.002)
    names = [labels["names"][i] for i in np.flatnonzero(covered)]
    assert not names, f"landmarks under the headscarf at age {age}: {names}"
    # the face itself is open: most landmarks see skin or face classes, not the scarf
    assert (under != CLASS_IDS["HEADWEAR"]).mean() > 0.9
