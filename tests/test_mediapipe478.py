"""MediaPipe FaceMesh's 478 points (``outputs.labels`` ``landmarks_mediapipe478``): the layout file,
where the points lie on rendered faces, their visibility, flips, determinism, and the COCO export.

The definitions themselves come from ``tools/derive_mediapipe478.py`` (FaceMesh on our renders);
these tests need no mediapipe."""

from __future__ import annotations

import numpy as np
import pytest

import facefarm
from facefarm.sample.labels import GROUP_CLASSES, flip_labels, landmark_labels, sparse_flip_index
from facefarm.scene.classes import CLASS_IDS, layout, layout_outline, layout_visibility

pytestmark = pytest.mark.usefixtures("head_asset")

MP = layout("mediapipe478")
FLIP = np.asarray(MP["flip_index"])
FACE = {CLASS_IDS[c] for c in ("SKIN", "NOSE", "RIGHT_EYE", "LEFT_EYE", "RIGHT_BROW", "LEFT_BROW")} | {
    CLASS_IDS[c] for c in ("TOP_LIP", "BOTTOM_LIP", "MOUTH_INTERIOR", "BEARD")
}
#: The same place on the face in both layouts (iBUG id -> MediaPipe id): eye corners, mouth corners,
#: chin, nose tip. The 70 were derived from dlib, the 478 from FaceMesh: independent models.
OUTLINE = set(layout_outline("mediapipe478"))
SAME_PLACE = {36: 33, 39: 133, 42: 362, 45: 263, 48: 61, 54: 291, 8: 152, 30: 1}


def _side(name: str) -> str:
    return "left" if "left" in name else "right" if "right" in name else "mid"


def test_the_layout_file_is_consistent():
    names = MP["names"]
    assert len(names) == len(set(names)) == len(MP["points"]) == 478
    assert sorted(FLIP) == list(range(478)) and (FLIP[FLIP] == np.arange(478)).all()
    swap = {"left": "right", "right": "left", "mid": "mid"}
    for i, j in enumerate(FLIP):  # left names become right names, the midline stays
        assert _side(names[j]) == swap[_side(names[i])], (names[i], names[j])
        assert (i == j) == (_side(names[i]) == "mid")
    vis = layout_visibility("mediapipe478")
    covered = sorted(k for ids in vis.values() for k in ids)
    assert covered == list(range(478))  # every point in exactly one visibility group
    assert set(vis) <= set(GROUP_CLASSES)
    groups = {g: set(ids) for g, ids in MP["groups"].items()}
    brow_points = {i for i, p in enumerate(MP["points"]) if "brow" in p}
    assert brow_points == groups["right_brow"] | groups["left_brow"]  # brow points follow the brow band
    for g, ids in groups.items():  # MediaPipe's groups mirror onto their partners
        partner = g.replace("left", "@").replace("right", "left").replace("@", "right")
        assert {int(FLIP[k]) for k in ids} == groups[partner], g
    outline = layout_outline("mediapipe478")
    assert set(outline) <= groups["face_oval"] and [int(FLIP[k]) for k in outline] == outline[::-1]
    assert [names[k] for k in MP["nme_normaliser"]] == [names[33], names[263]] and FLIP[33] == 263


def test_partners_are_exact_mirrors_on_the_head(head):
    order = np.argsort(head.hm08_index)

    def ids(hm08):
        return order[np.searchsorted(head.hm08_index, hm08, sorter=order)]

    for i, p in enumerate(MP["points"]):
        q = MP["points"][FLIP[i]]
        if "vertices" in p:
            assert q["weights"] == p["weights"]
            np.testing.assert_array_equal(ids(q["vertices"]), head.mirror[ids(p["vertices"])])
        elif "brow" in p:  # the same place in the other brow
            assert {p["brow"], q["brow"]} == {"right", "left"}
            assert (q["x_m"], q["across"]) == (p["x_m"], p["across"]) and p["x_m"] > 0
        else:  # an iris point: the other eye, the direction mirrored in x
            assert {p["eye"], q["eye"]} == {"eye_r", "eye_l"}
            if "limbus" in p:
                assert q["limbus"] == [-p["limbus"][0], p["limbus"][1]]


def _catalog(yaw: float):
    import json

    from facefarm import paths
    from facefarm.catalog import load_catalog

    data = json.loads((paths.ASSETS / "catalogs" / "default.json").read_text())
    data.update(
        head_pose={"yaw_deg": yaw, "pitch_deg": 0.0, "roll_deg": 0.0},
        glasses={"probability": 0.0},
        headwear={"probability": 0.0},
        hair={"styles": "buzz"},
        facial_hair={"probability": 0.0},
        expression={
            "presets": "neutral",
            "intensity": 0.0,
            "blink_probability": 0.0,
            "gaze_yaw_deg": 0.0,
            "gaze_pitch_deg": 0.0,
        },
        render={"resolution": [256, 256]},
    )
    return load_catalog(data)


@pytest.fixture(scope="module")
def views(head):
    """Labels of three frontal and one 30-degree unoccluded default samples: (scene, result, labels)."""
    from facefarm.catalog import resolve
    from facefarm.compose.compositor import compose
    from facefarm.render.pyrender.renderer import PyrenderRenderer

    out = []
    with PyrenderRenderer() as r:
        for yaw, i in ((0.0, 0), (0.0, 1), (0.0, 2), (30.0, 0)):
            scene = compose(resolve(_catalog(yaw), 0, i, 4), head, layouts=("mediapipe478",))
            result = r.render(scene)
            out.append((scene, result, landmark_labels(scene, result)))
    return out


def test_visible_points_lie_on_the_rendered_face(views):
    for n, (scene, result, lab) in enumerate(views):
        for conv in ("xray", "contour"):
            b = lab["layouts"]["mediapipe478"][conv]
            vis = np.flatnonzero(b["visible"])
            if n < 3:  # frontal: nearly every point is seen
                assert len(vis) >= 0.97 * 478, (n, conv, len(vis))
            for k in vis:
                u, v = np.floor(b["uv"][k]).astype(int)
                patch = result.segmentation[max(v - 1, 0) : v + 2, max(u - 1, 0) : u + 2]
                # on the outline, the jaw's classes (an ear in front of the cheek's edge) as for the 70
                ok = FACE | GROUP_CLASSES["jaw"] if conv == "contour" and k in OUTLINE else FACE
                assert ok & set(np.unique(patch).tolist()), (n, conv, MP["names"][k], np.unique(patch))
        uv = lab["layouts"]["mediapipe478"]["xray"]["uv"]
        eye = np.linalg.norm(uv[33] - uv[263])
        for k70, k in SAME_PLACE.items():  # dlib's 70 and FaceMesh's 478 agree where both have a point
            assert np.linalg.norm(uv[k] - lab["uv"][k70]) < 0.12 * eye, (n, k70, k)
        for centre, corners in ((468, (33, 133)), (473, (362, 263))):  # irises inside their eyes
            xs = sorted(uv[list(corners), 0])
            assert xs[0] < uv[centre, 0] < xs[1]
            rim = np.linalg.norm(uv[centre + 1 : centre + 5] - uv[centre], axis=1)
            assert (rim > 0.05 * eye).all() and (rim < 0.2 * eye).all(), rim / eye


def test_the_contour_moves_only_the_outline_points(views):
    outline = layout_outline("mediapipe478")
    rest = np.setdiff1d(np.arange(478), outline)
    moved = 0
    for scene, result, lab in views:
        b = lab["layouts"]["mediapipe478"]
        np.testing.assert_array_equal(b["xray"]["uv"][rest], b["contour"]["uv"][rest])
        moved += int((np.linalg.norm(b["xray"]["uv"][outline] - b["contour"]["uv"][outline], axis=1) > 0.5).sum())
    scene, result, lab = views[3]  # 30 degrees: the far cheek's outline points slide forward
    b = lab["layouts"]["mediapipe478"]
    assert moved > 0 and b["contour"]["visible"][outline].mean() > b["xray"]["visible"][outline].mean()


def test_a_frontal_face_is_its_own_mirror_image_in_the_layout(views):
    scene, result, lab = views[0]
    width = result.segmentation.shape[1]
    flip70 = np.concatenate([sparse_flip_index(), 70 + np.arange(len(lab["uv"]) - 70)])
    mirrored = flip_labels(lab, flip70)["layouts"]["mediapipe478"]["xray"]
    b = lab["layouts"]["mediapipe478"]["xray"]
    np.testing.assert_allclose(mirrored["uv"][:, 0], width - b["uv"][FLIP, 0])
    # a symmetric head seen from the front: mirrored about the face's midline (not the image's
    # centre: the camera aims at the face's centre, a little off the midline plane), the mirror
    # image's point i is where point i was
    mid = float(np.mean(b["uv"][FLIP == np.arange(478), 0]))
    about_mid = mirrored["uv"] + np.array([2 * mid - width, 0.0])
    eye = np.linalg.norm(b["uv"][33] - b["uv"][263])
    err = np.linalg.norm(about_mid - b["uv"], axis=1)
    assert np.median(err) < 0.03 * eye and err.max() < 0.12 * eye, (np.median(err) / eye, err.max() / eye)


def test_composing_is_deterministic(head):
    from facefarm.catalog import resolve
    from facefarm.compose.compositor import compose

    cat = _catalog(20.0)
    a, b = (compose(resolve(cat, 3, 1, 4), head, layouts=("mediapipe478",)).layouts[0] for _ in range(2))
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.contour, b.contour)
    other = compose(resolve(cat, 3, 2, 4), head, layouts=("mediapipe478",)).layouts[0]
    assert not np.allclose(a.points, other.points)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Two 64 px default samples with MediaPipe's points."""
    root = tmp_path_factory.mktemp("mp478")
    labels = ["rgb", "segmentation", "depth", "landmarks70", "landmarks_mediapipe478"]
    over = {"render.resolution": [64, 64], "outputs.labels": labels, "outputs.formats": ["coco"]}
    facefarm.render("default", 2, root / "ds", overrides=over, datasheet=False, exports=False)
    return root / "ds"


def test_the_loader_crop_and_coco_export_carry_the_478(rendered, tmp_path, capsys):
    import json

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from facefarm.cli import main as cli

    out = rendered
    s = facefarm.load(out, landmarks="contour")[1]
    uv, vis = facefarm.layout_points(s, "mediapipe478")
    assert uv.shape == (478, 2) and vis.shape == (478,)
    c = facefarm.crop(s, 48)
    uv_c, _ = facefarm.layout_points(c, "mediapipe478")
    # the crop's warp, fitted on the 70 points, carries the 478 the same way
    a, *_ = np.linalg.lstsq(np.c_[s.landmarks, np.ones(70)], c.landmarks, rcond=None)
    np.testing.assert_allclose(np.c_[uv, np.ones(478)] @ a, uv_c, atol=1e-6)
    assert not np.allclose(uv_c, uv)
    dest = tmp_path / "exports"
    args = ["export", str(out), "-f", "coco", "--splits", "1", "--dest", str(dest), "--layout", "mediapipe478"]
    assert cli.main([*args, "--landmarks", "contour"]) == 0, capsys.readouterr().err
    coco = COCO(str(dest / "coco" / "annotations" / "face_keypoints_train.json"))
    cat = coco.loadCats(1)[0]
    assert cat["keypoints"] == MP["names"] and cat["flip_index"] == MP["flip_index"]
    assert len(cat["oks_sigmas"]) == 478 and max(max(e) for e in cat["skeleton"]) <= 478
    for ann in coco.loadAnns(coco.getAnnIds()):
        image = coco.loadImgs(ann["image_id"])[0]
        record = json.loads((out / "samples" / f"{image['sample_id']}.json").read_text())
        block = record["layouts"]["mediapipe478"]["contour"]
        kp = np.asarray(ann["keypoints"], float).reshape(478, 3)
        shown = kp[:, 2] > 0
        np.testing.assert_allclose(kp[shown, :2] + 0.5, np.asarray(block["uv"])[shown], atol=1e-3)
        assert (kp[:, 2] == 2).sum() == sum(v and f for v, f in zip(block["visible"], block["in_frame"]))
    dets = [dict(a, score=1.0) for a in coco.loadAnns(coco.getAnnIds())]
    ev = COCOeval(coco, coco.loadRes(dets), "keypoints")
    ev.params.kpt_oks_sigmas = np.asarray(cat["oks_sigmas"])
    ev.evaluate(), ev.accumulate(), ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)
