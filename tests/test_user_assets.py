"""Bring-your-own assets: sidecar validation with clear errors, catalog ids, fitting, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import trimesh
from test_glasses import assert_worn_clear, person

from facefarm.catalog import Catalog, resolve, validate_asset_ids
from facefarm.catalog.vocabulary import DEFAULT_KNOWN_ASSETS
from facefarm.cli.main import main
from facefarm.compose import glasses as G
from facefarm.compose import user_assets as U
from facefarm.compose.attachments import garment_meshes, glasses_meshes
from facefarm.compose.posed_head import PosedHead
from facefarm.paths import ASSETS
from facefarm.scene.classes import CLASS_IDS

SHIPPED = ASSETS / "user"


def _sidecar() -> dict:
    return json.loads((SHIPPED / "headband.json").read_text())


def _folder(tmp_path: Path, sidecars: dict[str, dict], mesh_text: str | None = None) -> Path:
    """A user folder with the example mesh and the given sidecars (file name -> JSON)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "headband.obj").write_text(mesh_text or (SHIPPED / "headband.obj").read_text())
    for name, doc in sidecars.items():
        (tmp_path / name).write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return tmp_path


def test_shipped_example_is_valid_and_reproducible():
    reports = U.validate_folder(SHIPPED)
    assert [r.errors for r in reports] == [[]]
    sc = reports[0].asset.sidecar
    assert sc.license == "CC0-1.0" and sc.kind == "headwear" and sc.id == "headband_cc0"
    # the committed OBJ is exactly what the generator makes (provenance), and it is a closed solid
    assert (SHIPPED / "headband.obj").read_text() == U.example_headband_obj()
    mesh = trimesh.load(SHIPPED / "headband.obj", force="mesh", process=False)
    assert mesh.is_watertight and mesh.volume > 0
    manifest = (ASSETS / "manifest.json").read_text()
    assert "facefarm/assets/user/headband.obj" in manifest and "facefarm/assets/glasses/families.json" in manifest


def _with(**changes) -> dict:
    doc = _sidecar()
    for k, v in changes.items():
        if v is None:
            doc.pop(k, None)
        else:
            doc[k] = v
    return doc


BROKEN = {
    "malformed JSON": ('{"id": "x",', "malformed JSON at line 1"),
    "no licence": (_with(license=None), "license: required field is missing"),
    "unknown licence": (_with(license="free to use"), "is not an SPDX id"),
    "typo in a field": ({**_with(), "lisence": "CC0-1.0"}, "lisence: unknown field"),
    "mesh missing": (_with(mesh="nowhere.obj"), "'nowhere.obj' not found"),
    "wrong units": (_with(units="m"), "did you mean units 'cm'?"),
    "class and kind disagree": (_with(**{"class": "GLASSES"}), "does not match kind 'headwear'"),
    "rule for another kind": (
        _with(
            fit={"rule": "neck", "anchors": {"neck_front": [0, 0, 5], "neck_left": [5, 0, 0], "neck_right": [-5, 0, 0]}}
        ),
        "does not fit a headwear",
    ),
    "anchor missing": (
        _with(fit={"rule": "forehead+ears", "anchors": {"forehead": [0, 0.8, 8.8]}}),
        "needs ear_left, ear_right",
    ),
    "anchor far away": (
        _with(
            fit={
                "rule": "forehead+ears",
                "anchors": {
                    "forehead": [0, 0.8, 880.0],
                    "ear_left": [8.4, -0.4, -1.6],
                    "ear_right": [-8.4, -0.4, -1.6],
                },
            }
        ),
        "fit.anchors.forehead",
    ),
    "built-in id": (_with(id="cap"), "is a built-in headwear id"),
    "bad id": (_with(id="Head Band!"), "id: String should match pattern"),
    "hair card": (_with(kind="hair_card", **{"class": "HAIR"}), "hair_card assets are not supported"),
    "list as id": (_with(id=["a", "b"]), "id: Input should be a valid string"),
    "list as kind": (_with(kind=["headwear"]), "kind: Input should be"),
    "NaN anchor": (
        '{"schema_version": 1, "id": "nan_band", "kind": "headwear", "class": "HEADWEAR", '
        '"mesh": "headband.obj", "units": "cm", "fit": {"rule": "forehead+ears", "anchors": '
        '{"forehead": [NaN, 0.8, 8.8], "ear_left": [8.4, -0.4, -1.6], "ear_right": [-8.4, -0.4, -1.6]}}, '
        '"license": "CC0-1.0", "author": "test"}',
        "fit.anchors.forehead.0: Input should be a finite number",
    ),
    "absolute mesh path": (_with(mesh="/etc/hostname"), "is outside the asset folder"),
    "mesh out of the folder": (_with(mesh="../headband.obj"), "is outside the asset folder"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_sidecars_are_explained(tmp_path, case):
    doc, expected = BROKEN[case]
    folder = _folder(tmp_path, {"broken.json": doc})
    (report,) = U.validate_folder(folder)
    assert not report.ok
    assert any(expected in e for e in report.errors), report.errors
    assert "headband_cc0" not in U.known_asset_ids(folder).get("headwear", set())


def test_mesh_linked_from_outside_the_folder_is_refused(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "band.obj").write_text((SHIPPED / "headband.obj").read_text())
    folder = _folder(tmp_path / "user", {"h.json": _with(mesh="band.obj")})
    (folder / "band.obj").symlink_to(outside / "band.obj")
    (report,) = U.validate_folder(folder)
    assert not report.ok and any("outside the asset folder" in e for e in report.errors), report.errors


def test_mesh_that_does_not_load(tmp_path):
    folder = _folder(tmp_path, {"h.json": _sidecar()}, mesh_text="this is not an OBJ file\n")
    (report,) = U.validate_folder(folder)
    assert any("does not load" in e for e in report.errors), report.errors


def test_duplicate_ids_keep_the_first(tmp_path):
    folder = _folder(tmp_path, {"a.json": _sidecar(), "b.json": _sidecar()})
    a, b = U.validate_folder(folder)
    assert a.ok and not b.ok and "already used by a.json" in b.errors[0]


def test_gltf_and_z_up_meshes_load(tmp_path):
    """A GLB exported z-up (Blender's convention) validates and fits like the OBJ."""
    mesh = trimesh.load(SHIPPED / "headband.obj", force="mesh", process=False)
    zup = mesh.copy()
    zup.vertices = np.column_stack([mesh.vertices[:, 0], -mesh.vertices[:, 2], mesh.vertices[:, 1]])
    zup.export(tmp_path / "band.glb")
    doc = _sidecar()
    doc.update(id="band_glb", mesh="band.glb", up_axis="z")
    doc["fit"]["anchors"] = {k: [x, -z, y] for k, (x, y, z) in doc["fit"]["anchors"].items()}
    (tmp_path / "band.json").write_text(json.dumps(doc))
    (report,) = U.validate_folder(tmp_path)
    assert report.ok, report.errors
    np.testing.assert_allclose(report.asset.vertices, U.validate_folder(SHIPPED)[0].asset.vertices, atol=1e-6)


def test_known_ids_feed_catalog_validation(tmp_path):
    known = U.known_asset_ids(SHIPPED)
    assert "headband_cc0" in known["headwear"]
    assert {"round", "aviator"} <= known["glasses"] and {"tshirt", "scarf"} <= known["clothing"]
    assert known["hdri"] == set(DEFAULT_KNOWN_ASSETS["hdri"])
    cat = Catalog.model_validate(
        {
            "catalog_version": 1,
            "headwear": {"probability": 1.0, "ids": {"kind": "categorical", "weights": {"headband_cc0": 1, "cap": 1}}},
        }
    )
    assert validate_asset_ids(cat, known) == []
    problems = validate_asset_ids(cat, {k: set(v) for k, v in DEFAULT_KNOWN_ASSETS.items()})
    assert any("headband_cc0" in str(p) for p in problems)


def test_environment_variable_names_the_folder(tmp_path, monkeypatch):
    doc = _sidecar()
    doc["id"] = "my_band"
    folder = _folder(tmp_path / "mine", {"mine.json": doc})
    monkeypatch.setenv(U.USER_ASSETS_ENV, str(folder))
    assert U.user_folder() == folder
    assert "my_band" in U.known_asset_ids()["headwear"]
    assert "headband_cc0" not in U.known_asset_ids()["headwear"]


@pytest.mark.parametrize("who", ["baby", "heavy_man", "elder"])
def test_example_headband_fits(head, who):
    v = person(head, who)
    meshes = U.fitted_meshes("headwear", "headband_cc0", head, v, folder=SHIPPED)
    assert_worn_clear(meshes, head, v, min_gap=0.0008, what=f"headband on {who}")
    (m,) = meshes
    assert np.all(m.face_class == CLASS_IDS["HEADWEAR"]) and m.material.kind == "headwear"
    brows = v[np.isin(head.vertex_class, [CLASS_IDS["LEFT_BROW"], CLASS_IDS["RIGHT_BROW"]])]
    front = m.vertices[m.vertices[:, 2] > np.percentile(m.vertices[:, 2], 90)]
    assert front[:, 1].min() > brows[:, 1].max(), "the band covers the brows"
    # elastic: it hugs the head - no part of it stands far off the skin
    from test_glasses import head_surface, surface_gaps

    hv, hf = head_surface(head, v)
    assert surface_gaps(m.vertices.astype(np.float64), hv, hf).min() < 0.004


def test_samples_reach_user_assets(head, monkeypatch):
    """A catalog that names a user id gets the user's mesh through garment_meshes / glasses_meshes."""
    monkeypatch.setenv(U.USER_ASSETS_ENV, str(SHIPPED))
    cat = Catalog.model_validate(
        {
            "catalog_version": 1,
            "headwear": {"probability": 1.0, "ids": {"kind": "categorical", "weights": {"headband_cc0": 1}}},
        }
    )
    s = resolve(cat, seed=0, index=0)
    assert s.headwear.id == "headband_cc0"
    v = person(head, "woman")
    names = [m.name for m in garment_meshes(PosedHead.pose(s, head, v))]
    assert "user_headwear_headband_cc0" in names


def test_user_glasses_fit_by_nose_and_ears(head, tmp_path, monkeypatch):
    """Glasses exported from another head (here: our own oval frame on an adult) refit to a child."""
    adult = person(head, "woman")
    fit = G.fit_glasses(G.GlassesParams("oval"), head, adult)
    frame = next(m for m in fit.meshes if m.material.kind == "glasses_frame")
    trimesh.Trimesh(frame.vertices * 1000.0, frame.faces, process=False).export(tmp_path / "frame.obj")
    anchors = U.head_anchor_points(head, adult)
    doc = {
        "id": "my_frame",
        "kind": "glasses",
        "class": "GLASSES",
        "mesh": "frame.obj",
        "units": "mm",
        "fit": {
            "rule": "nose_bridge+ears",
            "anchors": {
                k: (np.asarray(anchors[k]) * 1000.0).round(3).tolist() for k in ("nose_bridge", "ear_left", "ear_right")
            },
        },
        "license": "CC0-1.0",
        "author": "test",
        "metallic": 1.0,
    }
    (tmp_path / "frame.json").write_text(json.dumps(doc))
    monkeypatch.setenv(U.USER_ASSETS_ENV, str(tmp_path))
    child = person(head, "child")
    sample = resolve(
        Catalog.model_validate(
            {
                "catalog_version": 1,
                "glasses": {"probability": 1.0, "families": {"kind": "categorical", "weights": {"my_frame": 1}}},
            }
        ),
        seed=0,
        index=0,
    )
    meshes = glasses_meshes(PosedHead.pose(sample, head, child))
    assert [m.name for m in meshes] == ["user_glasses_my_frame"]
    assert_worn_clear(meshes, head, child, min_gap=0.001, what="user glasses on a child")
    width = np.ptp(meshes[0].vertices[:, 0])
    assert width < 0.97 * np.ptp(frame.vertices[:, 0]), "refitted glasses should shrink for a child"


def test_cli_validate(tmp_path, capsys):
    assert main(["assets", "validate", str(SHIPPED)]) == 0
    assert "ok    headwear/headband_cc0" in capsys.readouterr().out
    folder = _folder(tmp_path, {"bad.json": _with(license=None, units="mm")})
    assert main(["assets", "validate", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "license: required field is missing" in out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["assets", "validate", str(empty)]) == 0
    assert "no asset sidecars" in capsys.readouterr().out
