"""The render farm on a real local Ray: several workers, a killed worker, resource checks."""

from __future__ import annotations

import os
import signal
import time

import pytest
from test_farm_support import TINY, check_committed, labels_view, ray_cluster  # noqa: F401 - fixture

from facefarm.catalog import catalog_hash, load_catalog
from facefarm.farm import job as jobs
from facefarm.farm.plan import Job
from facefarm.farm.workers import FarmError, RayFarm
from facefarm.sample.store import open_store

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("head_asset")]
N = 6


def tiny_job(spec=TINY, n=N) -> Job:
    cat = load_catalog(spec)
    return Job(cat.model_dump(mode="json"), catalog_hash(cat), 0, n, cat.render.backend, cat.render.device)


def farm_run(root, workers, on_result=None, n=N):
    """Render a whole tiny job with ``workers`` Ray actors into ``root``; returns (outcome, farm pids)."""
    job = tiny_job(n=n)
    store = open_store(root)
    jobs.claim_output(store, job)
    todo, _ = jobs.split_todo(store, job.n)
    farm = RayFarm(job, str(root), workers=workers, max_retries=2, startup_timeout=120, local=True)
    pids = {}
    try:
        farm.start()
        outcome = farm.run(todo, shard_size=1, on_result=(lambda r: on_result(farm, r)) if on_result else None)
        pids["end"] = farm.worker_pids()
    finally:
        farm.close()
    jobs.assemble(store, job, jobs.RunSummary(rendered=len(outcome.rendered), failed=outcome.failed), outcome.lines)
    return outcome, pids


@pytest.fixture(scope="module")
def one_worker_run(ray_cluster, tmp_path_factory):  # noqa: F811
    root = tmp_path_factory.mktemp("farm1")
    outcome, _ = farm_run(root, workers=1)
    assert not outcome.failed and outcome.workers == 1 and outcome.restarts == 0
    return root, check_committed(root, N)


def test_two_workers_equal_one_worker(one_worker_run, tmp_path):
    ref_root, ref = one_worker_run
    outcome, _ = farm_run(tmp_path, workers=2)
    assert outcome.workers == 2 and not outcome.failed and sorted(outcome.rendered) == list(range(N))
    lines = check_committed(tmp_path, N)
    assert [labels_view(x) for x in lines] == [labels_view(x) for x in ref]
    header = jobs.writer.read_header(open_store(tmp_path))
    assert header["n_samples"] == N and header["complete"]


def test_killed_worker_is_replaced_and_every_sample_lands_once(one_worker_run, tmp_path):
    _, ref = one_worker_run
    killed = []

    def kill_first_worker(farm, result):
        if not killed:
            pid = next(p for p in farm.worker_pids() if p)  # from the actor's own info() call
            os.kill(pid, signal.SIGKILL)  # it has samples in flight: 2 calls are queued per worker
            killed.append(pid)

    outcome, pids = farm_run(tmp_path, workers=2, on_result=kill_first_worker)
    assert killed and outcome.restarts >= 1
    assert killed[0] not in pids["end"]
    assert not outcome.failed and sorted(outcome.lines) == list(range(N))
    lines = check_committed(tmp_path, N)
    assert [labels_view(x) for x in lines] == [labels_view(x) for x in ref]


def test_gpu_workers_on_a_cluster_without_gpus_fail_fast(ray_cluster):  # noqa: F811
    import ray

    assert ray.cluster_resources().get("GPU", 0) == 0
    job = tiny_job({"catalog_version": 1, "render": {"backend": "cycles", "device": "optix"}})
    t0 = time.monotonic()
    with pytest.raises(FarmError, match="no GPUs"):
        RayFarm(job, "/nonexistent", workers=1)
    assert time.monotonic() - t0 < 5


def test_failing_samples_are_retried_then_reported(ray_cluster, tmp_path):  # noqa: F811
    """A sample that cannot render (its label file is a folder) fails after 1 + max_retries attempts."""
    job = tiny_job(n=3)
    store = open_store(tmp_path)
    jobs.claim_output(store, job)
    (tmp_path / "samples" / "000001.png").mkdir(parents=True)  # the writer cannot replace a folder
    farm = RayFarm(job, str(tmp_path), workers=1, max_retries=1, local=True)
    results = []
    try:
        outcome = farm.run([0, 1, 2], shard_size=1, on_result=results.append)
    finally:
        farm.close()
    assert set(outcome.failed) == {1} and "after 2 attempts" in outcome.failed[1]
    assert sorted(outcome.lines) == [0, 2]
    assert sorted(r["index"] for r in results) == [0, 1, 2]  # one settled report per sample


def test_a_hung_worker_is_replaced_and_its_samples_land_elsewhere(one_worker_run, tmp_path):
    """SIGSTOP stands for a worker that hangs (deadlock, stuck driver call): after the shard timeout
    its samples are re-queued on a fresh worker, and every sample lands once."""
    _, ref = one_worker_run
    job = tiny_job()
    store = open_store(tmp_path)
    jobs.claim_output(store, job)
    todo, _ = jobs.split_todo(store, job.n)
    farm = RayFarm(job, str(tmp_path), workers=2, max_retries=2, startup_timeout=120, local=True, shard_timeout=20)
    stopped = []

    def stop_first_worker(result):
        if not stopped:
            pid = next(p for p in farm.worker_pids() if p)
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)

    try:
        farm.start()
        outcome = farm.run(todo, shard_size=1, on_result=stop_first_worker)
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        farm.close()
    assert stopped and outcome.restarts >= 1
    assert not outcome.failed and sorted(outcome.lines) == list(range(N))
    jobs.assemble(store, job, jobs.RunSummary(rendered=len(outcome.rendered)), outcome.lines)
    lines = check_committed(tmp_path, N)
    assert [labels_view(x) for x in lines] == [labels_view(x) for x in ref]


def test_a_worker_leaves_when_its_driver_is_gone():
    """The driver watch in a worker process (the Ray path starts one per actor): a dead driver pid on
    this host makes it leave; a remote driver is not watched."""
    import socket
    import subprocess
    import threading

    from facefarm.farm.workers import DRIVER_POLL_S, watch_driver

    gone = threading.Event()
    child = subprocess.Popen(["sleep", "30"])
    assert watch_driver(socket.gethostname(), child.pid, leave=gone.set)
    assert not gone.wait(3 * DRIVER_POLL_S)  # the driver lives: the worker stays
    child.kill()
    child.wait()
    assert gone.wait(5 * DRIVER_POLL_S)
    assert not watch_driver("another-host.invalid", 1, leave=gone.set)
