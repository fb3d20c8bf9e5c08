"""What a render job is and how its samples are cut into shards for the workers. Pure: no IO, no Ray.

A job is fully named by (catalog, catalog hash, seed, N, backend): sample ``i`` of a job is
``resolve(catalog, seed, i, N)`` rendered by ``backend``, so any worker on any machine can
render any index and get the same sample. Shards are contiguous runs of indices still to do;
they are the unit a worker pulls, kept small so the load balances and a dead worker loses little.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from facefarm import __version__
from facefarm.render import backends


@dataclass(frozen=True)
class Job:
    """The identity of a dataset: equal jobs produce byte-identical labels.

    catalog : the validated catalog as canonical JSON data (``model_dump(mode="json")``)
    catalog_hash : ``facefarm.catalog.catalog_hash`` of it
    seed : dataset seed; n : number of samples requested (stratified quotas depend on it)
    backend : "pyrender" or "cycles"; device : the catalog's render device ("auto", "cpu", "cuda", ...)
    n_matters : whether sample i depends on N (stratified sampling or quotas); when it does not,
    a dataset can be grown by re-running with a larger N into the same output
    head_asset : hash of the compiled head asset the samples are made from (None: not checked)
    generator_version : the facefarm release that makes them
    """

    catalog: dict
    catalog_hash: str
    seed: int
    n: int
    backend: str
    device: str = "auto"
    n_matters: bool = True
    head_asset: str | None = None
    generator_version: str = __version__

    def __post_init__(self):
        backends.backend(self.backend)  # a clear error for an unknown one
        if self.n < 0:
            raise ValueError(f"the number of samples must be >= 0 (got {self.n})")

    def identity(self) -> dict:
        """The fields that must match for two runs to write into the same output (N only if it matters)."""
        out = {
            "catalog_hash": self.catalog_hash,
            "seed": self.seed,
            "backend": self.backend,
            "generator_version": self.generator_version,
        }
        if self.head_asset is not None:
            out["head_asset"] = self.head_asset
        return {**out, "n": self.n} if self.n_matters else out

    @property
    def needs_gpu(self) -> bool:
        """True when this job's workers must each hold a GPU (an explicit Cycles GPU device)."""
        return backends.backend(self.backend).needs_gpu(self.device)


@dataclass(frozen=True)
class Shard:
    """A run of sample indices one worker renders in one call; ``id`` is its position in the plan."""

    id: int
    indices: tuple[int, ...]


def default_shard_size(n_todo: int, workers: int) -> int:
    """Samples per shard: about 16 shards per worker (even load, small loss on a crash), 1..16."""
    if n_todo <= 0:
        return 1
    return max(1, min(16, math.ceil(n_todo / (max(1, workers) * 16))))


def plan_shards(todo: list[int] | tuple[int, ...], shard_size: int) -> list[Shard]:
    """Cut the indices still to render (any order; sorted here) into shards of ``shard_size``."""
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1 (got {shard_size})")
    idx = sorted(set(int(i) for i in todo))
    return [Shard(k, tuple(idx[s : s + shard_size])) for k, s in enumerate(range(0, len(idx), shard_size))]


#: A worker's resident memory: the process (head model, back-end, numba) plus what grows with the
#: image. Measured: ~0.72 GB for the fast back-end and ~0.85 GB for Cycles at 256 px (flat over
#: hundreds of samples), ~5 GB at 8192 px (~64 bytes a pixel: float buffers, passes, PNG encoding).
WORKER_BASE_BYTES = {"pyrender": 800_000_000, "cycles": 1_000_000_000}
WORKER_BYTES_PER_PIXEL = 64


def worker_memory(job: Job) -> int:
    """Bytes one render worker of ``job`` needs (declared to Ray, and bounding local workers)."""
    width, height = job.catalog.get("render", {}).get("resolution", (256, 256))
    return int(WORKER_BASE_BYTES.get(job.backend, 1_000_000_000) + WORKER_BYTES_PER_PIXEL * width * height)


def worker_resources(job: Job, cluster_has_gpu: bool, node_cpus: float = 1.0) -> dict[str, float]:
    """Ray resources of one render worker.

    The fast back-end renders with one CPU core (EGL on llvmpipe); with ``render.device`` "cuda"
    or "optix" each worker still composes on one core and draws on its node's GPU, which the node's
    workers share (``1 / node_cpus`` of a GPU each). Cycles takes a whole GPU when the catalog names
    a GPU device, or when it says "auto" and the cluster has GPUs (Cycles "auto" then picks it);
    otherwise it renders on every core of its machine, so it reserves a whole node
    (``node_cpus``: the CPU count of the smallest node) and workers never share one.
    """
    b = backends.backend(job.backend)
    memory = worker_memory(job)
    if b.takes_gpu(job.device, cluster_has_gpu):
        if b.shares_gpu:  # one worker per core, all drawing on the node's GPU
            share = math.floor(10_000 / max(1.0, float(node_cpus))) / 10_000  # Ray counts GPUs in 1e-4
            return {"num_cpus": 1, "num_gpus": max(share, 0.0001), "memory": memory}
        return {"num_cpus": 1, "num_gpus": 1, "memory": memory}
    if b.uses_gpu and b.auto_gpu:  # a path tracer without a GPU renders on every core of its machine
        return {"num_cpus": max(1.0, float(node_cpus)), "num_gpus": 0, "memory": memory}
    return {"num_cpus": 1, "num_gpus": 0, "memory": memory}


class ResourceError(RuntimeError):
    """The cluster cannot host the workers the job asks for. ``bundle``: the resources of one
    worker that a node joining would have to offer (None when no node can help, e.g. --workers 0)."""

    def __init__(self, message: str, bundle: dict[str, float] | None = None):
        super().__init__(message)
        self.bundle = bundle


def fit_workers(
    job: Job, requested: int | None, cluster: dict[str, float], local: bool, node_cpus: float = 1.0
) -> tuple[int, dict]:
    """How many workers to start and each one's resources, given ``ray.cluster_resources()``.

    ``requested`` None picks a default: as many workers as the cores (or GPUs) allow, bounded by the
    memory Ray reports (``cluster["memory"]``, bytes) over :func:`worker_memory`; on a cluster the
    same from its current resources. Raises :class:`ResourceError` with what to change when
    not even one worker fits, e.g. a GPU device on a cluster without GPUs (Ray would otherwise
    leave the actors pending forever).
    """
    gpus = float(cluster.get("GPU", 0.0))
    cpus = float(cluster.get("CPU", 0.0))
    res = worker_resources(job, cluster_has_gpu=gpus >= 1, node_cpus=node_cpus)
    wanted = {"CPU": float(res["num_cpus"])} | ({"GPU": float(res["num_gpus"])} if res["num_gpus"] else {})
    if res["num_gpus"] and gpus < 1:
        raise ResourceError(
            f"the catalog asks {job.backend} for a GPU (render.device = {job.device!r}) but the Ray cluster has "
            f'no GPUs (resources: CPU={cpus:g}, GPU={gpus:g}); set render.device to "cpu" or "auto", '
            "or join a cluster with GPU workers (--address)",
            wanted,
        )
    if cpus < res["num_cpus"]:
        raise ResourceError(f"the Ray cluster has {cpus:g} CPUs; a render worker needs {res['num_cpus']}", wanted)
    cap = int(cpus // res["num_cpus"])
    if res["num_gpus"]:
        cap = min(cap, int(gpus // res["num_gpus"]))
    memory = float(cluster.get("memory", 0.0))
    if memory and memory < res["memory"]:
        raise ResourceError(
            f"a render worker at this resolution needs ~{res['memory'] / 1e9:.1f} GB of memory and "
            f"the Ray cluster has {memory / 1e9:.1f} GB; lower render.resolution or add memory",
            wanted | {"memory": float(res["memory"])},
        )
    if requested is None:
        requested = min(cap, int(memory // res["memory"])) if memory else cap
    if requested < 1:
        raise ResourceError(f"--workers must be >= 1 (got {requested})")
    return min(requested, cap) if local else requested, res
