"""A render job's life in its output folder: claim it, find what is left, assemble the manifest.

``job.json`` (written first) names the job: catalog JSON, its hash, seed, N, backend, code
version. A later run into the same output must name the same job, or it is refused (unless
``--overwrite``, which deletes the old samples first): otherwise samples of two catalogs would
mix silently. Samples are committed one by one by the writer (labels file last); the manifest
and ``dataset.json`` are derived from the committed sample records at the end of every run and
replaced atomically, so a crash at any moment leaves them either old-and-whole or new-and-whole.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from facefarm import __version__, paths
from facefarm.sample import writer
from facefarm.sample.store import Store
from facefarm.catalog.vocabulary import sample_id
from facefarm.farm.plan import Job

JOB_FILE = "job.json"
JOB_FORMAT = 1
GENERATOR = "facefarm"


class JobMismatch(RuntimeError):
    """The output folder belongs to a different job; the message says what differs and what to do."""


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def git_commit() -> str | None:
    """The source tree's commit when running from a git checkout (provenance only), else None.

    Only a checkout whose root holds the package counts: an installed facefarm inside some other
    repository (a venv in a user's project) must not report that repository's commit."""
    checkout = paths.PACKAGE.parent
    if not (checkout / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def job_record(job: Job) -> dict:
    """The content of ``job.json``."""
    return {
        "job_format": JOB_FORMAT,
        **job.identity(),
        "n": job.n,
        "n_matters": job.n_matters,
        "device": job.device,
        "generator": GENERATOR,
        "git_commit": git_commit(),
        "created": now_iso(),
        "catalog": job.catalog,
    }


def read_job(store: Store) -> dict | None:
    if not store.exists(JOB_FILE):
        return None
    return json.loads(store.get(JOB_FILE))


#: Identity fields a job.json written before they existed may lack (then they are not compared).
_LATER_FIELDS = ("generator_version", "head_asset")
_HINTS = {"n": " (this catalog stratifies or has quotas, so every sample depends on N)",
          "head_asset": " (the samples there were made from another head asset build)",
          "generator_version": " (another facefarm release makes other samples)"}


def _differences(old: dict, job: Job) -> list[str]:
    new = job.identity()
    out = []
    for key, label in (("catalog_hash", "catalog"), ("seed", "seed"), ("backend", "backend"), ("n", "-n"),
                       ("head_asset", "head asset"), ("generator_version", "facefarm version")):
        if key not in new or (key in _LATER_FIELDS and key not in old):
            continue
        if old.get(key) != new[key]:
            out.append(f"{label}: {old.get(key)!r} there, {new[key]!r} now{_HINTS.get(key, '')}")
    return out


def _remove_tree(store: Store, name: str) -> None:
    if store.is_local:
        p = store.local_path(name)
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
        return
    import fsspec

    fs, base = fsspec.core.url_to_fs(store.root)
    path = f"{base.rstrip('/')}/{name}"
    if fs.exists(path):
        fs.rm(path, recursive=True)


@dataclass
class Claim:
    """What :func:`claim_output` found: the previous job record (None if fresh) and cleanup counts."""

    previous: dict | None
    temporaries_removed: int = 0
    overwritten: bool = False


def claim_output(store: Store, job: Job, overwrite: bool = False) -> Claim:
    """Make ``store`` the home of ``job``: check it, clean it, write ``job.json``.

    Raises :class:`JobMismatch` when the folder holds another job (different catalog, seed, N,
    backend, head asset or facefarm version) or samples without a ``job.json``, unless
    ``overwrite`` (then the old samples, manifest and header are deleted first). Removes the
    ``.tmp-*`` leftovers of killed writers.
    """
    old = read_job(store)
    has_samples = bool(store.list(writer.SAMPLES, ".json"))
    problem = None
    if old is not None:
        diffs = _differences(old, job)
        if diffs:
            problem = "it was made by a different job (" + "; ".join(diffs) + ")"
    elif has_samples or store.exists("dataset.json"):
        problem = f"it holds samples but no {JOB_FILE}"
    claim = Claim(previous=old)
    if problem:
        if not overwrite:
            raise JobMismatch(
                f"refusing to write into {store.root}: {problem}. Choose another output folder, or pass "
                "--overwrite to delete its samples and start again.")
        for name in (writer.SAMPLES, "manifest.jsonl", "dataset.json", JOB_FILE):
            _remove_tree(store, name)
        claim = Claim(previous=None, overwritten=True)
    claim.temporaries_removed = store.clean_temporaries(writer.SAMPLES) + store.clean_temporaries("")
    record = job_record(job)
    if claim.previous is not None:
        record["created"] = claim.previous.get("created", record["created"])  # the job, not this run
    store.put(JOB_FILE, (json.dumps(record, indent=1) + "\n").encode())
    return claim


def split_todo(store: Store, n: int) -> tuple[list[int], list[int]]:
    """(indices still to render, indices already complete) among 0..n-1, by the writer's commit marker."""
    done_ids = writer.complete_ids(store)
    todo, done = [], []
    for i in range(n):
        (done if sample_id(i) in done_ids else todo).append(i)
    return todo, done


def _read_lines(store: Store, ids: list[str]) -> list[dict]:
    def one(sid: str) -> dict:
        return writer.manifest_line(writer.read_record(store, sid))

    if store.is_local or len(ids) < 8:
        return [one(s) for s in ids]
    with ThreadPoolExecutor(16) as pool:  # object stores: latency-bound GETs
        return list(pool.map(one, ids))


@dataclass
class RunSummary:
    """Counts of one run: rendered now, already complete before, failed (index -> reason)."""

    rendered: int = 0
    skipped: int = 0
    failed: dict[int, str] = field(default_factory=dict)
    workers: int = 0
    worker_restarts: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    assets: dict = field(default_factory=dict)
    started: str = field(default_factory=now_iso)


def dataset_header(job: Job, summary: RunSummary, previous: dict | None) -> dict:
    """The dataset.json header (``writer.write_manifest`` adds schema_version, n_samples, manifest hash)."""
    runs = list((previous or {}).get("runs", []))
    runs.append({
        "started": summary.started, "finished": now_iso(), "rendered": summary.rendered,
        "skipped": summary.skipped, "failed": len(summary.failed), "workers": summary.workers,
        "worker_restarts": summary.worker_restarts, "seconds": round(summary.seconds, 3),
        "interrupted": summary.interrupted,
    })
    assets = summary.assets or (previous or {}).get("assets", {})
    return {
        "generator": GENERATOR,
        "generator_version": __version__,
        "git_commit": git_commit(),
        "catalog_hash": job.catalog_hash,
        "seed": job.seed,
        "n_requested": job.n,
        "backend": job.backend,
        "device": job.device,
        "failed": [{"index": i, "sample_id": sample_id(i), "reason": r} for i, r in sorted(summary.failed.items())],
        "complete": not summary.failed and not summary.interrupted,
        "assets": assets,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "created": now_iso(),
        "runs": runs,
        "schema_files": {"classes": "facefarm/assets/schema/classes.json", "landmarks": "facefarm/assets/schema/landmarks70.json"},
        "classes": json.loads((paths.ASSETS / "schema" / "classes.json").read_text()),
        "landmarks": json.loads((paths.ASSETS / "schema" / "landmarks70.json").read_text()),
        "catalog": job.catalog,
    }


def assemble(store: Store, job: Job, summary: RunSummary, fresh_lines: dict[int, dict] | None = None) -> dict:
    """Rewrite manifest.jsonl and dataset.json from the committed samples of ``job``. Returns the header.

    ``fresh_lines`` (index -> manifest line) are the records this run's workers just wrote;
    every other complete sample is read back from its label file. Records that do not belong
    to the job (another catalog hash or seed) are an error: the folder was tampered with.
    """
    fresh_lines = dict(fresh_lines or {})
    complete = writer.complete_ids(store)
    wanted = {i: sample_id(i) for i in range(job.n)}
    missing = [sid for i, sid in wanted.items() if sid in complete and i not in fresh_lines]
    lines = list(fresh_lines.values()) + _read_lines(store, missing)
    for line in lines:
        if line.get("catalog_hash") != job.catalog_hash or line.get("seed") != job.seed:
            raise JobMismatch(f"{writer.sample_names(line['sample_id'])['labels']} in {store.root} belongs to "
                              f"another job (catalog {line.get('catalog_hash')}, seed {line.get('seed')})")
    previous = writer.read_header(store)
    header = dataset_header(job, summary, previous)
    writer.write_manifest(store, header, lines)
    return writer.read_header(store)

