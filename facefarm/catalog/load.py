"""Loading a catalog spec (file, JSON text or dict), its hash, its JSON Schema, asset-id checks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from facefarm.catalog.checks import asset_problems, cross_field_problems
from facefarm.catalog.overrides import Override, apply_overrides, blame
from facefarm.catalog.problems import CatalogError, Problem, json_path, problems_from_validation_error
from facefarm.catalog.spec import Catalog


class _DuplicateKeys(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    keys = [k for k, _ in pairs]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise _DuplicateKeys(", ".join(repr(k) for k in dup))
    return dict(pairs)


#: Deepest nesting of arrays and objects a catalog may have (the language needs about 8).
MAX_JSON_DEPTH = 64


def _depth(text: str) -> int:
    """The deepest nesting of [ and { in JSON text, outside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _lone_surrogate(value: Any, path: list) -> list | None:
    """The JSON path of the first string (key or value) holding a lone UTF-16 surrogate, else None."""
    if isinstance(value, str):
        return path if any("\ud800" <= ch <= "\udfff" for ch in value) else None
    if isinstance(value, dict):
        for k, v in value.items():
            if any("\ud800" <= ch <= "\udfff" for ch in k):
                return path + [k.encode("utf-8", "replace").decode()]
            found = _lone_surrogate(v, path + [k])
            if found is not None:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = _lone_surrogate(v, path + [i])
            if found is not None:
                return found
    return None


def parse_json(text: str) -> tuple[Any, list[Problem]]:
    """Parse JSON text; malformed JSON becomes a Problem with line and column, and so do JSON
    nested deeper than :data:`MAX_JSON_DEPTH` and strings that are not valid Unicode."""
    if _depth(text) > MAX_JSON_DEPTH:
        return None, [
            Problem(
                "$",
                f"JSON nested more than {MAX_JSON_DEPTH} levels deep; a catalog needs far "
                "fewer: check for runaway brackets",
            )
        ]
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as e:
        return None, [Problem("$", f"malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}; fix the syntax")]
    except _DuplicateKeys as e:
        return None, [Problem("$", f"duplicate key {e} in one object; keep only one")]
    except RecursionError:
        return None, [Problem("$", f"JSON nested too deeply; a catalog needs at most {MAX_JSON_DEPTH} levels")]
    bad = _lone_surrogate(data, [])
    if bad is not None:
        return None, [
            Problem(
                json_path(bad),
                "a string holds a lone UTF-16 surrogate (\\ud800-\\udfff), which "
                "is not valid Unicode; fix or remove the escape",
            )
        ]
    return data, []


def check_catalog(
    source: str | Path | dict, overrides: Sequence[Override] = ()
) -> tuple[Catalog | None, list[Problem]]:
    """Validate a catalog from a path, a ``dict``, and report every problem.

    ``overrides`` (:mod:`facefarm.catalog.overrides`) replace values of the spec's JSON before it is
    validated; a problem they cause names them. Returns ``(catalog, [])`` or ``(None, problems)``;
    never raises for bad input.
    """
    base_dir = None
    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            return None, [Problem("$", f"cannot read {path}: {e.strerror if isinstance(e, OSError) else e}")]
        data, problems = parse_json(text)
        if problems:
            return None, problems
        base_dir = path.resolve().parent
    if not isinstance(data, dict):
        return None, [Problem("$", f"a catalog is a JSON object {{...}}, not {type(data).__name__}")]
    if overrides:
        data, problems = apply_overrides(data, overrides)
        if problems:
            return None, problems
    context = {"base_dir": base_dir, "defer_cross_checks": True}
    try:
        cat = Catalog.model_validate(data, context=context)
    except ValidationError as e:
        return None, blame(problems_from_validation_error(e, data, Catalog), overrides)
    problems = blame(cross_field_problems(cat), overrides)
    return (None, problems) if problems else (cat, [])


def load_catalog(source: str | Path | dict) -> Catalog:
    """A validated :class:`Catalog` from a spec file path or a dict; raises :class:`CatalogError`."""
    cat, problems = check_catalog(source)
    if problems:
        raise CatalogError(problems, str(source) if not isinstance(source, dict) else "catalog")
    assert cat is not None  # no problems: a catalog
    return cat


def canonical_json(catalog: Catalog) -> str:
    """The catalog's canonical JSON: every default filled in, keys sorted, no whitespace."""
    return json.dumps(
        catalog.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def catalog_hash(catalog: Catalog) -> str:
    """SHA-256 (hex) of :func:`canonical_json`: equal for equal catalogs, in any process."""
    return hashlib.sha256(canonical_json(catalog).encode("utf-8")).hexdigest()


def validate_asset_ids(catalog: Catalog, known: dict[str, set[str]]) -> list[Problem]:
    """Asset ids the catalog uses that ``known`` (kind -> ids; kinds ``hdri``, ``hair_style``,
    ``glasses``, ``clothing``, ``headwear``) does not list. Kinds absent from ``known`` are skipped."""
    return asset_problems(catalog, known)


def catalog_json_schema() -> dict:
    """The JSON Schema of catalog specs, generated from the models."""
    schema = Catalog.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/facefarm/facefarm/assets/schema/catalog.schema.json"
    return schema
