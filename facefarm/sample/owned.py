"""Which files in a folder facefarm wrote, so that it replaces or deletes those and nothing else.

A folder facefarm builds whole (the datasheet, each export) gets an ownership file,
:data:`OWNER_FILE`, listing every file it put there. Such a folder may be replaced later only
if everything in it is on that list: a figure or a README someone added since is in the way,
and facefarm stops with an error naming it rather than delete it. A folder without the list
is replaced only when it is empty. Inside ``samples/`` the writer's own file names
(:func:`facefarm.sample.writer.is_sample_file`) in a folder holding facefarm's job.json, or
else the files facefarm's sample records list, are the proof instead (:mod:`facefarm.farm.job`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

#: The ownership file of a folder facefarm wrote: {"generator": "facefarm", "what": ..., "files": [...]}
OWNER_FILE = ".facefarm-owned.json"


class NotOurs(ValueError):
    """A file or folder facefarm did not write is where it would write; ``path`` names it."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = Path(path)
        super().__init__(f"{path} {reason}")


def files_under(folder: str | os.PathLike) -> list[str]:
    """POSIX names, relative to ``folder``, of every file below it (a symbolic link counts as a file)."""
    folder = Path(folder)
    out: list[str] = []

    def walk(d: Path, prefix: str) -> None:
        with os.scandir(d) as it:
            for e in sorted(it, key=lambda e: e.name):
                if e.is_dir(follow_symlinks=False):
                    walk(Path(e.path), f"{prefix}{e.name}/")
                else:
                    out.append(f"{prefix}{e.name}")

    walk(folder, "")
    return out


def owned_files(folder: str | os.PathLike) -> set[str] | None:
    """The files ``folder``'s ownership file lists, or None without a readable one."""
    try:
        data = json.loads((Path(folder) / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("generator") != "facefarm" or not isinstance(data.get("files"), list):
        return None
    return {f for f in data["files"] if isinstance(f, str)}


def record_ownership(folder: str | os.PathLike, what: str) -> None:
    """Write ``folder``'s ownership file listing every file now in it (call when it is complete)."""
    folder = Path(folder)
    files = [f for f in files_under(folder) if f != OWNER_FILE]
    (folder / OWNER_FILE).write_text(
        json.dumps({"generator": "facefarm", "what": what, "files": files}, indent=1) + "\n"
    )


def check_replaceable(dest: str | os.PathLike, legacy: Callable[[Path], set[str] | None] | None = None) -> set[str]:
    """Raise :class:`NotOurs` unless facefarm may replace ``dest`` whole; returns the files it may delete.

    ``dest`` may be absent, an empty folder, or a folder holding only files its ownership file
    lists. ``legacy(dest)``: the files an older facefarm, which wrote no ownership file, can be
    shown to have written there (e.g. the plots its datasheet.json names), or None.
    """
    dest = Path(dest)
    if dest.is_symlink():
        raise NotOurs(dest, "is a symbolic link, not a folder facefarm made")
    if not dest.exists():
        above = next((p for p in dest.parents if p.exists()), None)
        if above is not None and not above.is_dir():  # the folder could only be made by replacing a file
            raise NotOurs(above, "is a file, not a folder")
        return set()
    if not dest.is_dir():
        raise NotOurs(dest, "is a file, not a folder")
    present = files_under(dest)
    if not present:
        return set()
    owned = owned_files(dest)
    if owned is None and legacy is not None:
        owned = legacy(dest)
    owned = (owned or set()) | {OWNER_FILE}
    foreign = [f for f in present if f not in owned]
    if foreign:
        more = f"(and {len(foreign) - 1} more) " if len(foreign) > 1 else ""
        raise NotOurs(dest / foreign[0], f"{more}is in the way: facefarm has no record of writing it")
    return set(present)


def remove_owned(folder: str | os.PathLike, files: set[str]) -> list[str]:
    """Delete ``files`` (relative names) from ``folder``, then its emptied sub-folders; returns what is left.

    Anything else that turned up in the meantime stays (with its folders) and is returned.
    """
    folder = Path(folder)
    for name in files:
        try:
            (folder / name).unlink()
        except FileNotFoundError:
            pass
    for d, _, _ in sorted(os.walk(folder), key=lambda x: -len(x[0])):  # deepest first
        try:
            os.rmdir(d)
        except OSError:  # not empty: something not ours is in it
            pass
    return files_under(folder) if folder.exists() else []
