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
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from facefarm import __version__, paths
from facefarm.catalog.vocabulary import sample_id
from facefarm.dataset.splits import DEFAULT_FRACTIONS, assign_split
from facefarm.farm.lock import LOCK_FILE
from facefarm.farm.plan import Job
from facefarm.sample import writer
from facefarm.sample.store import Store

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
        out = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
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


#: The files render writes in the output root (besides samples/, datasheet/ and exports/)
ROOT_FILES = (JOB_FILE, "dataset.json", "manifest.jsonl")


def _read_own(store: Store, name: str) -> dict | None:
    """``name`` parsed, or None if absent; :class:`JobMismatch` if it is there but facefarm did not write it."""
    if not store.exists(name):
        return None
    try:
        data = json.loads(store.get(name))
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("generator") != GENERATOR:
        raise JobMismatch(
            f"refusing to write into {store.root}: its {name} was not written by facefarm (or is "
            f"damaged). Move it away, or choose another output folder (--overwrite replaces only "
            f"files facefarm wrote)"
        )
    return data


def read_job(store: Store) -> dict | None:
    """The output's job.json, None without one; :class:`JobMismatch` if that file is not facefarm's."""
    return _read_own(store, JOB_FILE)


#: Identity fields a job.json written before they existed may lack (then they are not compared).
_LATER_FIELDS = ("generator_version", "head_asset")
_HINTS = {
    "n": " (this catalog stratifies or has quotas, so every sample depends on N)",
    "head_asset": " (the samples there were made from another head asset build)",
    "generator_version": " (another facefarm release makes other samples)",
}


def _differences(old: dict, job: Job) -> list[str]:
    new = job.identity()
    out = []
    for key, label in (
        ("catalog_hash", "catalog"),
        ("seed", "seed"),
        ("backend", "backend"),
        ("n", "-n"),
        ("head_asset", "head asset"),
        ("generator_version", "facefarm version"),
    ):
        if key not in new or (key in _LATER_FIELDS and key not in old):
            continue
        if old.get(key) != new[key]:
            out.append(f"{label}: {old.get(key)!r} there, {new[key]!r} now{_HINTS.get(key, '')}")
    return out


def _recorded_sample_files(store: Store, names: list[str]) -> set[str]:
    """The files among ``names`` that a facefarm sample record there lists (the records included)."""
    out = set()
    for labels in (n for n in names if n.endswith(".json")):
        sid = labels.rsplit("/", 1)[-1][: -len(".json")]
        try:
            record = json.loads(store.get(labels))
        except ValueError:
            continue
        if (
            not isinstance(record, dict)
            or record.get("sample_id") != sid
            or not isinstance(record.get("files"), dict)
            or (record.get("render") or {}).get("generator") != GENERATOR
        ):
            continue
        own = writer.sample_names(sid, writer.image_format_of(str(record["files"].get("image", ""))))
        out.add(labels)
        out |= {name for kind, name in record["files"].items() if own.get(kind) == name}
    return out


def remove_own_samples(store: Store, claimed: bool = True) -> int:
    """Delete facefarm's files from ``samples/`` (and the folder, if that empties it); returns how many.

    ``claimed``: the folder holds facefarm's job.json or dataset.json, so files of the writer's
    names in samples/ are its own; otherwise only the files facefarm's sample records list are,
    and any other file of such a name raises :class:`JobMismatch` before anything is deleted.
    A README or a user's image of another name stays either way.
    """
    names = [n for n in store.list(writer.SAMPLES) if writer.is_sample_file(n)]
    if not claimed:
        proven = _recorded_sample_files(store, names)
        foreign = [n for n in names if n not in proven]
        if foreign:
            more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
            raise JobMismatch(
                f"refusing to overwrite {store.root}: {foreign[0]}{more} is named like a sample, "
                f"but no facefarm record lists it and there is no {JOB_FILE}. Move it away, or "
                f"choose another output folder"
            )
    store.remove_many(names)
    store.clean_temporaries(writer.SAMPLES, writer.is_sample_file)
    if store.is_local:
        try:
            store.local_path(writer.SAMPLES).rmdir()
        except OSError:  # absent, or something not ours is left in it
            pass
    return len(names)


@dataclass
class Claim:
    """What :func:`claim_output` found: the previous job record (None if fresh) and cleanup counts."""

    previous: dict | None
    temporaries_removed: int = 0
    overwritten: bool = False


def claim_output(store: Store, job: Job, overwrite: bool = False, shrink: bool = False) -> Claim:
    """Make ``store`` the home of ``job``: check it, clean it, write ``job.json``.

    Raises :class:`JobMismatch` when the folder holds another job (different catalog, seed, N,
    backend, head asset or facefarm version) or samples without a ``job.json``, unless
    ``overwrite`` (then facefarm's own samples, manifest and header are deleted first); when a
    job.json, dataset.json or manifest.jsonl there is not facefarm's (never deleted); and for a
    smaller N than the job's unless ``shrink`` or ``overwrite``. Removes the leftovers of
    killed writers (only temporaries of facefarm's own file names).
    """
    old = read_job(store)
    # with facefarm's job.json there, dataset.json and manifest.jsonl are its own (derived files,
    # rebuilt at the end of the run even if damaged); without it they must prove themselves
    header = None if old is not None else _read_own(store, "dataset.json")
    if old is None and header is None and store.exists("manifest.jsonl"):
        raise JobMismatch(
            f"refusing to write into {store.root}: its manifest.jsonl was not written by facefarm "
            f"(there is no job.json or dataset.json of facefarm's). Move it away, or choose another "
            f"output folder"
        )
    has_samples = any(writer.is_sample_file(n) for n in store.list(writer.SAMPLES))
    problem = None
    if old is not None:
        diffs = _differences(old, job)
        if diffs:
            problem = "it was made by a different job (" + "; ".join(diffs) + ")"
        elif isinstance(old.get("n"), int) and job.n < old["n"] and not (shrink or overwrite):
            left = f"sample {job.n}" if old["n"] - 1 == job.n else f"samples {job.n}..{old['n'] - 1}"
            raise JobMismatch(
                f"refusing to shrink {store.root}: its {JOB_FILE} asks for -n {old['n']}, this run for -n {job.n}, "
                f"which would leave {left} out of the manifest. Pass --shrink to keep only the first {job.n} "
                f"(the others stay in {writer.SAMPLES}/), or --overwrite to start again"
            )
    elif has_samples or header is not None:
        problem = f"it holds samples but no {JOB_FILE}"
    claim = Claim(previous=old)
    if problem:
        if not overwrite:
            raise JobMismatch(
                f"refusing to write into {store.root}: {problem}. Choose another output folder, or pass "
                "--overwrite to delete its samples and start again."
            )
        remove_own_samples(store, claimed=old is not None or header is not None)
        for name in ROOT_FILES:  # each checked above to be facefarm's
            store.remove(name)
        claim = Claim(previous=None, overwritten=True)
    claim.temporaries_removed = store.clean_temporaries(
        writer.SAMPLES, writer.is_sample_file
    ) + store.clean_temporaries("", lambda name: name in ROOT_FILES or name == LOCK_FILE)
    record = job_record(job)
    if claim.previous is not None:
        record["created"] = claim.previous.get("created", record["created"])  # the job, not this run
    store.put(JOB_FILE, (json.dumps(record, indent=1) + "\n").encode())
    return claim


#: Samples committed this long before the newest commit are hashed on every resume (the writes a
#: crash may have torn); older ones only with ``verify`` (``render --verify``)
NEWEST_WINDOW_S = 60.0
#: Without modification times (some object stores), the highest this many committed indices instead
NEWEST_FALLBACK = 16


@dataclass
class Scan:
    """What an output holds for indices 0..n-1: still to render, whole (with their manifest lines), damaged."""

    todo: list[int]
    done: list[int]
    lines: dict[int, dict]
    #: sample id -> why it does not count (its label file still there until :func:`uncommit`)
    damaged: dict[str, str]


def _newest(committed: list[int], listing: dict[str, tuple]) -> set[int]:
    times = {i: listing[writer.sample_names(sample_id(i))["labels"]][1] for i in committed}
    if not times:
        return set()
    if any(t is None for t in times.values()):
        return set(sorted(committed)[-NEWEST_FALLBACK:])
    last = max(times.values())
    return {i for i, t in times.items() if t >= last - NEWEST_WINDOW_S}


def scan(store: Store, n: int, verify: bool = False) -> Scan:
    """Check every committed sample among 0..n-1 (:func:`writer.check_sample`) and sort them out.

    Sizes are checked for all, sha256 for the newest commits (:data:`NEWEST_WINDOW_S`) or, with
    ``verify``, for all.
    """
    listing = store.listing(writer.SAMPLES)
    committed = [i for i in range(n) if writer.sample_names(sample_id(i))["labels"] in listing]
    hashed = set(committed) if verify else _newest(committed, listing)

    def one(i: int):
        record, why = writer.check_sample(store, sample_id(i), listing, hashed=i in hashed)
        # the manifest line at once: holding every record's dense arrays would cost memory and GC time
        return i, (None if record is None else writer.manifest_line(record)), why

    if store.is_local or len(committed) < 8:
        results = [one(i) for i in committed]
    else:
        with ThreadPoolExecutor(16) as pool:  # object stores: latency-bound GETs
            results = list(pool.map(one, committed))
    lines, damaged = {}, {}
    for i, line, why in results:
        if line is None:
            damaged[sample_id(i)] = why
        else:
            lines[i] = line
    return Scan(todo=[i for i in range(n) if i not in lines], done=sorted(lines), lines=lines, damaged=damaged)


def check_lines(store: Store, job: Job, lines) -> None:
    """Raise :class:`JobMismatch` for a record of another job (catalog hash or seed): the folder was tampered with."""
    for line in lines:
        if line.get("catalog_hash") != job.catalog_hash or line.get("seed") != job.seed:
            raise JobMismatch(
                f"{writer.sample_names(line['sample_id'])['labels']} in {store.root} belongs to "
                f"another job (catalog {line.get('catalog_hash')}, seed {line.get('seed')}): move "
                f"it away (that sample is then rendered again), or choose another output folder"
            )


def uncommit(store: Store, sample_ids) -> None:
    """Delete the label files (commit markers) of damaged samples, so that the workers render them again."""
    for sid in sample_ids:
        store.remove(writer.sample_names(sid)["labels"])


def split_todo(store: Store, n: int, verify: bool = False) -> tuple[list[int], list[int]]:
    """(indices still to render, indices whole) among 0..n-1; see :func:`scan`."""
    found = scan(store, n, verify)
    return found.todo, found.done


def _read_lines(store: Store, ids: list[str]) -> list[dict]:
    """Manifest lines of the whole samples among ``ids``; a damaged one is left out, not an error."""
    listing = store.listing(writer.SAMPLES)

    def one(sid: str) -> dict | None:
        record, _ = writer.check_sample(store, sid, listing)
        return None if record is None else writer.manifest_line(record)

    if store.is_local or len(ids) < 8:
        found = [one(s) for s in ids]
    else:
        with ThreadPoolExecutor(16) as pool:  # object stores: latency-bound GETs
            found = list(pool.map(one, ids))
    return [x for x in found if x is not None]


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
    #: ``render --limit``: how many of the plan's samples this run was asked to have (None: all N)
    limit: int | None = None
    #: whether the samples present are the first ones of the plan's balanced order (``render --limit``)
    balanced_prefix: bool = True


def dataset_header(job: Job, summary: RunSummary, previous: dict | None) -> dict:
    """The dataset.json header (``writer.write_manifest`` adds schema_version, n_samples, manifest hash)."""
    runs = list((previous or {}).get("runs", []))
    runs.append(
        {
            "started": summary.started,
            "finished": now_iso(),
            "rendered": summary.rendered,
            "skipped": summary.skipped,
            "failed": len(summary.failed),
            "workers": summary.workers,
            "worker_restarts": summary.worker_restarts,
            "seconds": round(summary.seconds, 3),
            "interrupted": summary.interrupted,
            "limit": summary.limit,
        }
    )
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
        "schema_files": {
            "classes": "facefarm/assets/schema/classes.json",
            "landmarks": "facefarm/assets/schema/landmarks70.json",
        },
        "classes": json.loads((paths.ASSETS / "schema" / "classes.json").read_text()),
        "landmarks": json.loads((paths.ASSETS / "schema" / "landmarks70.json").read_text()),
        "catalog": job.catalog,
    }


def with_split(line: dict) -> dict:
    """A manifest line with its ``split``: the identity's split at the default fractions, the assignment
    ``facefarm export`` and ``Dataset.split`` use unless told other fractions (by identity, so stable)."""
    if "identity_id" not in line:
        return line
    return dict(line, split=assign_split(str(line["identity_id"]), DEFAULT_FRACTIONS))


def assemble(
    store: Store,
    job: Job,
    summary: RunSummary,
    fresh_lines: dict[int, dict] | None = None,
    known_lines: dict[int, dict] | None = None,
) -> dict:
    """Rewrite manifest.jsonl and dataset.json from the committed samples of ``job``. Returns the header.

    ``fresh_lines`` (index -> manifest line) are the records this run's workers just wrote,
    ``known_lines`` those :func:`scan` found whole before; every other committed sample is read
    back from its label file (a damaged one is left out). Records that do not belong to the job
    (another catalog hash or seed) are an error: the folder was tampered with.
    """
    fresh_lines = dict(fresh_lines or {})
    complete = writer.complete_ids(store)
    wanted = {i: sample_id(i) for i in range(job.n)}
    known = {
        i: x for i, x in (known_lines or {}).items() if i in wanted and wanted[i] in complete and i not in fresh_lines
    }
    missing = [sid for i, sid in wanted.items() if sid in complete and i not in fresh_lines and i not in known]
    lines = list(fresh_lines.values()) + list(known.values()) + _read_lines(store, missing)
    check_lines(store, job, lines)
    lines = [with_split(line) for line in lines]
    previous = writer.read_header(store)
    header = dataset_header(job, summary, previous)
    # a dataset grown with `render --limit` says how much of its plan it holds, so no reader
    # takes k samples for the N the catalog states
    header["n_planned"] = job.n
    header["partial"] = len(lines) < job.n
    header["complete"] = header["complete"] and not header["partial"]
    header["balanced_prefix"] = summary.balanced_prefix
    writer.write_manifest(store, header, lines)
    written = writer.read_header(store)
    if written is None:
        raise OSError(f"{store.root}/dataset.json did not read back after it was written")
    return written
