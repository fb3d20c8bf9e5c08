"""`facefarm audit` reports damaged and missing files as findings (exit 2), never a traceback."""

from __future__ import annotations

import json

import pytest
from robust_support import facefarm

pytestmark = pytest.mark.slow


def _flip(path, at: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0x40
    path.write_bytes(bytes(data))


def test_damaged_and_missing_files_are_findings(dataset):
    samples = dataset / "samples"
    png = samples / "000000.png"
    png.write_bytes(png.read_bytes()[: len(png.read_bytes()) // 2])  # truncated
    _flip(samples / "000001_seg.png")  # a bit flipped inside the compressed data
    (samples / "000001_depth.png").unlink()  # missing
    (samples / "000000_depth.png").write_bytes(b"")  # empty
    (samples / "000001.json").write_bytes((samples / "000001.json").read_bytes()[:100])  # cut short
    p = facefarm("audit", dataset)  # with plots: the contact sheet must not choke on them either
    assert p.returncode == 2, p.stdout + p.stderr
    assert "Traceback" not in p.stderr
    facts = json.loads((dataset / "datasheet" / "datasheet.json").read_text())
    problems = " ".join(facts["checks"]["problems"])
    for where in ("000000:image", "000001:segmentation", "000001:depth", "000000:depth", "000001:labels"):
        assert where in problems, problems
    assert "missing" in problems
    assert "damaged" in p.stdout or "missing" in p.stdout, p.stdout


def test_verify_hashes_every_sample_not_only_the_spread_subset(dataset):
    from facefarm.dataset.datasheet import check_files
    from facefarm.dataset.source import open_dataset

    _flip(dataset / "samples" / "000001.png")  # same size: only a hash finds it
    assert check_files(open_dataset(dataset), limit=1)["problems"] == []  # sample 0 is the one checked
    assert "000001:image" in check_files(open_dataset(dataset), limit=None)["problems"]
    p = facefarm("audit", dataset, "--no-plots", "--verify")
    assert p.returncode == 2 and "000001:image" in p.stdout, p.stdout + p.stderr
