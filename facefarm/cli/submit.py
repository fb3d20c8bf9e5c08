"""``facefarm submit`` and ``facefarm status``: run a render as a Ray job on a remote cluster.

``submit`` validates the catalog here, uploads its canonical JSON as the job's working
directory and starts ``python -m facefarm render catalog.json -o OUT ... --address auto`` on the
head node through Ray's job API (the dashboard address, ``http://HEAD:8265``). This facefarm's
code travels with the job (Ray's ``runtime_env`` ``py_modules``), so every node runs the same
version whatever it has installed; the nodes need its dependencies (a Python 3.11 image with
facefarm's requirements), and each node compiles the head asset into its cache on first use.
OUT must be a place every node can write: an object store URL (``s3://bucket/run``) or a shared
file system path.
``status`` reports the Ray job state and, when OUT is readable from here, how many samples
are complete.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import tempfile
import time
from pathlib import Path

from facefarm import paths
from facefarm.catalog.vocabulary import BACKEND_NAMES
from facefarm.cli.render import add_set_argument
from facefarm.farm.workers import auth_hint

TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
#: lines of a failed job's log that `status` shows: the cause is at its end (facefarm's "error:"
#: line, the last lines of a traceback, the shell's "not found")
FAILURE_LINES = 8
_LOG_TAIL = re.compile(r",? last available logs \(truncated to [\d,]+ chars\):?$")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def add_parser(sub) -> None:
    s = sub.add_parser(
        "submit",
        help="render a dataset as a Ray job on a cluster (prints the job id)",
        description=__doc__.split("\n\n")[1],
    )
    s.add_argument("spec", help="catalog spec JSON")
    s.add_argument(
        "-o", "--output", required=True, help="output every node can write: s3://bucket/run, gs://..., or a shared path"
    )
    s.add_argument("--address", required=True, help="the cluster's dashboard, e.g. http://HEAD:8265")
    s.add_argument("-n", type=int, default=None, help="number of samples (default: the catalog's size, else 16)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument(
        "--limit", type=int, default=None, metavar="K", help="render only K of the N planned samples (as render)"
    )
    add_set_argument(s)
    s.add_argument("--backend", choices=BACKEND_NAMES, default=None)
    s.add_argument("--workers", type=int, default=None, help="render workers (default: one per GPU/CPU)")
    s.add_argument("--max-retries", type=int, default=2)
    s.add_argument("--overwrite", action="store_true")
    s.add_argument("--job-id", default=None, help="submission id to use (default: Ray picks one)")
    s.add_argument(
        "--no-ship",
        dest="ship",
        action="store_false",
        help="run the facefarm installed on the cluster instead of shipping this one with the job",
    )
    s.add_argument(
        "--facefarm-command",
        default=None,
        help="how the cluster runs facefarm (default `python -m facefarm`; `facefarm` with --no-ship)",
    )
    s.add_argument("--wait", action="store_true", help="wait for the job and report as `status --wait`")
    s.set_defaults(func=submit)

    t = sub.add_parser("status", help="state and progress of a job started by `facefarm submit`")
    t.add_argument("job_id")
    t.add_argument("--address", required=True, help="the cluster's dashboard, e.g. http://HEAD:8265")
    t.add_argument("-o", "--output", default=None, help="where the job writes (default: as submitted)")
    t.add_argument("--wait", action="store_true", help="poll until the job ends; exit 0 only if it succeeded")
    t.add_argument("--timeout", type=float, default=None, help="with --wait: give up after this many seconds")
    t.add_argument("--logs", action="store_true", help="print the job's log")
    t.set_defaults(func=status)


def _err(cmd: str, msg: str) -> int:
    print(f"facefarm {cmd}: error: {msg}", file=sys.stderr)
    return 1


def _client(address: str):
    from ray.job_submission import JobSubmissionClient

    return JobSubmissionClient(address)


def entrypoint(args, n: int, catalog_file: str = "catalog.json") -> str:
    """The shell command the cluster runs (in the uploaded working directory)."""
    argv = [
        catalog_file,
        "-o",
        args.output,
        "-n",
        str(n),
        "--seed",
        str(args.seed),
        "--max-retries",
        str(args.max_retries),
        "--address",
        "auto",
        "--quiet",
    ]
    if getattr(args, "limit", None) is not None:
        argv += ["--limit", str(args.limit)]
    if args.backend:
        argv += ["--backend", args.backend]
    if args.workers:
        argv += ["--workers", str(args.workers)]
    if args.overwrite:
        argv.append("--overwrite")
    command = args.facefarm_command or ("python -m facefarm" if args.ship else "facefarm")
    return f"{command} render " + " ".join(shlex.quote(a) for a in argv)


def runtime_env(args, working_dir: str) -> dict:
    """The job's Ray ``runtime_env``: the catalog's folder, and this facefarm's package unless
    ``--no-ship`` (Ray uploads it once per content and puts it first on every process's path)."""
    env: dict = {"working_dir": working_dir}
    if args.ship:
        env["py_modules"] = [str(paths.PACKAGE)]
    return env


def submit(args) -> int:
    from facefarm.catalog import canonical_json
    from facefarm.cli.render import load_checked, output_root

    catalog, problems = load_checked(args.spec, overrides=args.overrides)
    if problems:
        print(f"facefarm submit: error: {args.spec}: {len(problems)} problem(s) in the catalog", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    n = args.n if args.n is not None else (catalog.size or 16)
    if "://" not in args.output:
        print(
            f"note: {args.output} is a path on the cluster's nodes; use s3://... unless it is a shared file system",
            file=sys.stderr,
        )
    args.output = output_root(args.output)
    with tempfile.TemporaryDirectory(prefix="facefarm-submit-") as tmp:
        # the canonical JSON (defaults filled, references inlined) has the same hash on any machine
        Path(tmp, "catalog.json").write_text(canonical_json(catalog) + "\n")
        cmd = entrypoint(args, n)
        deadline = time.monotonic() + 90.0
        while True:
            try:
                job_id = _client(args.address).submit_job(
                    entrypoint=cmd,
                    submission_id=args.job_id,
                    runtime_env=runtime_env(args, tmp),
                    metadata={"facefarm_output": args.output, "facefarm_n": str(n), "facefarm_spec": str(args.spec)},
                )
                break
            except Exception as e:  # noqa: BLE001 - connection refused, bad address, duplicate id...
                # a head node that has just started answers 500 until its job agent is up: wait for it
                if "No available agent" in str(e) and time.monotonic() < deadline:
                    time.sleep(2.0)
                    continue
                return _err("submit", f"cannot submit to {args.address}: {_short(e)}{auth_hint(e)}")
    print(job_id)
    if args.wait:
        return _follow(args.address, job_id, args.output, n, timeout=None)
    return 0


def _short(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:300]


def complete_count(output: str, n: int) -> int | None:
    """How many of samples 0..n-1 are committed in ``output``; None when it cannot be read from here."""
    from facefarm.sample import writer
    from facefarm.sample.store import open_store

    try:
        ids = writer.complete_ids(open_store(output))
    except Exception:  # noqa: BLE001 - not reachable from this machine (other node, no credentials)
        return None
    return sum(1 for s in ids if s.isdigit() and int(s) < n)


def _state(info) -> str:
    return str(getattr(info.status, "value", info.status))


def failure_lines(message: str | None, logs: str | None = None, last: int = FAILURE_LINES) -> list[str]:
    """The last ``last`` non-empty lines of a failed job's log: from Ray's message (which carries the
    log's tail after its first line), else from ``logs``."""
    _, _, tail = (message or "").strip().partition("\n")
    lines = [_ANSI.sub("", ln).rstrip() for ln in (tail or logs or "").split("\n")]
    # a progress bar redraws with carriage returns: keep what was on screen last
    lines = [ln.rsplit("\r", 1)[-1] for ln in lines]
    return [ln for ln in lines if ln.strip()][-last:]


def _describe(job_id: str, info, output: str | None, n: int | None, logs=lambda: None) -> str:
    """One line of state and progress; for a failed job, the last lines of its log below it, indented.

    ``logs``: returns the job's log (asked only when Ray's message carries none)."""
    text = f"{job_id}: {_state(info)}"
    if output and n:
        done = complete_count(output, n)
        text += f" - {done}/{n} samples complete in {output}" if done is not None else f" - {output} not readable here"
    message = (info.message or "").strip()
    if _state(info) in TERMINAL and message:
        text += f" ({_LOG_TAIL.sub('', message.splitlines()[0])[:200]})"
    if _state(info) == "FAILED":
        lines = failure_lines(message) or failure_lines(None, logs())
        if lines:
            text += "\n" + "\n".join(f"  | {ln[:300]}" for ln in lines)
    return text


def _job(address: str, job_id: str):
    return _client(address).get_job_info(job_id)


def _follow(address: str, job_id: str, output: str | None, n: int | None, timeout: float | None) -> int:
    deadline = None if timeout is None else time.monotonic() + timeout
    last = None
    while True:
        info = _job(address, job_id)
        line = _describe(job_id, info, output, n, logs=lambda: _logs(address, job_id))
        if line != last:
            print(line, flush=True)
            last = line
        if _state(info) in TERMINAL:
            return 0 if _state(info) == "SUCCEEDED" else 1
        if deadline is not None and time.monotonic() > deadline:
            print(f"{job_id}: still {_state(info)} after {timeout:g} s", file=sys.stderr)
            return 1
        time.sleep(2.0)


def _logs(address: str, job_id: str) -> str | None:
    """The job's log, or None when the cluster does not give it (best effort: only to explain a failure)."""
    try:
        return _client(address).get_job_logs(job_id)
    except Exception:  # noqa: BLE001
        return None


def status(args) -> int:
    try:
        info = _job(args.address, args.job_id)
    except Exception as e:  # noqa: BLE001
        return _err("status", f"cannot get job {args.job_id} from {args.address}: {_short(e)}{auth_hint(e)}")
    meta = info.metadata or {}
    output = args.output or meta.get("facefarm_output")
    n = int(meta["facefarm_n"]) if meta.get("facefarm_n", "").isdigit() else None
    if args.output:
        from facefarm.cli.render import output_root

        output = output_root(args.output)
    if n is None and output:  # a job not started by `facefarm submit`: N from the output's job.json
        try:
            from facefarm.sample.store import open_store

            n = json.loads(open_store(output).get("job.json"))["n"]
        except Exception:  # noqa: BLE001
            n = None
    try:
        if args.wait:
            code = _follow(args.address, args.job_id, output, n, args.timeout)
        else:
            print(_describe(args.job_id, info, output, n, logs=lambda: _logs(args.address, args.job_id)))
            code = 0
        if args.logs:
            print(_client(args.address).get_job_logs(args.job_id), end="")
    except Exception as e:  # noqa: BLE001
        return _err("status", f"lost {args.address}: {_short(e)}")
    return code
