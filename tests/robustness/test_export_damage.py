"""`facefarm export` on a dataset with a damaged or missing file: one line naming it, exit 1, no traceback."""

from __future__ import annotations

import pytest
from robust_support import facefarm

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "fmt, victim",
    [
        ("coco", "000001_seg.png"),
        ("facesynthetics", "000000.png"),
        ("webdataset", "000001.json"),
        ("hf", "000000_depth.png"),
    ],
)
def test_export_names_the_damaged_file(dataset, tmp_path, fmt, victim):
    path = dataset / "samples" / victim
    if victim == "000000_depth.png":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:-7])
    p = facefarm("export", dataset, "-f", fmt, "--dest", tmp_path / "exp", "--splits", "1", "--copy")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "Traceback" not in p.stderr and victim in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "exp" / fmt).exists()
