"""One writer per output folder: ``OUT/.facefarm.lock`` names the run that holds it.

Two renders into one folder would each trust, clean and rewrite what the other is writing
(manifest, temporaries, --overwrite's deletions). A run therefore creates the lock file
exclusively before it touches the folder and removes it when it ends. The file says which
host and process hold it. A lock left by a run that died on this host is taken over: its pid
is gone, or now names a process that started at another time, or the host rebooted since.
One held by a live process, or by another host (whose processes cannot be seen from here),
refuses the second run with a message naming the file.

Object-store outputs (``s3://``) have no exclusive create, so they are not locked.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import uuid
from contextlib import contextmanager
from pathlib import Path

from facefarm.sample.store import Store

LOCK_FILE = ".facefarm.lock"


class Locked(RuntimeError):
    """Another live run holds the output folder; the message says which, and what to do."""


def pid_alive(pid: int) -> bool:
    """True if a process ``pid`` exists on this host (one we may not signal still exists)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):
        return False
    return True


def boot_id() -> str | None:
    """This boot of this host (Linux), or None: a lock from an earlier boot is stale whatever its pid."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def process_start(pid: int) -> str | None:
    """When process ``pid`` started, in clock ticks since boot (Linux), or None if unknown.

    Tells a run's own pid from the same number reused later by an unrelated process.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # after the command name, which may hold spaces
    return fields[19] if len(fields) > 19 else None  # field 22 of proc(5), "starttime"


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _create(path: Path, holder: dict) -> bool:
    """Create ``path`` holding ``holder`` if it does not exist (whole, never empty); False if it does."""
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    tmp.write_text(json.dumps(holder) + "\n")
    try:
        os.link(tmp, path)  # fails if path exists: an exclusive create of a file already written
        return True
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: exclusive create, then write
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(holder) + "\n")
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _stale(holder: dict | None, host: str) -> bool:
    """True for a lock whose run is certainly gone: made on this host by a process that no longer
    exists (its pid is gone or now names a process started at another time, or the host rebooted)."""
    if holder is None or holder.get("host") != host:
        return False
    pid = holder.get("pid")
    if not isinstance(pid, int):
        return False
    if not pid_alive(pid):
        return True
    boot = boot_id()
    if holder.get("boot_id") and boot and holder["boot_id"] != boot:
        return True
    start = process_start(pid)
    return bool(holder.get("pid_start") and start and holder["pid_start"] != start)


def _take_over(path: Path, holder: dict) -> bool:
    """Move a stale lock away, checking that it is still the one judged stale (not a newer run's)."""
    aside = path.with_name(f".tmp-{uuid.uuid4().hex}-stale{path.name}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:  # someone else removed it first
        return True
    if _read(aside) == holder:
        aside.unlink(missing_ok=True)
        return True
    try:  # it was a newer run's lock: give it back
        os.link(aside, path)
    except OSError:
        pass
    aside.unlink(missing_ok=True)
    return False


@contextmanager
def output_lock(store: Store, command: str = "facefarm render"):
    """Hold ``store``'s lock for the ``with`` block; raises :class:`Locked` if another run holds it.

    Yields the lock file's path (None for an object store, which is not locked).
    """
    if not store.is_local:
        yield None
        return
    path = store.local_path(LOCK_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    host = socket.gethostname()
    me = {
        "host": host,
        "pid": os.getpid(),
        "pid_start": process_start(os.getpid()),
        "boot_id": boot_id(),
        "command": command,
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    for _ in range(3):
        if _create(path, me):
            break
        holder = _read(path)
        if holder is not None and _stale(holder, host) and _take_over(path, holder):
            continue
        if holder is None and not path.exists():  # released in the meantime
            continue
        who = (
            f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('started')}"
            if holder
            else "another run (unreadable lock file)"
        )
        raise Locked(
            f"{store.root} is being written by {who}: {path} holds it. Wait for that run to end; if it "
            f"is gone (e.g. its machine died), delete {path} and run again"
        )
    else:
        raise Locked(f"could not take the lock {path}: other runs keep taking it; try again")
    try:
        yield path
    finally:
        if _read(path) == me:  # never remove a lock someone else took over meanwhile
            path.unlink(missing_ok=True)


@contextmanager
def dataset_lock(root, command: str):
    """:func:`output_lock` for a command that writes inside an existing local dataset (audit, export).

    Nothing is locked (or created) where there is no dataset: the command reports that itself.
    """
    from facefarm.sample.store import open_store

    store = open_store(root)
    if not store.is_local or not store.local_path("dataset.json").is_file():
        yield None
        return
    with output_lock(store, command) as path:
        yield path
