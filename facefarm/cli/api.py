"""The command line's render and resolve as Python functions (``facefarm.render``, ``facefarm.resolve``).

They run the same code as ``facefarm render`` and ``facefarm catalog resolve`` and differ only at the
edges: a catalog may be a path, a shipped catalog's name ("default"), a dict or a
:class:`~facefarm.catalog.Catalog`; bad input raises an exception that says what to change instead of
printing and exiting; success returns objects (the loaded :class:`~facefarm.dataset.loader.Dataset`,
a :class:`~facefarm.catalog.ResolvedSample`).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from facefarm.catalog import Catalog, CatalogError, ResolvedSample
from facefarm.catalog import resolve as resolve_sample
from facefarm.catalog.overrides import Override, overrides_from
from facefarm.catalog.vocabulary import BACKEND_NAMES
from facefarm.cli import render as render_cli
from facefarm.cli.main import build_parser
from facefarm.dataset.loader import Dataset, load
from facefarm.paths import CATALOGS

#: Catalog overrides as the API takes them: ``{"render.resolution": [128, 128]}``, or ``--set`` strings.
Overrides = Mapping[str, Any] | Iterable[str | Override] | None


class RenderError(RuntimeError):
    """``facefarm.render`` stopped (exit status 1 of the command line), or some samples failed.

    ``failed`` lists the failed samples as dataset.json does (``sample_id``, ``reason``) when the run
    finished with failures (exit status 2); ``output`` is what the run printed.
    """

    def __init__(self, message: str, output: str = "", failed: list[dict] | None = None):
        super().__init__(message)
        self.output = output
        self.failed = list(failed or [])


def _catalog_source(catalog) -> str | dict:
    """What ``check_catalog`` reads: a path (str), or a dict."""
    if isinstance(catalog, Catalog):
        return catalog.model_dump(mode="json")
    if isinstance(catalog, dict):
        return catalog
    if isinstance(catalog, (str, os.PathLike)):
        path = Path(catalog)
        if not path.exists() and (CATALOGS / f"{catalog}.json").exists():
            return str(CATALOGS / f"{catalog}.json")  # a shipped catalog by name
        return str(path)
    raise TypeError(
        f"catalog must be a path, a shipped catalog's name, a dict or a Catalog (got {type(catalog).__name__})"
    )


def _label(source) -> str:
    return source if isinstance(source, str) else "catalog"


def catalog_for(catalog, overrides: Overrides = None, n: int | None = None) -> Catalog:
    """The validated catalog (asset ids included, as ``facefarm render`` checks them), ``overrides``
    applied (see :func:`render`), its plan checked for ``n`` samples (default: its ``size``); raises
    CatalogError."""
    source = _catalog_source(catalog)
    n = n if isinstance(n, int) and not isinstance(n, bool) and n >= 1 else None  # a bad n: render says so
    cat, problems = render_cli.load_checked(source, n=n, overrides=overrides_from(overrides))
    if problems:
        raise CatalogError(problems, _label(source))
    return cat


def resolve(
    catalog, seed: int = 0, index: int = 0, n: int | None = None, *, overrides: Overrides = None
) -> ResolvedSample:
    """Every attribute value of sample ``index`` of the dataset (``catalog``, ``seed``), as rendering draws them.

    Pure and fast (no rendering): ``facefarm.resolve("default", 0, 7).head_pose.yaw_deg``. ``n`` (the
    dataset size) matters only for catalogs with strata or quotas; it defaults to the catalog's ``size``.
    ``overrides`` as for :func:`render`. Raises CatalogError for a bad catalog, ResolveError for bad
    arguments or impossible rules.
    """
    return resolve_sample(catalog_for(catalog, overrides, n), seed, index, n)


class _Tee(io.TextIOBase):
    """Writes to a buffer and, unless quiet, to the stream it stands in for."""

    def __init__(self, stream, quiet: bool):
        self.stream, self.quiet, self.buffer = stream, quiet, io.StringIO()

    def write(self, text: str) -> int:
        self.buffer.write(text)
        if not self.quiet:
            self.stream.write(text)
        return len(text)

    def flush(self) -> None:
        if not self.quiet:
            self.stream.flush()

    def isatty(self) -> bool:  # the progress bar redraws in place on a terminal
        return not self.quiet and self.stream.isatty()


def render(
    catalog,
    n: int | None,
    out: str | os.PathLike,
    *,
    seed: int = 0,
    limit: int | None = None,
    backend: str | None = None,
    ray: bool = False,
    workers: int | None = None,
    address: str | None = None,
    max_retries: int = 2,
    overwrite: bool = False,
    exports: bool = True,
    datasheet: bool = True,
    quiet: bool = True,
    overrides: Overrides = None,
) -> Dataset:
    """Render ``n`` samples of ``catalog`` into ``out`` exactly as ``facefarm render`` does; returns the dataset.

    ``n=None`` takes the catalog's ``size`` (else 16); ``out`` is a folder or an fsspec URL.
    Resumable: run it again and only missing samples are rendered. ``limit=k`` renders only ``k`` of the
    ``n`` planned samples (``--limit``: the first ``k`` of the plan's balanced order, the same ids and
    images as the full dataset's); call again with a larger ``limit``, or none, to grow it in place.
    ``ray=False`` (the default here)
    renders in this process (``--no-ray``); ``ray=True`` starts a private local Ray (``workers``) or joins
    ``address``, like the command line. ``quiet=False`` shows the progress bar and messages.
    ``overrides`` set catalog fields by dotted path, as ``--set`` does: ``{"render.resolution": [128, 128]}``
    or ``["render.resolution=[128,128]"]``; the overridden catalog is validated and hashed as a whole.

    Raises CatalogError (bad catalog), ValueError (bad n / seed / retries, quotas impossible for this n),
    RenderError (the run stopped, e.g. ``out`` holds another job: pass ``overwrite=True``; or samples
    failed: ``.failed``), KeyboardInterrupt (interrupted: call again to finish).
    """
    source = _catalog_source(catalog)
    changes = overrides_from(overrides)
    cat = catalog_for(source, changes, n)
    n = n if n is not None else (cat.size or 16)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1 (got {n!r})")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0 (got {seed!r})")
    if max_retries < 0:
        raise ValueError(f"max_retries must be >= 0 (got {max_retries})")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= n):
        raise ValueError(f"limit must be an integer between 1 and n ({n}) (got {limit!r})")
    if backend is not None and backend not in BACKEND_NAMES:
        raise ValueError(f"backend must be one of {', '.join(BACKEND_NAMES)} (got {backend!r})")
    problem = render_cli.plan_problem(cat, seed, n)
    if problem:
        raise ValueError(f"{_label(source)} with n={n}: {problem}")
    argv = [
        "render",
        "catalog",
        "-o",
        os.fspath(out),
        "-n",
        str(n),
        "--seed",
        str(seed),
        "--max-retries",
        str(max_retries),
    ]
    argv += ["--limit", str(limit)] if limit is not None else []
    argv += ["--backend", backend] if backend else []
    argv += [] if ray else ["--no-ray"]
    argv += ["--workers", str(workers)] if workers is not None else []
    argv += ["--address", address] if address else []
    argv += ["--overwrite"] if overwrite else []
    argv += [] if exports else ["--no-exports"]
    argv += [] if datasheet else ["--no-datasheet"]
    argv += ["--quiet"] if quiet else []
    args = build_parser().parse_args(argv)
    args.spec = source  # the command line's loader takes a dict as well as a path
    args.overrides = changes
    stdout, stderr = _Tee(sys.stdout, quiet), _Tee(sys.stderr, quiet)
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = render_cli.run(args)
    printed = stdout.buffer.getvalue() + stderr.buffer.getvalue()
    if status >= 128:  # stopped by Ctrl-C, SIGTERM or SIGHUP (130, 143, 129)
        raise KeyboardInterrupt(f"render into {out} interrupted; call facefarm.render again to finish")
    if status == render_cli.EXIT_ERROR:
        errors = [
            line.split("error: ", 1)[1]
            for line in stderr.buffer.getvalue().splitlines()
            if line.startswith("facefarm render: error: ")
        ]
        raise RenderError("; ".join(errors) or printed.strip() or f"render into {out} failed", printed)
    dataset = load(render_cli.output_root(os.fspath(out)))
    if status == render_cli.EXIT_FAILED:
        failed = dataset.header.get("failed", [])
        raise RenderError(
            f"{len(failed)} of {limit or n} samples failed in {out} (see .failed; rendering again retries them)",
            printed,
            failed,
        )
    return dataset
