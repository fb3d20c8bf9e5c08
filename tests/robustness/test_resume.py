"""A sample counts as done only if its record parses and its files are there, whole, as recorded."""

from __future__ import annotations

import json
import os

import pytest
from robust_support import facefarm, last_line, render_args

from facefarm.catalog.vocabulary import sample_id
from facefarm.farm import job as jobs
from facefarm.farm.plan import Job
from facefarm.sample import writer
from facefarm.sample.store import open_store


def make_job(**kw) -> Job:
    base = dict(catalog={"catalog_version": 1}, catalog_hash="c" * 64, seed=0, n=6, backend="pyrender")
    return Job(**{**base, **kw})


def commit(store, job, index, data=b"png-bytes"):
    rec = {
        "schema_version": writer.SCHEMA_VERSION,
        "sample_id": sample_id(index),
        "index": index,
        "seed": job.seed,
        "catalog_hash": job.catalog_hash,
    }
    return writer.write_sample(store, rec["sample_id"], {"image": data, "depth": data + b"!"}, rec)


@pytest.fixture
def claimed(tmp_path):
    store, job = open_store(tmp_path), make_job()
    jobs.claim_output(store, job)
    for i in range(4):
        commit(store, job, i)
    return store, job, tmp_path / "samples"


def test_whole_samples_are_done(claimed):
    store, job, _ = claimed
    assert jobs.split_todo(store, job.n) == ([4, 5], [0, 1, 2, 3])


def test_an_empty_or_truncated_record_is_redone(claimed):
    store, job, samples = claimed
    (samples / "000001.json").write_bytes(b"")
    data = (samples / "000002.json").read_bytes()
    (samples / "000002.json").write_bytes(data[: len(data) // 2])
    assert jobs.split_todo(store, job.n) == ([1, 2, 4, 5], [0, 3])


def test_a_missing_or_short_file_is_redone(claimed):
    store, job, samples = claimed
    (samples / "000000.png").unlink()
    (samples / "000003_depth.png").write_bytes(b"png")  # one byte short of what was recorded
    assert jobs.split_todo(store, job.n) == ([0, 3, 4, 5], [1, 2])


def test_a_flipped_byte_is_found_by_hash_when_asked(claimed):
    store, job, samples = claimed
    # committed an hour apart: only the last commit's hash is checked without verify=True
    past = 1_000_000_000
    for i in range(4):
        for f in samples.glob(f"{sample_id(i)}*"):
            os.utime(f, (past + 3600 * i, past + 3600 * i))
    (samples / "000000.png").write_bytes(b"PNG-bytes")  # same size, other bytes
    assert jobs.split_todo(store, job.n)[1] == [0, 1, 2, 3]
    assert jobs.split_todo(store, job.n, verify=True) == ([0, 4, 5], [1, 2, 3])
    # the newest commit is always hashed (a crash tears the last writes)
    (samples / "000003.png").write_bytes(b"PNG-bytes")
    assert jobs.split_todo(store, job.n)[0] == [3, 4, 5]


def test_a_record_naming_another_file_is_redone(claimed):
    store, job, samples = claimed
    rec = json.loads((samples / "000002.json").read_text())
    rec["files"]["image"] = "../../etc/passwd"
    (samples / "000002.json").write_text(json.dumps(rec))
    assert jobs.split_todo(store, job.n) == ([2, 4, 5], [0, 1, 3])


def test_assemble_skips_a_broken_record_instead_of_crashing(claimed):
    store, job, samples = claimed
    (samples / "000001.json").write_bytes(b'{"sample_id": "0000')
    header = jobs.assemble(store, job, jobs.RunSummary())
    assert header["n_samples"] == 3


@pytest.mark.slow
def test_render_redoes_a_truncated_record_and_a_damaged_image(spec, dataset):
    (dataset / "samples" / "000000.json").write_bytes(b"")
    png = dataset / "samples" / "000001_seg.png"
    png.write_bytes(png.read_bytes()[:-10])
    p = facefarm(*render_args(spec, dataset, "--no-exports", "--no-datasheet"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Traceback" not in p.stderr
    assert last_line(p).startswith("2 done, 0 skipped"), p.stdout
    report = [x for x in p.stderr.splitlines() if "000000" in x]
    assert len(report) == 1 and "000001" in report[0], p.stderr  # one line names both
    lines = [json.loads(x) for x in (dataset / "manifest.jsonl").read_text().splitlines()]
    assert [x["index"] for x in lines] == [0, 1]
    assert json.loads((dataset / "samples" / "000000.json").read_text())["sample_id"] == "000000"


@pytest.mark.slow
def test_render_verify_rehashes_every_sample(spec, dataset):
    png = dataset / "samples" / "000000.png"
    data = bytearray(png.read_bytes())
    data[len(data) // 2] ^= 0x01
    png.write_bytes(bytes(data))
    # made older than every other file, so only --verify hashes it
    for f in (dataset / "samples").iterdir():
        t = 1_000_000_000 if f.name.startswith("000000") else 1_100_000_000
        os.utime(f, (t, t))
    p = facefarm(*render_args(spec, dataset, "--no-exports", "--no-datasheet"))
    assert p.returncode == 0 and last_line(p).startswith("0 done, 2 skipped"), p.stdout + p.stderr
    p = facefarm(*render_args(spec, dataset, "--no-exports", "--no-datasheet", "--verify"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert last_line(p).startswith("1 done, 1 skipped"), p.stdout
    assert "000000" in p.stderr and "sha256" in p.stderr


@pytest.mark.slow
def test_a_record_of_another_job_stops_the_run_with_one_line(spec, dataset):
    path = dataset / "samples" / "000001.json"
    rec = json.loads(path.read_text())
    rec["seed"] = 99
    path.write_text(json.dumps(rec))
    before = (dataset / "manifest.jsonl").read_bytes()
    p = facefarm(*render_args(spec, dataset, "--no-exports", "--no-datasheet"))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "Traceback" not in p.stderr and "000001.json" in p.stderr and "another job" in p.stderr
    assert (dataset / "manifest.jsonl").read_bytes() == before


@pytest.mark.slow
def test_a_damaged_header_or_manifest_is_rebuilt(spec, dataset):
    (dataset / "dataset.json").write_text('{"generator": "face')
    (dataset / "manifest.jsonl").write_text("")
    p = facefarm(*render_args(spec, dataset, "--no-exports", "--no-datasheet"))
    assert p.returncode == 0 and last_line(p).startswith("0 done, 2 skipped"), p.stdout + p.stderr
    assert json.loads((dataset / "dataset.json").read_text())["n_samples"] == 2
    assert len((dataset / "manifest.jsonl").read_text().splitlines()) == 2
