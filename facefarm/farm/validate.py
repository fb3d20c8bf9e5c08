"""Every check a catalog passes before anything renders, in one place.

``facefarm catalog validate`` and ``facefarm render`` both call :func:`validate_spec`, so a catalog
the validator accepts is one render accepts, and the other way round. The checks: the catalog's
own (schema, cross-field rules), the asset ids this installation can build (built-in ids, valid
user assets, HDRI folders, the head model's identity details), the dataset size against quotas
and strata, and a probe that resolves the first samples (proves the sampling plan can be built
and the rules can be met). Nothing here raises for bad input: problems come back as a list, each
at a JSON path with what to change.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from facefarm.catalog import Catalog, CatalogError, Problem, ResolveError, check_catalog, resolve, validate_asset_ids
from facefarm.catalog.checks import quota_problems
from facefarm.catalog.overrides import Override, blame
from facefarm.catalog.vocabulary import MAX_SAMPLES
from facefarm.compose.user_assets import known_asset_ids
from facefarm.head import asset as head_asset
from facefarm.scene.environment import available_hdris

#: Samples resolved to prove the plan can be built and the rules can be met.
PROBE_SAMPLES = 16


def head_detail_names() -> set[str] | None:
    """The identity details of the compiled head asset (read from its metadata, no arrays
    loaded), or None when the asset is not built yet."""
    _npz, meta = head_asset.asset_paths(head_asset.input_hash())
    try:
        params = json.loads(meta.read_text())["identity_parameters"]
    except (OSError, ValueError, KeyError):
        return None
    return {str(p["name"]) for p in params}


def known_assets(extra: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
    """Asset kind -> every id this installation can build: built-ins, valid user assets, HDRIs
    found in the HDRI folders, the head model's details (when its asset is built), plus ``extra``."""
    known = {k: set(v) for k, v in known_asset_ids().items()}
    known.setdefault("hdri", set()).update(available_hdris())
    details = head_detail_names()
    if details is not None:
        known["detail"] = details
    for kind, ids in (extra or {}).items():
        known.setdefault(kind, set()).update(ids)
    return known


def validate_spec(
    spec: str | Path | dict,
    n: int | None = None,
    seed: int = 0,
    extra_assets: dict[str, set[str]] | None = None,
    overrides: Sequence[Override] = (),
) -> tuple[Catalog | None, list[Problem]]:
    """(catalog, []) when ``spec``, with ``overrides`` applied (``--set``), can be rendered with ``n``
    samples (default: the catalog's size), else (None, problems)."""
    catalog, problems = check_catalog(spec, overrides)
    if catalog is None:
        return None, problems
    catalog, problems = _checked(catalog, n, seed, extra_assets)
    return catalog, blame(problems, overrides)


def _checked(
    catalog: Catalog, n: int | None, seed: int, extra_assets: dict[str, set[str]] | None
) -> tuple[Catalog | None, list[Problem]]:
    """The checks beyond the catalog's own: asset ids, N against quotas and strata, a probe of the plan."""
    problems = validate_asset_ids(catalog, known_assets(extra_assets))
    if n is None:
        n = catalog.size
    if n is not None and not 1 <= n <= MAX_SAMPLES:
        problems.append(
            Problem(
                "$.size",
                f"N must be within 1..{MAX_SAMPLES:,} (got {n:,}); split a larger "
                "dataset into several runs with different seeds",
            )
        )
        n = None
    if n is not None:
        problems += quota_problems(catalog, n)
    if not problems:
        try:
            for i in range(min(PROBE_SAMPLES, n or PROBE_SAMPLES)):
                resolve(catalog, seed, i, n)
        except CatalogError as e:
            problems += e.problems or [Problem("$.sampling", str(e))]
        except ResolveError as e:
            problems.append(Problem("$.sampling", f"{e}"))
    return (None, problems) if problems else (catalog, [])
