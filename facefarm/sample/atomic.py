"""Crash-safe writes: a file is either absent or whole.

Every write goes to a unique temporary name in the destination folder and is
then renamed over the final name (atomic on POSIX file systems), so a killed
worker leaves at most a stray ``.tmp-*`` file, never a truncated output.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

TMP_PREFIX = ".tmp-"


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (fsync, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex}-{path.name}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj, indent: int | None = None) -> None:
    write_text(path, json.dumps(obj, indent=indent, sort_keys=False) + "\n")


def remove_stale_temporaries(folder: str | os.PathLike) -> int:
    """Delete ``.tmp-*`` leftovers of interrupted writes; returns how many were removed."""
    n = 0
    for p in Path(folder).glob(f"{TMP_PREFIX}*"):
        p.unlink(missing_ok=True)
        n += 1
    return n
