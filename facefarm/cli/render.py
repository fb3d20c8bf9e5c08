"""``facefarm render spec.json -o OUT``: render a dataset, locally or on a Ray cluster, resumably.

``--limit K`` renders K samples of the N-sample plan (the first K of its balanced order,
:mod:`facefarm.catalog.prefix`): the same sample ids and images as the full dataset's, so a later
run with a larger limit, or none, grows the same folder into it.

Exit status: 0 all N samples (or the K of ``--limit``) complete; 1 nothing rendered because of an error (bad catalog,
output of another job, no workers); 2 finished but some samples failed (listed in dataset.json
and above the last line); 130 interrupted (re-run the same command to finish).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from facefarm.catalog.checks import label_backend_problem
from facefarm.catalog.overrides import Override, parse_override
from facefarm.catalog.vocabulary import BACKEND_NAMES
from facefarm.farm import stopping
from facefarm.sample.atomic import is_out_of_space

EXIT_OK, EXIT_ERROR, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_parser(sub) -> None:
    p = sub.add_parser(
        "render",
        help="render a dataset from a catalog spec (resumable; local or on Ray)",
        description="Render N labelled samples of a catalog into OUT (a folder or an fsspec URL such as "
        "s3://bucket/run). Re-running the same command renders only the missing samples.",
    )
    p.add_argument("spec", help="catalog spec JSON (see `facefarm catalog validate`)")
    p.add_argument("-o", "--output", required=True, help="output folder or fsspec URL (s3://, gs://, file://)")
    p.add_argument("-n", type=int, default=None, help="number of samples (default: the catalog's size, else 16)")
    p.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="K",
        help="render only K of the N planned samples: the first K of an order that keeps each planned "
        "marginal (strata, quotas) as close to its share as K allows, with the same sample ids and images "
        "as the full dataset; run again with a larger --limit, or none, to grow the same output in place",
    )
    add_set_argument(p)
    p.add_argument("--backend", choices=BACKEND_NAMES, default=None, help="override the catalog's render.backend")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="render workers (default: as many as the cores, GPUs and memory allow)",
    )
    p.add_argument(
        "--address",
        default=None,
        help="join this Ray cluster (e.g. auto, HEAD:6379; default $RAY_ADDRESS, else a local Ray)",
    )
    p.add_argument("--no-ray", action="store_true", help="render in this process, one sample at a time")
    p.add_argument(
        "--max-retries",
        type=int,
        default=2,
        help="extra attempts per sample after a failure or a dead worker (default 2)",
    )
    p.add_argument("--shard-size", type=int, default=None, help="samples per worker call (default: automatic)")
    p.add_argument(
        "--shard-timeout",
        type=float,
        default=None,
        help="seconds a worker may spend on one shard before it counts as hung and its samples go to "
        "another worker (default: 10x the slowest sample seen times the shard, at least 300)",
    )
    p.add_argument(
        "--resource-wait",
        type=float,
        default=None,
        help="on a cluster (--address) that cannot host one worker yet (no GPU node for a GPU catalog, "
        "too few CPUs): ask its autoscaler for a node and wait this many seconds before giving up "
        "(default 300 with --address, 0 for the local Ray)",
    )
    p.add_argument(
        "--startup-timeout",
        type=float,
        default=300.0,
        help="seconds to wait for the first worker to start (default 300)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="OUT holds another job (catalog, seed, N or backend): delete its samples and start again "
        "(only facefarm's own files: anything else in OUT stays)",
    )
    p.add_argument(
        "--shrink",
        action="store_true",
        help="allow a smaller -n than OUT's job.json holds: the manifest then lists the first N samples "
        "only; the others stay in samples/ (a later larger -n takes them back)",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="re-hash every sample already in OUT (sha256) before trusting it; by default sizes are "
        "checked for all and hashes for the newest only; a damaged sample is rendered again",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--no-exports", action="store_true", help="skip the catalog's outputs.formats exports")
    p.add_argument("--no-datasheet", action="store_true", help="skip writing OUT/datasheet/")
    p.set_defaults(func=run)


def output_root(out: str) -> str:
    """Absolute form of a local output (Ray workers do not share the driver's working directory)."""
    if "://" in out and not out.startswith("file://"):
        return out
    if out.startswith("file://"):
        return "file://" + os.path.abspath(out[len("file://") :])
    return os.path.abspath(out)


def _override(text: str) -> Override:
    try:
        return parse_override(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_set_argument(parser) -> None:
    """``--set KEY.PATH=VALUE`` (repeatable), for every command that reads a catalog."""
    parser.add_argument(
        "--set",
        dest="overrides",
        metavar="KEY.PATH=VALUE",
        type=_override,
        action="append",
        default=[],
        help="override a catalog field, e.g. --set render.resolution=[512,512] --set age=30 "
        "(VALUE is JSON, else a string; checked like the catalog; it changes the catalog's hash)",
    )


def load_checked(spec: str | dict, n: int | None = None, seed: int = 0, overrides: Sequence[Override] = ()):
    """(catalog, problems): exactly the checks of `facefarm catalog validate` (one validator)."""
    from facefarm.farm.validate import validate_spec

    return validate_spec(spec, n=n, seed=seed, overrides=overrides)


def depends_on_n(catalog) -> bool:
    """True when sample i depends on N (stratified sampling or quotas share N out exactly)."""
    from facefarm.catalog.strata import needs_plan

    return needs_plan(catalog)


def plan_problem(catalog, seed: int, n: int) -> str | None:
    """Why the catalog's sampling plan is impossible for this N (e.g. quotas over N), else None."""
    from facefarm.catalog import CatalogError, ResolveError, resolve

    if not depends_on_n(catalog):
        return None
    try:
        resolve(catalog, seed, 0, n)  # builds (and checks) the whole plan for N
    except CatalogError as e:
        return "; ".join(str(p) for p in e.problems)
    except ResolveError as e:
        return str(e)
    return None


def _err(msg: str) -> None:
    print(f"facefarm render: error: {msg}", file=sys.stderr)


def interrupted_status() -> int:
    """Exit status of an interrupted run: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    return stopping.exit_status(EXIT_INTERRUPTED)


#: seconds a render on a cluster waits by default for room for its first worker (an autoscaler
#: adding a GPU node takes minutes)
CLUSTER_RESOURCE_WAIT_S = 300.0


def _resource_wait(args, local: bool) -> float:
    wait = getattr(args, "resource_wait", None)
    if wait is not None:
        return max(0.0, float(wait))
    return 0.0 if local else CLUSTER_RESOURCE_WAIT_S


def _ensure_head_asset(args) -> bool:
    """Compile the head asset into this machine's cache on first use (an installed facefarm has
    none yet; the catalog's check reads it). On a cluster each node's workers do the same."""
    from facefarm.head import asset as head_asset
    from facefarm.head.build.compiler import build

    npz, meta = head_asset.asset_paths(head_asset.input_hash())
    if npz.exists() and meta.exists():
        return True
    print(f"facefarm render: compiling the head asset once into {npz.parent} ...", file=sys.stderr)
    try:
        build()
    except (OSError, RuntimeError) as e:
        _err(f"could not compile the head asset: {e}; run `facefarm assets build` to see why")
        return False
    return True


def run(args) -> int:
    from facefarm.catalog import catalog_hash
    from facefarm.farm.plan import Job
    from facefarm.head import asset as head_asset
    from facefarm.sample.store import StoreUnavailable, open_store

    stopping.deliver()
    if not _ensure_head_asset(args):  # first: the validator checks detail names against it
        return EXIT_ERROR
    catalog, problems = load_checked(args.spec, n=args.n, seed=max(args.seed, 0), overrides=args.overrides)
    if problems:
        _err(f"{args.spec}: {len(problems)} problem(s) in the catalog")
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return EXIT_ERROR
    n = args.n if args.n is not None else (catalog.size or 16)
    if n < 1 or args.seed < 0 or args.max_retries < 0:
        _err("-n must be >= 1, --seed >= 0 and --max-retries >= 0")
        return EXIT_ERROR
    limit = getattr(args, "limit", None)
    if limit is not None and not 1 <= limit <= n:
        _err(f"--limit must be between 1 and N ({n}), the size of the plan it takes samples from (got {limit})")
        return EXIT_ERROR
    problem = label_backend_problem(catalog.outputs.labels, args.backend or catalog.render.backend)
    if problem:
        _err(f"{args.spec} with --backend {args.backend}: {problem}")
        return EXIT_ERROR
    problem = plan_problem(catalog, args.seed, n)
    if problem:
        _err(f"{args.spec} with -n {n}: {problem}")
        return EXIT_ERROR
    job = Job(
        catalog=catalog.model_dump(mode="json"),
        catalog_hash=catalog_hash(catalog),
        seed=args.seed,
        n=n,
        backend=args.backend or catalog.render.backend,
        device=catalog.render.device,
        n_matters=depends_on_n(catalog),
        head_asset=head_asset.input_hash(),
    )
    root = output_root(args.output)
    try:
        store = open_store(root, write=True)
    except StoreUnavailable as e:
        _err(str(e))
        return EXIT_ERROR
    from facefarm.farm.lock import Locked, output_lock

    try:
        with output_lock(store):
            return _run_locked(args, catalog, job, store, root, n)
    except Locked as e:
        _err(str(e))
        return EXIT_ERROR
    except OSError as e:  # the lock file could not be made: the folder is not writable
        _err(f"cannot write to {root}: {e}")
        return EXIT_ERROR


def _run_locked(args, catalog, job, store, root: str, n: int) -> int:
    """The run, once this process holds the output folder's lock."""
    from facefarm.farm import job as jobs

    in_the_way = _destination_problem(args, store, catalog)
    if in_the_way:
        _err(in_the_way)
        return EXIT_ERROR
    try:
        claim = jobs.claim_output(store, job, overwrite=args.overwrite, shrink=args.shrink)
    except jobs.JobMismatch as e:
        _err(str(e))
        return EXIT_ERROR
    except OSError as e:
        _err(f"cannot write to {root}: {e}")
        return EXIT_ERROR
    if claim.temporaries_removed:
        print(f"removed {claim.temporaries_removed} temporary file(s) of an interrupted run", file=sys.stderr)
    found = jobs.scan(store, n, verify=args.verify)
    limit = getattr(args, "limit", None)
    chosen = None if limit is None or limit >= n else set(limited(catalog, job.seed, n, limit))
    try:
        jobs.check_lines(store, job, found.lines.values())
    except jobs.JobMismatch as e:
        _err(str(e))
        return EXIT_ERROR
    if found.damaged:
        print(damage_report(found.damaged), file=sys.stderr)
        jobs.uncommit(store, found.damaged)
    todo, done = found.todo, found.done
    goal = n
    if chosen is not None:
        todo, goal = [i for i in todo if i in chosen], len(chosen)
    summary = jobs.RunSummary(skipped=len(done), limit=limit)
    t0 = time.perf_counter()
    outcome, error = _render(args, job, root, todo, goal - len(todo), goal)
    summary.seconds = time.perf_counter() - t0
    # count from the commit markers: a worker may have committed samples whose reply never came
    # (it died, or this run was interrupted), and they are this run's work all the same
    from facefarm.catalog.vocabulary import sample_id
    from facefarm.sample import writer

    committed = writer.complete_ids(store)
    summary.rendered = sum(1 for i in todo if sample_id(i) in committed)
    if outcome is not None:
        summary.failed = dict(outcome.failed)
        summary.workers, summary.worker_restarts = outcome.workers, outcome.restarts
        summary.assets, summary.interrupted = outcome.assets, outcome.interrupted
    full = outcome.fatal if outcome is not None else None
    present = sorted(i for i in range(n) if sample_id(i) in committed)
    summary.balanced_prefix = len(present) == n or present == sorted(limited(catalog, job.seed, n, len(present)))
    try:
        header = jobs.assemble(store, job, summary, outcome.lines if outcome else {}, found.lines)
    except jobs.JobMismatch as e:  # a record of another job appeared while rendering
        _err(str(e))
        return EXIT_ERROR
    except OSError as e:
        if not is_out_of_space(e):
            raise
        _err(
            f"{full or 'the output has no space left'}: the manifest could not be written. Every sample in "
            f"{root}/samples is whole; free space and re-run the same command to finish"
        )
        return EXIT_ERROR
    for f in header["failed"][:10]:
        print(f"  failed {f['sample_id']}: {f['reason']}", file=sys.stderr)
    rate = summary.rendered / summary.seconds if summary.seconds > 0 else 0.0
    line = (
        f"{summary.rendered} done, {summary.skipped} skipped (already complete), {len(summary.failed)} failed"
        f" -> {root} ({header['n_samples']}/{n} samples; {summary.seconds:.1f} s, {rate:.2f} samples/s)"
    )
    reached = header["n_samples"] == n or (chosen is not None and all(sample_id(i) in committed for i in chosen))
    if error or full:
        _err(error or f"{full}: free space and re-run the same command to finish (every sample kept is whole)")
        print(f"stopped: {line}")
        return EXIT_ERROR
    if summary.interrupted:
        print(f"interrupted: {line}; re-run the same command to finish")
        return interrupted_status()
    if not summary.failed and reached:
        try:
            problem = _finish(args, store, catalog)
        except KeyboardInterrupt:
            print(
                f"interrupted while writing exports or the datasheet: {line}; the samples are complete: "
                "re-run the same command (or `facefarm export` / `facefarm audit`) to write them"
            )
            return interrupted_status()
        if problem:
            _err(problem)
            print(f"stopped: {line}")
            return EXIT_ERROR
    print(line)
    if header["n_samples"] < n and not summary.failed:
        print(
            f"partial dataset: {header['n_samples']} of the {n} planned samples; render again with a larger "
            f"--limit, or none, to grow it in place"
        )
    return EXIT_FAILED if summary.failed else EXIT_OK


def limited(catalog, seed: int, n: int, k: int) -> list[int]:
    """The ``k`` indices of the ``n``-sample plan that ``--limit k`` renders (see :mod:`facefarm.catalog.prefix`)."""
    from facefarm.catalog.prefix import render_order

    return render_order(catalog, seed, n, k)


def damage_report(damaged: dict[str, str], show: int = 4) -> str:
    """One line: which committed samples are damaged and why (they are rendered again)."""
    items = sorted(damaged.items())
    shown = "; ".join(f"{sid} ({why})" for sid, why in items[:show])
    more = f"; and {len(items) - show} more" if len(items) > show else ""
    return f"rendering {len(items)} damaged sample(s) again: {shown}{more}"


def _destinations(args, store, catalog) -> list[tuple[Any, str]]:
    """(folder, flag that skips it) for each folder a complete run replaces whole (local outputs only)."""
    if not store.is_local:
        return []
    from facefarm.dataset.datasheet import DATASHEET_DIR, legacy_datasheet
    from facefarm.dataset.formats import export_targets

    root = store.local_path()
    out = []
    if not args.no_exports and catalog.outputs.formats:
        out += [(target, "--no-exports") for target in export_targets(root, catalog.outputs.formats)]
    if not args.no_datasheet:
        out.append(((root / DATASHEET_DIR, legacy_datasheet), "--no-datasheet"))
    return out


def _destination_problem(args, store, catalog) -> str | None:
    """Why the exports or the datasheet could not be written (files not facefarm's in the way), else None."""
    from facefarm.sample.owned import NotOurs, check_replaceable

    problems = []
    for (folder, legacy), flag in _destinations(args, store, catalog):
        try:
            check_replaceable(folder, legacy)
        except NotOurs as e:
            problems.append(f"{e}; move it away, or pass {flag}")
    if not problems:
        return None
    return "facefarm replaces only what it wrote in its output folders: " + "; ".join(problems)


def _finish(args, store, catalog) -> str | None:
    """On a complete dataset: the catalog's exports and the datasheet (local outputs only); error text or None."""
    if not store.is_local:
        print(
            "exports and datasheet skipped for a remote output: run `facefarm export` / `facefarm audit` "
            "on a local copy",
            file=sys.stderr,
        )
        return None
    from facefarm.sample.owned import NotOurs

    root = store.local_path()
    try:
        if not args.no_exports and catalog.outputs.formats:
            from facefarm.dataset.formats import export_all

            done = export_all(root, list(catalog.outputs.formats))
            print(f"exports: {', '.join(sorted(done))} -> {root / 'exports'}")
        if not args.no_datasheet:
            from facefarm.dataset.datasheet import write_datasheet

            print(f"datasheet: {write_datasheet(root)}")
    except NotOurs as e:  # appeared while rendering: the check made before the run says which flag skips it
        return _destination_problem(args, store, catalog) or str(e)
    except (ValueError, OSError) as e:  # a damaged sample file (DamagedFile), a full disk...
        return f"exports/datasheet not written: {e}"
    return None


def _render(args, job, root: str, todo: list[int], n_done: int, total: int):
    """Run the workers over ``todo`` (``n_done`` of the run's ``total`` already there); returns
    (Outcome or None, error text or None)."""
    from facefarm.farm.plan import default_shard_size
    from facefarm.farm.progress import Progress
    from facefarm.farm.workers import FarmError, Outcome, RayFarm, connect, run_local, start_local_worker

    if not todo:
        return Outcome(), None
    progress, started, farm, worker = None, None, None, None
    try:
        if args.no_ray:
            worker = start_local_worker(job, root)
            progress = Progress(total=total, initial=n_done, enabled=not args.quiet)
            return run_local(worker, todo, args.max_retries, on_result=progress.result), None
        started = connect(args.address)
        stopping.deliver(forget=False)  # ray.init replaces the SIGTERM handler with a bare sys.exit: ours again
        farm = RayFarm(
            job,
            root,
            workers=args.workers,
            max_retries=args.max_retries,
            startup_timeout=args.startup_timeout,
            local=started is not None,
            shard_timeout=getattr(args, "shard_timeout", None),
            resource_wait=_resource_wait(args, local=started is not None),
            on_wait=lambda why: print(f"facefarm render: {why}", file=sys.stderr, flush=True),
        )
        farm.start()
        progress = Progress(total=total, initial=n_done, enabled=not args.quiet)
        shard = args.shard_size or default_shard_size(len(todo), farm.n_workers)
        return farm.run(todo, shard_size=shard, on_result=progress.result, on_restart=progress.restart), None
    except FarmError as e:
        return None, str(e)
    except KeyboardInterrupt:  # while starting: this run rendered nothing
        return Outcome(interrupted=True), None
    finally:
        if progress is not None:
            progress.close()
        if worker is not None:
            worker.close()
        if farm is not None:
            farm.close()
        if started is not None:
            started.stop()
