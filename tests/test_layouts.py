"""WFLW's 98 points (``outputs.labels`` ``landmarks_wflw98``): the layout file, where the points lie on
rendered faces, their visibility, and how the loader, crop and flips carry them."""

from __future__ import annotations

import numpy as np
import pytest

import facefarm
from facefarm.sample.labels import flip_labels, landmark_labels, sparse_flip_index
from facefarm.scene.classes import CLASS_IDS, landmark_layout, layout

pytestmark = pytest.mark.usefixtures("head_asset")

WFLW = layout("wflw98")
FROM70 = {i: p["from70"] for i, p in enumerate(WFLW["points"]) if "from70" in p}


def test_the_layout_file_is_consistent_with_the_70_point_one():
    names, flip = WFLW["names"], np.asarray(WFLW["flip_index"])
    assert len(names) == len(set(names)) == len(WFLW["points"]) == 98
    assert sorted(flip) == list(range(98)) and (flip[flip] == np.arange(98)).all()
    flip70 = np.asarray(landmark_layout()["flip_index"])
    assert sorted(FROM70.values()) == list(range(70))  # every 70-point is in, once
    for i, j in FROM70.items():  # mirroring commutes with taking the 70's point
        assert FROM70[int(flip[i])] == flip70[j], (names[i], names[flip[i]])
    for i, p in enumerate(WFLW["points"]):
        if "between70" in p:
            a, b = p["between70"]
            assert sorted(WFLW["points"][flip[i]]["between70"]) == sorted([flip70[a], flip70[b]])
        if "brow_lower_under70" in p:
            assert WFLW["points"][flip[i]]["brow_lower_under70"] == flip70[p["brow_lower_under70"]]
    covered = sorted(k for a, b in WFLW["groups"].values() for k in range(a, b + 1))
    assert covered == list(range(98))
    assert [names[k] for k in WFLW["nme_normaliser"]] == ["right_eye_0", "left_eye_4"]  # outer corners


@pytest.fixture(scope="module")
def frontal(head):
    """Labels of four frontal, unoccluded default samples (no glasses, headwear, hair over the face)."""
    import json

    from facefarm import paths
    from facefarm.catalog import load_catalog, resolve
    from facefarm.compose.compositor import compose
    from facefarm.render.pyrender.renderer import PyrenderRenderer

    data = json.loads((paths.ASSETS / "catalogs" / "default.json").read_text())
    data.update(
        head_pose={"yaw_deg": 0.0, "pitch_deg": 0.0, "roll_deg": 0.0},
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
    cat = load_catalog(data)
    out = []
    with PyrenderRenderer() as r:
        for i in range(4):
            scene = compose(resolve(cat, 0, i, 4), head, layouts=("wflw98",))
            result = r.render(scene)
            out.append((scene, result, landmark_labels(scene, result)))
    return out


def test_shared_points_are_the_70s_and_new_ones_lie_where_wflw_puts_them(frontal):
    for scene, result, lab in frontal:
        blocks = lab["layouts"]["wflw98"]
        for conv, seventy in (("xray", lab), ("contour", lab["contour"])):
            b = blocks[conv]
            for i, j in FROM70.items():
                np.testing.assert_array_equal(b["uv"][i], seventy["uv"][j])
                assert b["visible"][i] == seventy["visible"][j]
        uv = blocks["xray"]["uv"]
        eye = np.linalg.norm(uv[60] - uv[72])
        for k in range(1, 33, 2):  # jaw in-between points: on the jaw line between their neighbours
            mid = 0.5 * (uv[k - 1] + uv[k + 1])
            assert np.linalg.norm(uv[k] - mid) < 0.06 * eye, k
        for upper, lower, corners in ((62, 66, (60, 64)), (70, 74, (68, 72))):  # lid middles
            line_v = 0.5 * (uv[corners[0], 1] + uv[corners[1], 1])
            assert uv[upper, 1] < line_v < uv[lower, 1]
            assert min(uv[corners, 0]) < uv[upper, 0] < max(uv[corners, 0])
        # brows: the lower edge under the upper one, above the eyes
        for upper, lower in ((37, 38), (36, 39), (35, 40), (34, 41), (42, 50), (43, 49), (44, 48), (45, 47)):
            assert uv[upper, 1] < uv[lower, 1] < min(uv[60:76, 1]), (upper, lower)
            assert abs(uv[upper, 0] - uv[lower, 0]) < 0.05 * eye


def test_new_points_on_frontal_faces_are_visible_and_show_their_region(frontal):
    brows = {CLASS_IDS["RIGHT_BROW"], CLASS_IDS["LEFT_BROW"], CLASS_IDS["SKIN"]}
    new = [i for i in range(98) if i not in FROM70]
    seen = 0
    for scene, result, lab in frontal:
        b = lab["layouts"]["wflw98"]["xray"]
        seen += int(b["visible"][new].sum())
        for i in [k for k in new if 33 <= k <= 50 and b["visible"][k]]:
            u, v = np.floor(b["uv"][i]).astype(int)
            patch = result.segmentation[max(v - 1, 0) : v + 2, max(u - 1, 0) : u + 2]
            assert brows & set(np.unique(patch).tolist()), (i, np.unique(patch))
    assert seen >= 0.97 * len(new) * len(frontal), seen


def test_mirrored_labels_renumber_the_layout_as_the_70(frontal):
    scene, result, lab = frontal[0]
    flip70 = np.concatenate([sparse_flip_index(), 70 + np.arange(len(lab["uv"]) - 70)])
    mirrored = flip_labels(lab, flip70)
    b = mirrored["layouts"]["wflw98"]["xray"]
    for i, j in FROM70.items():
        np.testing.assert_allclose(b["uv"][i], mirrored["uv"][j])
        assert b["visible"][i] == mirrored["visible"][j]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Two 64 px default samples with WFLW points, and one without."""
    root = tmp_path_factory.mktemp("wflw")
    labels = ["rgb", "segmentation", "depth", "landmarks70", "landmarks_wflw98"]
    over = {"render.resolution": [64, 64], "outputs.labels": labels, "outputs.formats": ["coco"]}
    facefarm.render("default", 2, root / "ds", overrides=over, datasheet=False, exports=False)
    facefarm.render("default", 1, root / "plain", overrides={"render.resolution": [48, 48]}, datasheet=False)
    return root / "ds", root / "plain"


def test_the_loader_and_crop_carry_the_layout(rendered):
    out, plain = rendered
    line = (out / "manifest.jsonl").read_text().splitlines()[0]
    assert "wflw98" not in line  # the manifest stays small: the points are in the label file
    for conv in ("xray", "contour"):
        s = facefarm.load(out, landmarks=conv)[1]
        uv, vis = facefarm.layout_points(s)
        assert uv.shape == (98, 2) and vis.shape == (98,)
        np.testing.assert_allclose(uv[list(FROM70)], s.landmarks[list(FROM70.values())])
        c = facefarm.crop(s, 48)
        uv_c, vis_c = facefarm.layout_points(c)
        np.testing.assert_allclose(uv_c[list(FROM70)], c.landmarks[list(FROM70.values())], atol=1e-9)
        assert not np.allclose(uv_c, uv)
    with pytest.raises(ValueError, match="landmarks_wflw98"):
        facefarm.layout_points(facefarm.load(plain)[0])


def test_coco_export_of_the_98_points_reads_back_with_pycocotools(rendered, tmp_path, capsys):
    import json

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from facefarm.cli import main as cli

    out, plain = rendered
    dest = tmp_path / "exports"
    args = ["export", str(out), "-f", "coco", "--splits", "1", "--dest", str(dest), "--layout", "wflw98"]
    assert cli.main([*args, "--landmarks", "contour"]) == 0, capsys.readouterr().err
    path = dest / "coco" / "annotations" / "face_keypoints_train.json"
    coco = COCO(str(path))
    cat = coco.loadCats(1)[0]
    assert cat["keypoints"] == WFLW["names"] and cat["flip_index"] == WFLW["flip_index"]
    for ann in coco.loadAnns(coco.getAnnIds()):
        image = coco.loadImgs(ann["image_id"])[0]
        record = json.loads((out / "samples" / f"{image['sample_id']}.json").read_text())
        block = record["layouts"]["wflw98"]["contour"]
        kp = np.asarray(ann["keypoints"], float).reshape(98, 3)
        shown = kp[:, 2] > 0
        np.testing.assert_allclose(kp[shown, :2] + 0.5, np.asarray(block["uv"])[shown], atol=1e-3)
        assert (kp[:, 2] == 2).sum() == sum(v and f for v, f in zip(block["visible"], block["in_frame"]))
    # the ground truth scored against itself with the category's 98 sigmas: AP 1
    dets = [dict(a, score=1.0) for a in coco.loadAnns(coco.getAnnIds())]
    ev = COCOeval(coco, coco.loadRes(dets), "keypoints")
    ev.params.kpt_oks_sigmas = np.asarray(cat["oks_sigmas"])
    ev.evaluate(), ev.accumulate(), ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)
    capsys.readouterr()
    # what cannot be: a 70-point format, and a dataset rendered without the 98 points
    assert cli.main(["export", str(out), "-f", "facesynthetics", "--dest", str(dest), "--layout", "wflw98"]) == 1
    assert "70 points" in capsys.readouterr().err
    assert cli.main(["export", str(plain), "-f", "coco", "--dest", str(tmp_path / "p"), "--layout", "wflw98"]) == 1
    assert "landmarks_wflw98" in capsys.readouterr().err
