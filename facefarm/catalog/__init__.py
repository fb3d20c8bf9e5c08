"""Catalog specs (pydantic schemas) and the deterministic sampler. Pure data: no IO beyond reading a spec.

Public API::

    from facefarm.catalog import load_catalog, catalog_hash, resolve, validate_asset_ids
    cat = load_catalog("facefarm/assets/catalogs/default.json")        # raises CatalogError(problems)
    sample = resolve(cat, seed=0, index=9999, n_total=10000)  # ResolvedSample, pure
    sample.model_dump(mode="json")
"""

from facefarm.catalog.checks import detail_names
from facefarm.catalog.load import (
    canonical_json,
    catalog_hash,
    catalog_json_schema,
    check_catalog,
    load_catalog,
    validate_asset_ids,
)
from facefarm.catalog.problems import CatalogError, Problem
from facefarm.catalog.resolve import ResolveError, attribute_value, resolve
from facefarm.catalog.resolved import ResolvedSample
from facefarm.catalog.rng import SAMPLER_VERSION
from facefarm.catalog.spec import CATALOG_VERSION, Catalog
from facefarm.catalog.vocabulary import DEFAULT_KNOWN_ASSETS

__all__ = [
    "CATALOG_VERSION",
    "Catalog",
    "CatalogError",
    "DEFAULT_KNOWN_ASSETS",
    "Problem",
    "ResolveError",
    "ResolvedSample",
    "SAMPLER_VERSION",
    "attribute_value",
    "canonical_json",
    "catalog_hash",
    "catalog_json_schema",
    "check_catalog",
    "detail_names",
    "load_catalog",
    "resolve",
    "validate_asset_ids",
]
