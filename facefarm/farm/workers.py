"""Render workers: one long-lived :class:`SampleWorker` per process, driven in-process or as Ray actors.

A worker builds its :class:`~facefarm.sample.renderer.SampleRenderer` once (head model, GL
context or Blender scene) and then renders many shards. The driver (:class:`RayFarm`) keeps a
queue of shards and a bounded number of calls in flight per actor; when an actor dies (crash,
OOM, ``kill -9``, lost node) its unfinished shards go back to the front of the queue and a new
actor takes its place. Each sample has a bounded number of attempts; after that it is reported
failed with the last reason. A worker never re-renders a sample whose label file exists (the
writer's commit marker), so a shard replayed after a crash writes nothing twice.
"""

from __future__ import annotations

import os
import re
import socket
import time
import traceback
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from facefarm.catalog.vocabulary import sample_id
from facefarm.farm import local_ray, stopping
from facefarm.farm.lock import pid_alive
from facefarm.farm.plan import Job, ResourceError, fit_workers
from facefarm.sample.atomic import is_out_of_space

#: calls queued per actor beyond the running one: hides the driver round trip, bounds the loss on a crash
IN_FLIGHT_PER_WORKER = 2
#: a call counts as hung after STALL_FACTOR x (slowest sample seen) x (its samples), and never sooner
#: than STALL_FLOOR_S (Cycles' first sample compiles kernels; a busy machine slows every sample)
STALL_FACTOR = 10.0
STALL_FLOOR_S = 300.0
#: samples per shard when rendering in-process (``--no-ray``)
LOCAL_SHARD = 8
#: how often a farm on a cluster looks whether the cluster grew (an autoscaler added nodes)
GROW_EVERY_S = 5.0


class FarmError(RuntimeError):
    """The farm cannot run (no cluster, no resources, workers that cannot start); the message says why."""


def head_asset_versions(renderer) -> dict:
    """{"head": hash} of the head asset a renderer loaded (empty when the model exposes none)."""
    head = getattr(renderer, "head", None)
    h = getattr(head, "asset_hash", None) or (getattr(head, "meta", None) or {}).get("hash")
    return {"head": h} if h else {}


#: seconds between checks that the driver of a Ray worker is still there
DRIVER_POLL_S = 1.0


def watch_driver(host: str, pid: int, leave: Callable[[], None] = lambda: os._exit(0)) -> bool:
    """In a Ray worker: end this process within :data:`DRIVER_POLL_S` of its driver's death, when
    the driver runs on this host (a killed ``facefarm render`` must not leave workers rendering).
    Samples are committed atomically, so leaving mid-sample loses only that sample. Returns whether
    a watch was started."""
    import threading

    if host != socket.gethostname() or pid == os.getpid():
        return False

    def watch() -> None:
        while pid_alive(pid):
            time.sleep(DRIVER_POLL_S)
        leave()

    threading.Thread(target=watch, name="driver-watch", daemon=True).start()
    return True


class SampleWorker:
    """Renders shards of one job into one store; the body of a Ray actor, or used directly (``--no-ray``).

    ``catalog``: the catalog JSON (dict) of the job; ``store_root``: local folder or fsspec URL.
    """

    def __init__(
        self,
        catalog: dict,
        backend: str,
        store_root: str,
        seed: int,
        n: int,
        head_asset: str | None = None,
        compose_ahead: bool | None = None,
        driver: tuple[str, int] | None = None,
    ):
        # PyOpenGL picks its platform at first import; headless workers need EGL (or OSMesa).
        os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
        if driver is not None:
            watch_driver(*driver)
        from facefarm.catalog import load_catalog
        from facefarm.head import asset as head_assets
        from facefarm.head.build.compiler import build
        from facefarm.sample.renderer import SampleRenderer
        from facefarm.sample.store import open_store

        if head_asset is None or head_asset == head_assets.input_hash():
            build()  # first use on this node: one worker compiles, the others wait for it
        self.catalog = load_catalog(catalog)
        self.seed, self.n = int(seed), int(n)
        self.store = open_store(store_root)
        self.renderer = SampleRenderer(self.catalog, backend)
        self.compose_ahead = self.renderer.info.compose_ahead if compose_ahead is None else bool(compose_ahead)
        # a node with another head asset build would make other samples under the same job
        mine = head_asset_versions(self.renderer).get("head")
        if head_asset is not None and mine != head_asset:
            raise RuntimeError(
                f"this node's head asset is {mine}, the job's is {head_asset}: run "
                "`facefarm assets build` with the same facefarm version on every node"
            )

    def info(self) -> dict:
        """Where this worker runs and what it loaded: {"pid", "host", "assets"}."""
        return {"pid": os.getpid(), "host": socket.gethostname(), "assets": head_asset_versions(self.renderer)}

    def pid(self) -> int:
        return os.getpid()

    def render_one(self, index: int, prepared: Future | None = None, then: Callable[[], None] | None = None) -> dict:
        """Render and commit sample ``index`` unless it is already complete.

        ``prepared``: a future of its :meth:`SampleRenderer.prepare` (composed ahead), if any;
        ``then``: called once the sample is composed, before the back-end renders it (to
        compose the next sample meanwhile). Returns {"index", "sample_id", "status": "rendered"
        | "complete" | "error", "line": manifest line or None, "reason": error text or None,
        "seconds": wall time}. Errors are returned, not raised, so one bad sample does not lose
        the rest of its shard.
        """
        from facefarm.sample import writer
        from facefarm.sample.renderer import one_blas_thread

        t0 = time.perf_counter()
        out: dict[str, Any] = {"index": int(index), "sample_id": None, "status": "error", "line": None, "reason": None}
        try:
            sid = out["sample_id"] = sample_id(index)
            if writer.is_complete(self.store, sid):
                out["line"] = writer.manifest_line(writer.read_record(self.store, sid))
                out["status"] = "complete"
            else:
                with one_blas_thread():
                    ready = (
                        prepared.result() if prepared is not None else self.renderer.prepare(self.seed, index, self.n)
                    )
                    if then is not None:
                        next_up, then = then, None  # called once: here, not again below
                        next_up()
                    record = self.renderer.finish_to(self.store, ready)
                out["line"] = writer.manifest_line(record)
                out["status"] = "rendered"
        except Exception as e:  # noqa: BLE001 - reported per sample, retried by the driver
            last = traceback.format_exception_only(type(e), e)[-1].strip()
            out["reason"] = last
            if is_out_of_space(e):  # no retry can help: the driver stops the run
                out["fatal"] = f"the output has no space left ({last})"
        if then is not None:  # complete already, or failed before its render: the next one still goes ahead
            then()
        out["seconds"] = time.perf_counter() - t0
        return out

    def render_shard(self, indices: list[int], on_each: Callable[[dict], None] | None = None) -> list[dict]:
        """Render a shard in order; ``on_each`` (in-process use) gets each result as it comes.

        With ``compose_ahead``, the next sample is resolved and composed on a second thread
        while the back-end renders the current one (Blender and EGL release the GIL while they
        draw); samples and their files are the same either way."""
        out: list[dict] = []

        def done(result: dict) -> None:
            out.append(result)
            if on_each is not None:
                on_each(result)

        if not self.compose_ahead or len(indices) < 2:
            for i in indices:
                done(self.render_one(i))
                if out[-1].get("fatal"):
                    break
            return out
        from facefarm.sample import writer
        from facefarm.sample.renderer import one_blas_thread

        # one BLAS limit for the whole shard: a limit entered and left on each thread would
        # restore the other thread's BLAS threads in the middle of its work
        with one_blas_thread(), ThreadPoolExecutor(1, thread_name_prefix="compose-ahead") as pool:
            futures: dict[int, Future] = {}

            def ahead(k: int) -> Callable[[], None]:
                def go() -> None:  # compose the next sample of the shard still to render
                    for j in indices[k + 1 :]:
                        if j in futures:
                            return
                        if not writer.is_complete(self.store, sample_id(j)):
                            futures[j] = pool.submit(self.renderer.prepare, self.seed, j, self.n)
                            return

                return go

            for k, i in enumerate(indices):
                done(self.render_one(i, futures.pop(i, None), then=ahead(k)))
                if out[-1].get("fatal"):
                    break
        return out

    def close(self) -> None:
        self.renderer.close()


@dataclass
class Outcome:
    """What a run produced: manifest lines of committed samples, failures, worker bookkeeping."""

    lines: dict[int, dict] = field(default_factory=dict)
    rendered: set[int] = field(default_factory=set)
    failed: dict[int, str] = field(default_factory=dict)
    workers: int = 0
    restarts: int = 0
    assets: dict = field(default_factory=dict)
    interrupted: bool = False
    #: why the run stopped early for every sample alike (the output is full), else None
    fatal: str | None = None


class _Attempts:
    """Per-sample attempt bookkeeping shared by the local and Ray drivers."""

    def __init__(self, outcome: Outcome, max_retries: int, on_result: Callable[[dict], None] | None):
        self.outcome, self.max_retries, self.on_result = outcome, max_retries, on_result
        self.count: dict[int, int] = {}

    def settle(self, result: dict) -> bool:
        """Record one result; True when the sample is settled, False when it should be retried."""
        i = result["index"]
        if result.get("fatal"):
            self.outcome.fatal = self.outcome.fatal or result["fatal"]
            return True  # not counted as an attempt: the sample is simply not done
        if result["status"] in ("rendered", "complete"):
            self.outcome.lines[i] = result["line"]
            self.outcome.rendered.add(i)  # rendered by this run (maybe by a worker that died after committing)
            self.outcome.failed.pop(i, None)
        else:
            if not self.failed_attempt(i, result["reason"]):
                return False
        if self.on_result:
            self.on_result(result)
        return True

    def failed_attempt(self, index: int, reason: str) -> bool:
        """Count a failed attempt; True (and the sample is failed) when no attempts remain."""
        self.count[index] = self.count.get(index, 0) + 1
        if self.count[index] <= self.max_retries:
            return False
        self.outcome.failed[index] = f"{reason} (after {self.count[index]} attempts)"
        return True


def start_local_worker(job: Job, store_root: str) -> SampleWorker:
    """A worker in this process (``--no-ray``); raises :class:`FarmError` when it cannot start."""
    try:
        return SampleWorker(job.catalog, job.backend, store_root, job.seed, job.n, job.head_asset)
    except Exception as e:  # noqa: BLE001 - e.g. the head asset is not built: say so, no traceback
        raise FarmError(f"the renderer failed to start: {traceback.format_exception_only(type(e), e)[-1].strip()}")


def run_local(
    worker: SampleWorker, todo: list[int], max_retries: int = 2, on_result: Callable[[dict], None] | None = None
) -> Outcome:
    """Render ``todo`` in this process in order, a few samples per shard (so the worker can
    compose one ahead); same retry semantics as the farm."""
    outcome = Outcome(workers=1, assets=head_asset_versions(worker.renderer))
    attempts = _Attempts(outcome, max_retries, on_result)
    queue = deque(sorted(todo))
    try:
        while queue:
            shard = [queue.popleft() for _ in range(min(len(queue), LOCAL_SHARD))]
            retry: list[int] = []

            def settle(result: dict) -> None:
                if not attempts.settle(result):
                    retry.append(result["index"])
                stopping.check()  # a stop whose raise was lost inside a library stops here

            worker.render_shard(shard, on_each=settle)
            queue.extendleft(reversed(retry))
            if outcome.fatal:
                break
    except KeyboardInterrupt:
        outcome.interrupted = True
    return outcome


# ---------------------------------------------------------------------------------------------- Ray


def connect(address: str | None = None, num_cpus: int | None = None) -> local_ray.LocalRay | None:
    """Join the cluster at ``address`` (or $RAY_ADDRESS), else start a quiet private local Ray
    (:mod:`facefarm.farm.local_ray`: free ports, its own temporary folder).

    Returns the local Ray this call started (the caller stops it), else None. An already
    initialised Ray (tests, notebooks) is reused as it is.
    """
    import ray

    if ray.is_initialized():
        return None
    address = address or os.environ.get("RAY_ADDRESS") or None
    quiet: dict[str, Any] = dict(logging_level="ERROR", log_to_driver=False, configure_logging=True)
    if address:
        _probe(address)
        try:
            ray.init(address=address, **quiet)
        except (ConnectionError, ValueError, RuntimeError) as e:
            raise FarmError(f"cannot join the Ray cluster at {address!r}: {e}{auth_hint(e)}") from None
        return None
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")  # inherited by the local worker processes
    return local_ray.start(num_cpus or os.cpu_count() or 1, **quiet)


def auth_hint(error: BaseException | str) -> str:
    """What to do when a Ray cluster refused us for lack of a token ('' when it did not): Ray 2.59+
    starts clusters with token authentication, and a client needs the same token."""
    text = str(error).lower()
    if not any(w in text for w in ("authentication", "auth token", "unauthenticated", "401", "403")) and not (
        "failed to connect" in text and not os.environ.get("RAY_AUTH_MODE")
    ):
        return ""
    return (
        "; the cluster may require a token (Ray >= 2.59 enables token authentication): set "
        "RAY_AUTH_MODE=token and RAY_AUTH_TOKEN (`ray get-auth-token` on the head node prints it) or "
        "RAY_AUTH_TOKEN_PATH in this shell, as on every node"
    )


def _probe(address: str, timeout: float = 5.0) -> None:
    """Fail fast on an unreachable ``host:port`` (ray.init would retry for minutes)."""
    if address == "auto" or "://" in address or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise FarmError(
            f"cannot reach the Ray cluster at {address}: {e.strerror or e}; is `ray start --head` "
            "running there (its GCS port, default 6379)?"
        ) from None


def _smallest_node_cpus() -> float:
    """CPU count of the smallest live node with CPUs (a CPU Cycles worker reserves a whole node)."""
    import ray

    cpus = [n["Resources"].get("CPU", 0.0) for n in ray.nodes() if n.get("Alive")]
    cpus = [c for c in cpus if c > 0]
    return min(cpus) if cpus else 1.0


def _request_resources(bundles: list[dict[str, float]]) -> None:
    """Tell the cluster's autoscaler what to make room for (no autoscaler: nothing happens)."""
    from ray.autoscaler.sdk import request_resources

    request_resources(bundles=[{k: v for k, v in b.items() if k in ("CPU", "GPU")} for b in bundles])


def _last_line(e: BaseException) -> str:
    """The original error's last line out of Ray's wrapped traceback ("FileNotFoundError: ...")."""
    text = getattr(e, "error_msg", None) or str(e)
    lines = [ln.strip() for ln in re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines() if ln.strip()]
    return lines[-1] if lines else type(e).__name__


def _is_worker_death(exc: BaseException) -> bool:
    from ray import exceptions as rx

    return isinstance(
        exc,
        (
            rx.RayActorError,
            rx.WorkerCrashedError,
            rx.OutOfMemoryError,
            rx.NodeDiedError,
            rx.ObjectLostError,
            rx.LocalRayletDiedError,
        ),
    )


@dataclass
class _Slot:
    """One worker position: its current actor, that actor's pid once ready, and its calls in flight."""

    actor: Any  # a Ray actor handle of SampleWorker
    ready_ref: Any  # the ObjectRef of its info() call, None once ready
    pid: int | None = None
    host: str | None = None
    inflight: dict = field(default_factory=dict)  # ObjectRef -> tuple of indices
    busy_since: float | None = None  # when its current call could start (its last result, or the first send)


class RayFarm:
    """Long-lived render actors on a Ray cluster (call :func:`connect` first).

    ``workers`` None picks a default from the cluster (see :func:`plan.fit_workers`); raises
    :class:`FarmError` when the job's workers cannot be placed (e.g. GPU workers, no GPUs). On a
    cluster (not ``local``) with ``workers`` None the farm follows the cluster: every
    :data:`GROW_EVERY_S` it fits workers to the cluster's resources again and starts more when
    nodes joined (an autoscaler answering the demand); the calls of a node that leaves go back
    to the queue, and its workers' replacements wait for room.
    """

    def __init__(
        self,
        job: Job,
        store_root: str,
        workers: int | None = None,
        max_retries: int = 2,
        startup_timeout: float = 300.0,
        local: bool = True,
        shard_timeout: float | None = None,
        resource_wait: float = 0.0,
        on_wait: Callable[[str], None] | None = None,
    ):
        import ray

        self.job, self.store_root = job, store_root
        self.max_retries = max_retries
        self.startup_timeout = startup_timeout
        #: seconds a worker may work on one call before it counts as hung (None: from the sample times seen)
        self.shard_timeout = shard_timeout
        self._slowest_sample = 0.0
        self.elastic = workers is None and not local
        self.n_workers, self.resources = self._fit(workers, local, resource_wait, on_wait)
        self._actor_cls: Any = ray.remote(SampleWorker).options(
            num_cpus=self.resources["num_cpus"],
            num_gpus=self.resources["num_gpus"],
            memory=self.resources["memory"],
            max_restarts=0,
            max_task_retries=0,
        )
        self.slots: list[_Slot] = []
        self.restarts = 0
        self.assets: dict = {}

    def _fit(
        self, workers: int | None, local: bool, wait: float, on_wait: Callable[[str], None] | None
    ) -> tuple[int, dict]:
        """:func:`plan.fit_workers` on the cluster's resources; when not even one worker fits and
        ``wait`` > 0, ask the cluster's autoscaler for a node that would take one and look again
        every second, up to ``wait`` seconds (``on_wait`` hears why, once)."""
        import ray

        deadline = time.monotonic() + wait
        asked = False
        while True:
            try:
                fitted = fit_workers(self.job, workers, ray.cluster_resources(), local, node_cpus=_smallest_node_cpus())
            except ResourceError as e:
                if e.bundle is None or time.monotonic() >= deadline:
                    after = f" (waited {wait:g} s for a node to join)" if asked else ""
                    raise FarmError(f"{e}{after}") from None
                if not asked:
                    _request_resources([e.bundle])
                    asked = True
                    if on_wait:
                        on_wait(f"{e}; asked the cluster's autoscaler for such a node, waiting up to {wait:g} s")
                time.sleep(1.0)
                continue
            if asked:
                _request_resources([])  # the workers now hold what they need
            return fitted

    # -- actors
    def _new_slot(self) -> _Slot:
        j = self.job
        actor = self._actor_cls.remote(
            j.catalog, j.backend, self.store_root, j.seed, j.n, j.head_asset, driver=(socket.gethostname(), os.getpid())
        )
        return _Slot(actor=actor, ready_ref=actor.info.remote())

    def start(self) -> None:
        """Create the actors and wait until at least one is ready (fails fast if they cannot start)."""
        import ray

        self.slots = [self._new_slot() for _ in range(self.n_workers)]
        deadline = time.monotonic() + self.startup_timeout
        while not any(s.pid for s in self.slots):
            refs = [s.ready_ref for s in self.slots if s.ready_ref is not None]
            done, _ = ray.wait(refs, num_returns=1, timeout=max(0.0, deadline - time.monotonic()))
            if not done:
                self.close()
                raise FarmError(
                    f"no render worker started within {self.startup_timeout:g} s; the cluster cannot place "
                    f"{self.n_workers} worker(s) needing {self._res_text()} (ray status shows what is free)"
                )
            for s in self.slots:
                if s.ready_ref == done[0]:
                    try:
                        self._on_ready(s)
                    except FarmError:  # the first start failing is deterministic (bad asset, no GL): stop
                        self.close()
                        raise

    def grow(self) -> int:
        """Start workers for the room the cluster has gained since they were fitted; returns how many."""
        import ray

        try:
            fit, _ = fit_workers(self.job, None, ray.cluster_resources(), False, node_cpus=_smallest_node_cpus())
        except ResourceError:  # the cluster shrank below one worker: the replacements wait
            return 0
        more = max(0, fit - len(self.slots))
        self.slots += [self._new_slot() for _ in range(more)]
        self.n_workers = len(self.slots)
        return more

    def wait_all_ready(self) -> None:
        """Block until every worker has started (benchmarks time rendering apart from start-up)."""
        import ray

        for s in self.slots:
            if s.ready_ref is not None:
                ray.wait([s.ready_ref])
                self._on_ready(s)

    def _res_text(self) -> str:
        return ", ".join(f"{k.removeprefix('num_')}={v:g}" for k, v in self.resources.items() if v)

    def _on_ready(self, slot: _Slot) -> None:
        import ray

        try:
            info = ray.get(slot.ready_ref)
        except Exception as e:  # noqa: BLE001 - reported with the constructor's own error text
            raise FarmError(f"a render worker failed to start: {_last_line(e)}") from None
        slot.ready_ref, slot.pid, slot.host = None, info["pid"], info["host"]
        self.assets = self.assets or info.get("assets", {})

    def worker_pids(self) -> list[int | None]:
        """The process id of each worker slot's current actor (from the actor's ``info()`` call)."""
        return [s.pid for s in self.slots]

    def close(self, wait: float = 10.0) -> None:
        """Kill the actors and wait (up to ``wait`` s) until they are gone, so none commits a sample later."""
        import ray

        # a probe queued before the kill waits behind the actor's render call and fails once the
        # actor is dead (one queued after the kill may fail at once, while the process still runs)
        probes = []
        for s in self.slots:
            try:
                probes.append(s.actor.pid.remote())
            except Exception:  # noqa: BLE001 - already gone
                pass
        for s in self.slots:
            try:
                ray.kill(s.actor, no_restart=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
        deadline = time.monotonic() + wait
        if probes and wait > 0:
            ray.wait(probes, num_returns=len(probes), timeout=wait)
        # workers on this machine: until their processes are really gone (SIGKILL is asynchronous)
        here = socket.gethostname()
        for s in self.slots:
            while s.pid and s.host == here and pid_alive(s.pid) and time.monotonic() < deadline:
                time.sleep(0.02)
        self.slots = []

    # -- the loop
    def run(
        self,
        todo: list[int],
        shard_size: int = 1,
        on_result: Callable[[dict], None] | None = None,
        on_restart: Callable[[int, str], None] | None = None,
    ) -> Outcome:
        """Render ``todo``; returns when every sample is committed or failed (or on Ctrl-C)."""
        import ray

        from facefarm.farm.plan import plan_shards

        if not self.slots:
            self.start()
        outcome = Outcome(workers=len(self.slots))
        attempts = _Attempts(outcome, self.max_retries, on_result)
        queue: deque[tuple[int, ...]] = deque(s.indices for s in plan_shards(todo, shard_size))
        # a worker that dies at once each time must not loop forever
        restart_budget = len(self.slots) * (self.max_retries + 1) + len(todo)

        def requeue(indices, reason):
            retry = []
            for i in indices:
                if not attempts.failed_attempt(i, reason):
                    retry.append(i)
                elif on_result:
                    on_result({"index": i, "sample_id": None, "status": "error", "line": None, "reason": reason})
            if retry:
                queue.appendleft(tuple(retry))

        def replace(slot: _Slot, reason: str) -> None:
            for indices in slot.inflight.values():
                requeue(indices, reason)
            slot.inflight.clear()
            slot.busy_since = None
            try:
                ray.kill(slot.actor, no_restart=True)
            except Exception:  # noqa: BLE001
                pass
            self.restarts += 1
            if self.restarts > restart_budget:
                raise FarmError(f"render workers keep dying ({self.restarts} restarts); last: {reason}")
            fresh = self._new_slot()
            slot.actor, slot.ready_ref, slot.pid, slot.host = fresh.actor, fresh.ready_ref, None, None
            if on_restart:
                on_restart(self.slots.index(slot), reason)

        def stall_limit(indices) -> float:
            """Seconds a call of these samples may take before its worker counts as hung."""
            if self.shard_timeout is not None:
                return self.shard_timeout
            return max(STALL_FLOOR_S, STALL_FACTOR * self._slowest_sample * len(indices))

        stalled_since = None  # when the last live worker went away (replacements not up yet)
        next_fit = time.monotonic() + GROW_EVERY_S
        try:
            while queue or any(s.inflight for s in self.slots):
                stopping.check()  # a stop whose raise was lost inside a library stops here
                if self.elastic and queue and time.monotonic() >= next_fit:
                    next_fit = time.monotonic() + GROW_EVERY_S
                    more = self.grow()
                    restart_budget += more * (self.max_retries + 1)
                    outcome.workers = max(outcome.workers, len(self.slots))
                if outcome.fatal:
                    queue.clear()  # send no more work; wait for what is in flight
                if any(s.pid for s in self.slots):
                    stalled_since = None
                elif stalled_since is None:
                    stalled_since = time.monotonic()
                elif time.monotonic() - stalled_since > self.startup_timeout:
                    raise FarmError(
                        f"no render worker could be restarted within {self.startup_timeout:g} s "
                        f"(workers need {self._res_text()}; ray status shows what is free)"
                    )
                now = time.monotonic()
                for s in self.slots:
                    if s.pid and s.inflight and s.busy_since is not None:
                        current = next(iter(s.inflight.values()))
                        if now - s.busy_since > stall_limit(current):
                            # a hung worker (stopped, deadlocked, a driver stuck in it) holds its samples forever
                            replace(
                                s,
                                f"worker pid {s.pid} on {s.host} made no progress for "
                                f"{now - s.busy_since:.0f} s (stalled)",
                            )
                            continue
                    while s.pid and queue and len(s.inflight) < IN_FLIGHT_PER_WORKER:
                        indices = queue.popleft()
                        if not s.inflight:
                            s.busy_since = now
                        s.inflight[s.actor.render_shard.remote(list(indices))] = indices
                waiting = {r: s for s in self.slots for r in s.inflight}
                waiting.update({s.ready_ref: s for s in self.slots if s.ready_ref is not None})
                if not waiting:
                    raise FarmError("no render worker is alive")
                done, _ = ray.wait(list(waiting), num_returns=1, timeout=1.0)
                for ref in done:
                    slot = waiting[ref]
                    if ref == slot.ready_ref:
                        try:
                            self._on_ready(slot)
                        except FarmError as e:  # a replacement that could not start: try another
                            replace(slot, str(e))
                        continue
                    if ref not in slot.inflight:
                        continue  # its actor was replaced meanwhile; already requeued
                    try:
                        results = ray.get(ref)
                    except Exception as e:  # noqa: BLE001
                        if _is_worker_death(e):
                            replace(slot, f"worker pid {slot.pid} on {slot.host} died ({type(e).__name__})")
                            continue
                        indices = slot.inflight.pop(ref)
                        requeue(indices, f"render call failed: {_last_line(e)}")
                        continue
                    del slot.inflight[ref]
                    slot.busy_since = time.monotonic() if slot.inflight else None
                    self._slowest_sample = max(
                        [self._slowest_sample] + [float(r.get("seconds") or 0.0) for r in results]
                    )
                    retry = [r["index"] for r in results if not attempts.settle(r)]
                    if retry:
                        queue.appendleft(tuple(retry))
        except KeyboardInterrupt:
            outcome.interrupted = True
        outcome.restarts = self.restarts
        outcome.assets = dict(self.assets)
        return outcome
