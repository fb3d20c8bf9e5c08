"""facefarm deletes or replaces only what it can prove it wrote: `audit --dest`, `render -o`, `--overwrite`."""

from __future__ import annotations

import json

import pytest
from robust_support import facefarm, render_args

pytestmark = pytest.mark.slow


def test_audit_refuses_a_dest_that_is_a_file(dataset, tmp_path):
    dest = tmp_path / "notes.txt"
    dest.write_text("my notes\n")
    p = facefarm("audit", dataset, "--dest", dest, "--no-plots")
    assert p.returncode in (1, 2), p.stdout + p.stderr
    assert "Traceback" not in p.stderr and str(dest) in p.stderr and "--dest" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert dest.read_text() == "my notes\n"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["dataset", "notes.txt"]  # no leftovers


def test_audit_never_replaces_a_folder_it_did_not_write(dataset, tmp_path):
    dest = tmp_path / "paper"
    (dest / "figs").mkdir(parents=True)
    (dest / "draft.tex").write_text("\\section{Data}\n")
    (dest / "figs" / "plot.png").write_bytes(b"not ours")
    p = facefarm("audit", dataset, "--dest", dest, "--no-plots")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "Traceback" not in p.stderr and "--dest" in p.stderr
    assert "draft.tex" in p.stderr or "plot.png" in p.stderr
    assert (dest / "draft.tex").read_text() == "\\section{Data}\n"
    assert (dest / "figs" / "plot.png").read_bytes() == b"not ours"
    assert sorted(x.name for x in dest.iterdir()) == ["draft.tex", "figs"]


def test_audit_writes_into_an_empty_folder_and_replaces_its_own_datasheet(dataset, tmp_path):
    dest = tmp_path / "sheet"
    dest.mkdir()
    assert facefarm("audit", dataset, "--dest", dest, "--no-plots").returncode == 0
    assert (dest / "datasheet.md").exists()
    (dest / "datasheet.md").write_text("stale")
    p = facefarm("audit", dataset, "--dest", dest, "--no-plots")  # its own earlier output: replaced
    assert p.returncode == 0, p.stderr
    assert (dest / "datasheet.md").read_text() != "stale"
    # a file added by someone else since then is in the way, and survives
    (dest / "my_figure.png").write_bytes(b"mine")
    p = facefarm("audit", dataset, "--dest", dest, "--no-plots")
    assert p.returncode == 1 and "my_figure.png" in p.stderr and "Traceback" not in p.stderr
    assert (dest / "my_figure.png").read_bytes() == b"mine"


def test_render_into_an_existing_dataset_leaves_foreign_files_alone(spec, dataset):
    figure = dataset / "datasheet" / "figure1.png"
    readme = dataset / "exports" / "facesynthetics" / "README"
    swap = dataset / ".tmp-editor-swap"
    figure.write_bytes(b"user figure")
    readme.write_text("how to use\n")
    swap.write_text("unsaved edits\n")
    p = facefarm(*render_args(spec, dataset))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "Traceback" not in p.stderr
    assert "figure1.png" in p.stderr and "--no-datasheet" in p.stderr
    assert "README" in p.stderr and "--no-exports" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert figure.read_bytes() == b"user figure" and readme.read_text() == "how to use\n"
    assert swap.read_text() == "unsaved edits\n"

    figure.unlink()
    p = facefarm(*render_args(spec, dataset))
    assert p.returncode == 1 and "README" in p.stderr and "--no-exports" in p.stderr, p.stdout + p.stderr
    assert readme.read_text() == "how to use\n"

    # with the export skipped the run completes; the editor's temporary file is not facefarm's
    p = facefarm(*render_args(spec, dataset, "--no-exports"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert swap.read_text() == "unsaved edits\n" and readme.read_text() == "how to use\n"


def test_overwrite_removes_only_facefarms_sample_files(spec, dataset):
    notes = dataset / "samples" / "notes.txt"
    notes.write_text("keep me\n")
    mine = dataset / "samples" / "my_face.png"
    mine.write_bytes(b"mine")
    p = facefarm(*render_args(spec, dataset, "--seed", 7, "--overwrite", "--no-exports", "--no-datasheet"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert notes.read_text() == "keep me\n" and mine.read_bytes() == b"mine"
    assert json.loads((dataset / "job.json").read_text())["seed"] == 7
    assert {json.loads(x)["seed"] for x in (dataset / "manifest.jsonl").read_text().splitlines()} == {7}


def test_a_foreign_job_json_is_not_overwritten(spec, tmp_path):
    out = tmp_path / "project"
    out.mkdir()
    (out / "job.json").write_text('{"name": "my job"}\n')
    p = facefarm(*render_args(spec, out, "--overwrite"))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "job.json" in p.stderr and "Traceback" not in p.stderr
    assert (out / "job.json").read_text() == '{"name": "my job"}\n'
