"""A worker that composes the next sample while the back-end renders writes the same dataset.

Real workers (fast back-end), real stores: the files of a shard rendered with and without
compose-ahead must be byte-identical, samples already complete are skipped (and never
composed), and a sample whose compose fails is reported as its own error, not its neighbour's.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import pytest  # noqa: E402

from facefarm.catalog.vocabulary import sample_id  # noqa: E402
from facefarm.farm.workers import SampleWorker
from facefarm.render.backends import backend  # noqa: E402

pytestmark = [pytest.mark.usefixtures("head_asset"), pytest.mark.slow]  # renders

CATALOG = {"catalog_version": 1, "size": 5, "render": {"resolution": [96, 96]}}
SHARD = [0, 1, 2, 3, 4]


def _worker(root: Path, ahead: bool, catalog: dict = CATALOG, backend: str = "pyrender") -> SampleWorker:
    return SampleWorker(catalog, backend, str(root), seed=7, n=len(SHARD), compose_ahead=ahead)


def _files(root: Path) -> dict[str, bytes]:
    """Every file the store holds, labels without their timings."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            if p.suffix == ".json":
                rec = json.loads(data)
                rec.get("render", {}).pop("seconds", None)
                data = json.dumps(rec, sort_keys=True).encode()
            out[str(p.relative_to(root))] = data
    return out


def test_the_default_composes_ahead_for_cycles_only():
    assert backend("cycles").compose_ahead and not backend("pyrender").compose_ahead


def _same_files_either_way(tmp_path, shard, **worker):
    runs = {}
    for ahead in (False, True):
        w = _worker(tmp_path / str(ahead), ahead, **worker)
        try:
            runs[ahead] = w.render_shard(shard)
        finally:
            w.close()
        assert [r["status"] for r in runs[ahead]] == ["rendered"] * len(shard), runs[ahead]
    a, b = _files(tmp_path / "False"), _files(tmp_path / "True")
    assert len(a) >= 3 * len(shard) and a.keys() == b.keys(), sorted(a.keys() ^ b.keys())
    differ = [k for k in a if a[k] != b[k]]
    assert differ == [], [(k, a[k][:300], b[k][:300]) for k in differ if k.endswith(".json")] or differ


def test_composing_ahead_writes_the_same_files(tmp_path):
    _same_files_either_way(tmp_path, SHARD)


@pytest.mark.blender
@pytest.mark.slow
def test_composing_ahead_while_cycles_renders_writes_the_same_files(tmp_path):
    """Cycles' default: the compose thread runs while Blender path-traces (bpy lets go of the GIL)."""
    catalog = {**CATALOG, "render": {"resolution": [48, 48], "backend": "cycles", "samples": 4, "device": "cpu"}}
    _same_files_either_way(tmp_path, SHARD[:3], catalog=catalog, backend="cycles")


def test_composing_ahead_skips_complete_samples_and_blames_the_right_one(tmp_path):
    w = _worker(tmp_path, True)
    try:
        assert [r["status"] for r in w.render_shard([1, 3])] == ["rendered", "rendered"]
        prepared = []
        real = w.renderer.prepare

        def prepare(seed, index, n_total=None):
            prepared.append((index, threading.current_thread().name.startswith("compose-ahead")))
            if index == 2:
                raise RuntimeError("compose failed on purpose")
            return real(seed, index, n_total)

        w.renderer.prepare = prepare
        seen = []
        results = w.render_shard(SHARD, on_each=seen.append)
    finally:
        w.close()
    assert [r["status"] for r in results] == ["rendered", "complete", "error", "complete", "rendered"]
    assert "on purpose" in results[2]["reason"] and results[2]["sample_id"] == sample_id(2)
    assert sorted(i for i, _ in prepared) == [0, 2, 4], "complete samples were composed again"
    assert sorted(prepared) == [(0, False), (2, True), (4, True)], "samples were not composed ahead"
    assert seen == results
