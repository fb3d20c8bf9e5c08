"""A full disk mid-run: one clear error, whole samples only, no temporaries left; a re-run finishes.

The output is a small tmpfs mounted by the test (needs root, as CI runs; skipped elsewhere).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
from robust_support import facefarm

pytestmark = pytest.mark.slow  # renders


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / f"disk-{uuid.uuid4().hex[:8]}"
    mnt.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mnt)], capture_output=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_a_full_disk_stops_cleanly_and_a_rerun_finishes(tmp_path, small_disk):
    spec = tmp_path / "tiny.json"
    spec.write_text(json.dumps({"catalog_version": 1, "render": {"resolution": [64, 64]}}))
    out, n = small_disk / "out", 30  # ~50 KB a sample: 600 KB holds about ten
    args = ["render", spec, "-o", out, "-n", n, "--no-ray", "--quiet", "--no-exports", "--no-datasheet"]
    p = facefarm(*args)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "no space left" in p.stderr and "re-run the same command" in p.stderr and "Traceback" not in p.stderr
    samples = out / "samples"
    assert not [f for f in samples.iterdir() if f.name.startswith(".tmp-")], "temporaries left behind"
    for record in samples.glob("*.json"):  # every committed sample is whole
        data = json.loads(record.read_text())
        for kind, name in data["files"].items():
            assert (out / name).stat().st_size == data["sizes"][kind], name

    subprocess.run(["mount", "-o", "remount,size=8m", str(small_disk)], check=True)
    p = facefarm(*args)
    assert p.returncode == 0, p.stdout + p.stderr
    assert len((out / "manifest.jsonl").read_text().splitlines()) == n
    assert Path(out / "dataset.json").exists()
