"""Where a dataset is written: a local folder or any fsspec URL (``s3://bucket/run``).

Local writes are atomic renames (:mod:`facefarm.sample.atomic`); object stores
make each PUT atomic by themselves. Either way a reader sees a whole file or none.

Object stores are asked afresh on every lookup: fsspec file systems (s3fs, gcsfs) cache
directory listings per process, but the files here are written by other processes (Ray
workers, a run killed before this one), so a cached listing would miss them.
"""

from __future__ import annotations

import builtins
import os
from dataclasses import dataclass
from pathlib import Path

from facefarm.sample import atomic


def _is_url(root: str) -> bool:
    return "://" in root and not root.startswith("file://")


@dataclass(frozen=True)
class Store:
    """A dataset root. Names are POSIX-style relative paths (``samples/000001.png``)."""

    root: str

    @property
    def is_local(self) -> bool:
        return not _is_url(self.root)

    def _fs(self):
        import fsspec

        fs, _, paths = fsspec.get_fs_token_paths(self.root)
        return fs, paths[0].rstrip("/")

    def _fresh(self, name: str):
        """(file system, full path of ``name``) with no cached listing of that path or its parents."""
        fs, base = self._fs()
        path = f"{base}/{name}".rstrip("/")
        fs.invalidate_cache(path)
        return fs, path

    def local_path(self, name: str = "") -> Path:
        root = self.root[len("file://") :] if self.root.startswith("file://") else self.root
        return Path(root) / name

    def put(self, name: str, data: bytes) -> None:
        if self.is_local:
            atomic.write_bytes(self.local_path(name), data)
        else:
            fs, base = self._fs()
            try:
                fs.pipe_file(f"{base}/{name}", data)
            except FileNotFoundError:  # file systems with real folders (sftp, local://): make the parent
                fs.makedirs(f"{base}/{name}".rsplit("/", 1)[0], exist_ok=True)
                fs.pipe_file(f"{base}/{name}", data)

    def get(self, name: str) -> bytes:
        if self.is_local:
            return self.local_path(name).read_bytes()
        fs, base = self._fs()
        return fs.cat_file(f"{base}/{name}")

    def exists(self, name: str) -> bool:
        if self.is_local:
            return self.local_path(name).exists()
        fs, path = self._fresh(name)
        return fs.exists(path)

    def list(self, folder: str, suffix: str = "") -> list[str]:
        """Names (relative to the root) of the files directly inside ``folder`` ending in ``suffix``."""
        if self.is_local:
            d = self.local_path(folder)
            if not d.is_dir():
                return []
            return sorted(
                f"{folder}/{p.name}"
                for p in d.iterdir()
                if p.name.endswith(suffix) and not p.name.startswith(atomic.TMP_PREFIX)
            )
        fs, path = self._fresh(folder)
        if not fs.exists(path):
            return []
        names = [p.rsplit("/", 1)[-1] for p in fs.ls(path, detail=False)]
        return sorted(f"{folder}/{n}" for n in names if n.endswith(suffix))

    def listing(self, folder: str) -> dict[str, tuple[int, float | None]]:
        """{name: (size in bytes, modification time or None)} of the files directly inside ``folder``.

        One directory listing (one request on an object store), so checking many files is cheap.
        """
        if self.is_local:
            d = self.local_path(folder)
            if not d.is_dir():
                return {}
            out: dict[str, tuple[int, float | None]] = {}
            with os.scandir(d) as it:
                for e in it:
                    if e.name.startswith(atomic.TMP_PREFIX) or not e.is_file():
                        continue
                    st = e.stat()
                    out[f"{folder}/{e.name}"] = (st.st_size, st.st_mtime)
            return out
        fs, path = self._fresh(folder)
        if not fs.exists(path):
            return {}
        found: dict[str, tuple[int, float | None]] = {}
        for info in fs.ls(path, detail=True):
            if info.get("type") not in (None, "file"):
                continue
            name = str(info["name"]).rstrip("/").rsplit("/", 1)[-1]
            t = next(
                (
                    info[k]
                    for k in ("mtime", "LastModified", "last_modified", "updated", "created")
                    if info.get(k) is not None
                ),
                None,
            )
            if t is not None and not isinstance(t, (int, float)):
                t = getattr(t, "timestamp", lambda: None)()
            found[f"{folder}/{name}"] = (int(info.get("size") or 0), t)
        return found

    def remove(self, name: str) -> None:
        """Delete one file (no error if it is gone already)."""
        if self.is_local:
            self.local_path(name).unlink(missing_ok=True)
            return
        fs, path = self._fresh(name)
        if fs.exists(path):
            fs.rm_file(path)

    def remove_many(self, names: "builtins.list[str]") -> None:
        """Delete several files (object stores: in batched requests, not one request each)."""
        if self.is_local:
            for name in names:
                self.local_path(name).unlink(missing_ok=True)
            return
        if names:
            fs, base = self._fs()
            fs.rm([f"{base}/{name}" for name in names])

    def clean_temporaries(self, folder: str, ours=lambda name: True) -> int:
        """Delete the temporaries of interrupted writes in ``folder`` whose final name ``ours`` accepts."""
        if not self.is_local or not self.local_path(folder).is_dir():
            return 0
        return atomic.remove_stale_temporaries(self.local_path(folder), ours)


#: fsspec file systems that live only in this process: a dataset written there would vanish.
NOT_PERSISTENT = ("memory",)


class StoreUnavailable(RuntimeError):
    """The URL's file system needs a package that is not installed (e.g. s3fs for s3://)."""


def open_store(root: str | os.PathLike, write: bool = False) -> Store:
    """A :class:`Store` at ``root``; for a URL, checks now that its fsspec file system can load.

    Raises :class:`StoreUnavailable` naming the package to install (``pip install s3fs`` for
    ``s3://``, gcsfs for ``gs://``, ...), instead of failing on the first write. ``write``: a dataset
    will be written there, so a file system that keeps nothing after this process (``memory://``)
    is refused too.
    """
    store = Store(str(root))
    if not store.is_local:
        import fsspec

        protocol = str(root).split("://", 1)[0]
        chain = [part.split("://", 1)[0] for part in str(root).split("::")]  # e.g. simplecache::s3://
        if write and any(p in NOT_PERSISTENT for p in chain):
            protocol = next(p for p in chain if p in NOT_PERSISTENT)
            raise StoreUnavailable(
                f"cannot write a dataset to {root}: {protocol}:// keeps nothing after this "
                "process ends; give a folder or an object store URL (s3://...)"
            )
        try:
            fsspec.get_filesystem_class(protocol)
        except (ImportError, ValueError) as e:
            raise StoreUnavailable(
                f"cannot open {root}: {e} (e.g. `pip install s3fs` for s3://, `pip install gcsfs` for gs://)"
            ) from None
    return store
