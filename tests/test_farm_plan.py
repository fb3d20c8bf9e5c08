"""Job planning, worker resources and the output folder's job bookkeeping (no rendering, no Ray)."""

from __future__ import annotations

import json

import pytest

from facefarm.catalog import catalog_hash, load_catalog, resolve
from facefarm.catalog.vocabulary import sample_id
from facefarm.cli.render import depends_on_n, plan_problem
from facefarm.dataset.splits import DEFAULT_FRACTIONS, assign_split, split_records
from facefarm.farm import job as jobs
from facefarm.farm.plan import Job, ResourceError, default_shard_size, fit_workers, plan_shards, worker_resources
from facefarm.sample import writer
from facefarm.sample.store import open_store

SPEC = {"catalog_version": 1, "render": {"resolution": [64, 64]}}


STRATIFIED = {"catalog_version": 1, "sampling": {"mode": "stratified", "stratify_by": [{"attribute": "glasses"}]}}


def make_job(spec=SPEC, seed=0, n=6, backend=None, **more) -> Job:
    cat = load_catalog(spec)
    return Job(
        cat.model_dump(mode="json"),
        catalog_hash(cat),
        seed,
        n,
        backend or cat.render.backend,
        cat.render.device,
        n_matters=depends_on_n(cat),
        **more,
    )


def test_shards_cover_todo_once_in_order():
    todo = [9, 3, 4, 5, 0, 7, 3]
    shards = plan_shards(todo, 2)
    flat = [i for s in shards for i in s.indices]
    assert flat == [0, 3, 4, 5, 7, 9]
    assert [s.id for s in shards] == list(range(len(shards)))
    assert all(1 <= len(s.indices) <= 2 for s in shards)
    with pytest.raises(ValueError):
        plan_shards(todo, 0)


def test_default_shard_size_balances_small_and_large_jobs():
    assert default_shard_size(8, 2) == 1
    assert default_shard_size(100_000, 2) == 16
    assert default_shard_size(1000, 8) == 8
    assert default_shard_size(0, 4) == 1


def test_sample_id_matches_the_resolver():
    cat = load_catalog(SPEC)
    for i in (0, 7, 123_456):
        assert resolve(cat, 3, i, 200_000).sample_id == sample_id(i)


def test_catalog_json_round_trips_to_the_same_hash():
    job = make_job()
    assert catalog_hash(load_catalog(job.catalog)) == job.catalog_hash


def _cycles(device):
    spec = {"catalog_version": 1, "render": {"backend": "cycles", "device": device}}
    return make_job(spec)


@pytest.mark.parametrize(
    "device,gpus,expect",
    [
        ("cuda", 2, (1, 1)),
        ("optix", 1, (1, 1)),
        ("hip", 1, (1, 1)),
        ("metal", 1, (1, 1)),
        ("auto", 1, (1, 1)),
        ("auto", 0, (8, 0)),
        ("cpu", 4, (8, 0)),  # CPU Cycles uses a whole node
    ],
)
def test_cycles_worker_resources(device, gpus, expect):
    res = worker_resources(_cycles(device), cluster_has_gpu=gpus > 0, node_cpus=8)
    assert (res["num_cpus"], res["num_gpus"]) == expect


def test_pyrender_workers_use_one_cpu_even_with_gpus():
    res = worker_resources(make_job(), cluster_has_gpu=True)
    assert (res["num_cpus"], res["num_gpus"]) == (1, 0)


def test_gpu_device_without_gpus_fails_loudly():
    with pytest.raises(ResourceError, match="no GPUs.*render.device"):
        fit_workers(_cycles("cuda"), None, {"CPU": 8.0}, local=True)


def test_worker_counts():
    cpu = {"CPU": 4.0}
    n, res = fit_workers(make_job(), None, cpu, local=True)
    assert n == 4 and (res["num_cpus"], res["num_gpus"]) == (1, 0)  # every core
    assert fit_workers(make_job(), 3, cpu, local=True)[0] == 3
    assert fit_workers(make_job(), 9, cpu, local=True)[0] == 4  # a local Ray cannot grow
    assert fit_workers(make_job(), None, {"CPU": 64.0}, local=False)[0] == 64
    assert fit_workers(_cycles("cuda"), None, {"CPU": 64.0, "GPU": 8.0}, local=False)[0] == 8
    assert fit_workers(_cycles("cuda"), 16, {"CPU": 64.0, "GPU": 8.0}, local=False)[0] == 16  # autoscaler may add
    # CPU Cycles: one worker per node (4 nodes of 16 cores), never two sharing a node's cores
    n, res = fit_workers(_cycles("cpu"), None, {"CPU": 64.0}, local=False, node_cpus=16)
    assert n == 4 and (res["num_cpus"], res["num_gpus"]) == (16.0, 0)
    assert fit_workers(_cycles("cpu"), None, cpu, local=True, node_cpus=4)[0] == 1
    with pytest.raises(ResourceError):
        fit_workers(make_job(), 0, cpu, local=True)


def test_claim_writes_job_json_and_refuses_another_job(tmp_path):
    store = open_store(tmp_path / "out")
    job = make_job()
    claim = jobs.claim_output(store, job)
    assert claim.previous is None
    rec = json.loads((tmp_path / "out" / "job.json").read_text())
    assert rec["catalog_hash"] == job.catalog_hash and rec["seed"] == 0 and rec["n"] == 6
    assert rec["backend"] == "pyrender" and rec["catalog"] == job.catalog and rec["generator_version"]
    # the same job again: accepted, remembers the first run
    assert jobs.claim_output(store, job).previous["created"] == rec["created"]
    other = make_job({"catalog_version": 1, "render": {"resolution": [96, 96]}})
    with pytest.raises(jobs.JobMismatch, match="catalog"):
        jobs.claim_output(store, other)
    with pytest.raises(jobs.JobMismatch, match="seed"):
        jobs.claim_output(store, make_job(seed=1))
    with pytest.raises(jobs.JobMismatch, match="backend"):
        jobs.claim_output(store, make_job(backend="cycles"))
    # the refused job left the folder as it was
    assert json.loads((tmp_path / "out" / "job.json").read_text())["catalog_hash"] == job.catalog_hash


def test_resume_needs_the_same_head_asset_and_release(tmp_path):
    store = open_store(tmp_path / "out")
    job = make_job(head_asset="aaaa000011112222")
    jobs.claim_output(store, job)
    assert json.loads((tmp_path / "out" / "job.json").read_text())["head_asset"] == "aaaa000011112222"
    with pytest.raises(jobs.JobMismatch, match="head asset: 'aaaa000011112222' there, 'bbbb' now"):
        jobs.claim_output(store, make_job(head_asset="bbbb"))
    with pytest.raises(jobs.JobMismatch, match="facefarm version: '.*' there, '99.0' now"):
        jobs.claim_output(store, make_job(head_asset="aaaa000011112222", generator_version="99.0"))
    # a job.json from before these were recorded does not name them: nothing to compare
    rec = json.loads((tmp_path / "out" / "job.json").read_text())
    del rec["head_asset"], rec["generator_version"]
    (tmp_path / "out" / "job.json").write_text(json.dumps(rec))
    assert jobs.claim_output(store, make_job(head_asset="bbbb")).previous is not None


def _fake_commit(store, job, index):
    """Commit a sample record the way the writer does (files, then labels) without rendering."""
    rec = {
        "schema_version": writer.SCHEMA_VERSION,
        "sample_id": sample_id(index),
        "index": index,
        "seed": job.seed,
        "catalog_hash": job.catalog_hash,
        "dense": {"uv": [[0, 0]]},
    }
    return writer.write_sample(store, rec["sample_id"], {"image": b"png"}, rec)


def test_overwrite_deletes_old_samples_and_temporaries_are_cleaned(tmp_path):
    store = open_store(tmp_path)
    job = make_job()
    jobs.claim_output(store, job)
    _fake_commit(store, job, 2)
    (tmp_path / "samples" / ".tmp-deadbeef-000004.png").write_bytes(b"half")
    claim = jobs.claim_output(store, job)
    assert claim.temporaries_removed == 1
    assert jobs.split_todo(store, job.n) == ([0, 1, 3, 4, 5], [2])
    other = make_job(seed=5)
    claim = jobs.claim_output(store, other, overwrite=True)
    assert claim.overwritten and not (tmp_path / "samples").exists()
    assert jobs.split_todo(store, other.n) == ([0, 1, 2, 3, 4, 5], [])
    assert json.loads((tmp_path / "job.json").read_text())["seed"] == 5


def test_samples_without_job_json_are_refused(tmp_path):
    store = open_store(tmp_path)
    job = make_job()
    _fake_commit(store, job, 0)
    with pytest.raises(jobs.JobMismatch, match="no job.json"):
        jobs.claim_output(store, job)


def test_assemble_orders_by_index_and_reads_committed_samples(tmp_path):
    store = open_store(tmp_path)
    job = make_job()
    jobs.claim_output(store, job)
    fresh = {i: writer.manifest_line(_fake_commit(store, job, i)) for i in (4, 1)}
    _fake_commit(store, job, 3)  # committed by an earlier run: read back from its label file
    summary = jobs.RunSummary(rendered=2, skipped=1, failed={5: "boom"}, assets={"head": "abc"})
    header = jobs.assemble(store, job, summary, fresh)
    lines = [json.loads(x) for x in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    assert [x["index"] for x in lines] == [1, 3, 4]
    assert all("dense" not in x and x["files"]["labels"] == f"samples/{x['sample_id']}.json" for x in lines)
    assert header["n_samples"] == 3 and header["n_requested"] == 6 and header["seed"] == 0
    assert header["failed"] == [{"index": 5, "sample_id": "000005", "reason": "boom"}]
    assert header["catalog"] == job.catalog and header["catalog_hash"] == job.catalog_hash
    assert header["assets"] == {"head": "abc"} and not header["complete"]
    assert {c["name"] for c in header["classes"]["classes"]} >= {"BACKGROUND", "SKIN", "NOSE", "NECK"}
    assert len(header["landmarks"]["names"]) == 70
    assert header["python"] and header["platform"] and header["schema_version"] == 1
    assert len(header["runs"]) == 1 and header["runs"][0]["rendered"] == 2
    # a second assemble keeps the run history
    assert len(jobs.assemble(store, job, jobs.RunSummary(), {})["runs"]) == 2


def test_each_manifest_line_names_its_identity_split_as_exports_assign_it(tmp_path):
    store = open_store(tmp_path)
    job = make_job()
    jobs.claim_output(store, job)
    identities = [f"person-{k}" for k in range(6)]
    for i, identity in enumerate(identities):
        rec = dict(_fake_commit(store, job, i), identity_id=identity)
        store.put(writer.sample_names(rec["sample_id"])["labels"], json.dumps(rec).encode())
    jobs.assemble(store, job, jobs.RunSummary())
    lines = [json.loads(x) for x in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    assert [x["split"] for x in lines] == [assign_split(x) for x in identities]
    by_split = split_records(lines, DEFAULT_FRACTIONS)  # the assignment `facefarm export` makes
    assert all(x["split"] == name for name, part in by_split.items() for x in part)


def test_n_may_grow_unless_samples_depend_on_it(tmp_path):
    free = open_store(tmp_path / "free")
    jobs.claim_output(free, make_job(n=6))
    jobs.claim_output(free, make_job(n=10))  # sample i does not depend on N: the dataset grows
    assert json.loads((tmp_path / "free" / "job.json").read_text())["n"] == 10
    strat = open_store(tmp_path / "strat")
    jobs.claim_output(strat, make_job(STRATIFIED, n=6))
    with pytest.raises(jobs.JobMismatch, match="-n: 6 there, 10 now.*depends on N"):
        jobs.claim_output(strat, make_job(STRATIFIED, n=10))


def test_impossible_plans_are_caught_before_rendering():
    spec = dict(STRATIFIED, sampling={"quotas": [{"where": {"glasses": True}, "count": 50}]})
    cat = load_catalog(spec)
    assert depends_on_n(cat) and not depends_on_n(load_catalog(SPEC))
    assert plan_problem(cat, 0, 100) is None
    assert "50" in plan_problem(cat, 0, 10)


def test_workers_declare_memory_by_resolution_and_are_bounded_by_it():
    small, large = make_job(), make_job(spec={**SPEC, "render": {"resolution": [4096, 4096]}})
    m_small = worker_resources(small, cluster_has_gpu=False)["memory"]
    m_large = worker_resources(large, cluster_has_gpu=False)["memory"]
    assert 0.5e9 < m_small < 1.5e9 and m_large > m_small + 1e9
    # 64 cores but memory for 5 small workers: 5 by default
    assert fit_workers(small, None, {"CPU": 64.0, "memory": 5.5 * m_small}, local=True)[0] == 5
    with pytest.raises(ResourceError, match="lower render.resolution"):
        fit_workers(large, None, {"CPU": 64.0, "memory": 0.5 * m_large}, local=True)


def test_auth_failures_say_how_to_pass_the_token(monkeypatch):
    from facefarm.farm.workers import auth_hint

    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    assert "RAY_AUTH_TOKEN" in auth_hint(RuntimeError("Missing authentication token"))
    assert "RAY_AUTH_MODE=token" in auth_hint(ConnectionError("Failed to connect to Ray cluster"))
    assert auth_hint(ValueError("duplicate submission id")) == ""
    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # already set: a plain connection failure is not about auth
    assert auth_hint(ConnectionError("Failed to connect to Ray cluster")) == ""


def test_a_failed_jobs_status_keeps_the_end_of_its_log():
    """What `facefarm status` shows under a failed job: the last lines of the log Ray's message carries
    (without the message's own first line, colours or a progress bar's redraws), else of the job's log."""
    from facefarm.cli.submit import FAILURE_LINES, failure_lines

    log = [f"line {i}" for i in range(20)] + ["\x1b[31mfacefarm render: error: cannot write to /x\x1b[0m", ""]
    message = "Job entrypoint command failed with exit code 1, last available logs (truncated to 20,000 chars):\n"
    got = failure_lines(message + "\n".join(log))
    assert len(got) == FAILURE_LINES and got[-1] == "facefarm render: error: cannot write to /x"
    assert got[0] == f"line {20 - FAILURE_LINES + 1}"
    assert failure_lines(message + " 10%|#   \r 40%|####  \r") == [" 40%|####"]
    no_logs = "Job entrypoint command failed with exit code 127. No logs available."
    assert failure_lines(no_logs) == []
    assert failure_lines(no_logs, "sh: 1: facefarm: not found\n") == ["sh: 1: facefarm: not found"]


def test_fast_workers_on_gpus_share_their_node_gpu():
    job = make_job(spec={**SPEC, "render": {**SPEC["render"], "device": "cuda"}})
    n, res = fit_workers(job, None, {"CPU": 16.0, "GPU": 1.0}, local=False, node_cpus=16)
    assert n == 16 and res["num_cpus"] == 1 and res["num_gpus"] == pytest.approx(1 / 16)
    assert worker_resources(make_job(), cluster_has_gpu=True)["num_gpus"] == 0  # "auto": the CPU path
    with pytest.raises(ResourceError, match="asks pyrender for a GPU"):
        fit_workers(job, None, {"CPU": 16.0}, local=True)
