"""Paths read from sample records stay inside the dataset root: `..`, absolute paths and symlinks out
are a clear error naming the record, and are never followed."""

from __future__ import annotations

import json
import os

import pytest
from robust_support import facefarm

from facefarm.dataset.source import open_dataset

pytestmark = pytest.mark.slow


def _set_image(dataset, index: int, name: str) -> None:
    path = dataset / "manifest.jsonl"
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    lines[index]["files"]["image"] = name
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


@pytest.fixture
def secret(tmp_path):
    s = tmp_path / "secret.png"
    s.write_bytes(b"\x89PNG secret outside the dataset")
    return s


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_export_refuses_a_path_out_of_the_dataset(dataset, secret, tmp_path, how):
    if how == "dotdot":
        _set_image(dataset, 1, "samples/../../secret.png")
    elif how == "absolute":
        _set_image(dataset, 1, str(secret))
    else:
        os.symlink(secret, dataset / "samples" / "000001_link.png")
        _set_image(dataset, 1, "samples/000001_link.png")
    dest = tmp_path / "exp"
    p = facefarm("export", dataset, "-f", "facesynthetics", "--dest", dest, "--splits", "1", "--copy")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "Traceback" not in p.stderr and "000001" in p.stderr and "outside" in p.stderr
    copied = [f for f in dest.rglob("*") if f.is_file() and b"secret" in f.read_bytes()] if dest.exists() else []
    assert not copied
    with pytest.raises(ValueError, match="000001.*outside"):
        open_dataset(dataset).read_file(json.loads((dataset / "manifest.jsonl").read_text().splitlines()[1]), "image")


def test_audit_refuses_a_path_out_of_the_dataset(dataset, secret):
    _set_image(dataset, 0, "../secret.png")
    p = facefarm("audit", dataset, "--no-plots")
    assert p.returncode in (1, 2), p.stdout + p.stderr
    assert "Traceback" not in p.stderr and "000000" in (p.stdout + p.stderr)
