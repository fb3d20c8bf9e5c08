"""Crash-safe writes: a file is either absent or whole.

Every write goes to a unique temporary name in the destination folder and is
then renamed over the final name (atomic on POSIX file systems), so a killed
worker leaves at most a stray ``.tmp-*`` file, never a truncated output.
"""

from __future__ import annotations

import errno
import json
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path

TMP_PREFIX = ".tmp-"


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (fsync, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex}-{path.name}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk, an interrupt: leave no partial temporary behind
        tmp.unlink(missing_ok=True)
        raise


#: errno values that mean the output cannot take more data: retrying a sample cannot help.
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def is_out_of_space(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) says the disk or the quota is full."""
    e: BaseException | None = error
    while e is not None:
        if isinstance(e, OSError) and e.errno in NO_SPACE:
            return True
        e = e.__cause__ or e.__context__
    return False


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj, indent: int | None = None) -> None:
    write_text(path, json.dumps(obj, indent=indent, sort_keys=False) + "\n")


#: ``.tmp-{hex}-{final name}``: the temporary names :func:`write_bytes` makes (hex: a uuid4, or shorter)
_TMP_NAME = re.compile(r"^\.tmp-[0-9a-f]{8,32}-(.+)$")


def temporary_target(name: str) -> str | None:
    """The final name a temporary file of :func:`write_bytes` was for, or None for any other name."""
    m = _TMP_NAME.match(name)
    return m[1] if m else None


def remove_stale_temporaries(folder: str | os.PathLike, ours: Callable[[str], bool] = lambda name: True) -> int:
    """Delete leftovers of interrupted writes for final names ``ours`` accepts; returns how many.

    Only plain files named as :func:`write_bytes` names its temporaries count: an editor's
    ``.tmp-swap`` or a folder that happens to start with ``.tmp-`` is not facefarm's to delete.
    """
    n = 0
    for p in Path(folder).glob(f"{TMP_PREFIX}*"):
        target = temporary_target(p.name)
        if target is None or not ours(target) or p.is_symlink() or not p.is_file():
            continue
        p.unlink(missing_ok=True)
        n += 1
    return n
