"""Checks that span several fields of a validated catalog (names that must exist elsewhere,
strata and quotas that must be satisfiable), and the asset-id check against a caller's list."""

from __future__ import annotations

import difflib
import itertools
import math
from typing import Any, Iterable

from facefarm.catalog.attributes import (
    ATTRIBUTES,
    BoolLevel,
    ChoiceLevel,
    Level,
    RangeLevel,
    all_presets,
    factor_levels,
    to_level,
)
from facefarm.catalog.problems import Problem, json_path
from facefarm.catalog.vocabulary import DEFAULT_DETAIL_NAMES

#: The catalog these functions read: a validated ``facefarm.catalog.spec.Catalog``. Typed loosely
#: because spec.py's own validator calls these checks, and spec.py sits above this module.
Catalog = Any


def _choice_paths(dist: Any, base: str) -> list[tuple[str, str]]:
    """(label, JSON path of where it is written) for every label of a ChoiceDist."""
    if dist.kind == "fixed":
        return [(dist.value, base)]
    return [(k, _key(f"{base}.weights", k)) for k in dist.weights]


def _key(base: str, key: str) -> str:
    """``base`` extended by a dict key, quoted when it is not an identifier."""
    return base + json_path([key])[1:]


def covers(outer: Level, inner: Level) -> bool:
    """True if every value matching ``inner`` also matches ``outer``."""
    if isinstance(outer, ChoiceLevel) and isinstance(inner, ChoiceLevel):
        return inner.labels <= outer.labels
    if isinstance(outer, BoolLevel) and isinstance(inner, BoolLevel):
        return outer.value == inner.value
    if isinstance(outer, RangeLevel) and isinstance(inner, RangeLevel):
        return outer.lo <= inner.lo and (
            inner.hi < outer.hi or (inner.hi == outer.hi and (outer.closed or not inner.closed))
        )
    return False


def excluded(rules: Iterable[dict[str, Level]], levels: dict[str, Level]) -> int | None:
    """Index of the first exclude rule that every sample with ``levels`` would match, else None."""
    for i, rule in enumerate(rules):
        if all(a in levels and covers(lv, levels[a]) for a, lv in rule.items()):
            return i
    return None


def detail_names(cat: "Catalog") -> tuple[str, ...]:
    return tuple(cat.identity.detail_names) if cat.identity.detail_names is not None else DEFAULT_DETAIL_NAMES


def _levels(cat: "Catalog", where: dict, path: str, out: list[Problem]) -> dict[str, Level] | None:
    levels: dict[str, Level] = {}
    ok = True
    for attr, raw in where.items():
        try:
            levels[attr] = to_level(cat, attr, raw)
        except ValueError as e:
            out.append(Problem(_key(path, attr), str(e)))
            ok = False
    return levels if ok else None


def exclude_rules(cat: "Catalog") -> list[tuple[int, dict[str, Level]]]:
    """(constraint index, levels) of every ``exclude`` constraint whose levels are valid."""
    rules = []
    for i, c in enumerate(cat.sampling.constraints):
        if c.exclude is not None:
            lv = _levels(cat, c.exclude, "", [])
            if lv is not None:
                rules.append((i, lv))
    return rules


def quota_amounts(cat: "Catalog", n_total: int) -> list[int]:
    """Samples each quota row asks for out of ``n_total`` (fractions rounded half up)."""
    return [
        q.count if q.count is not None else int(math.floor(q.fraction * n_total + 0.5)) for q in cat.sampling.quotas
    ]


def quota_problems(cat: "Catalog", n_total: int) -> list[Problem]:
    """Problems of the quotas for a dataset of ``n_total`` samples."""
    out: list[Problem] = []
    amounts = quota_amounts(cat, n_total)
    ipi = cat.identity.images_per_identity
    if sum(amounts) > n_total:
        out.append(
            Problem(
                "$.sampling.quotas",
                f"impossible quota: the rows ask for {sum(amounts)} samples but N is "
                f"{n_total}; lower the counts/fractions or raise N",
            )
        )
    if (
        ipi > 1
        and n_total % ipi
        and any(any(ATTRIBUTES[a].scope == "identity" for a in q.where) for q in cat.sampling.quotas)
    ):
        out.append(
            Problem(
                "$.sampling.quotas",
                f"impossible quota: N ({n_total}) must be a multiple of "
                f"identity.images_per_identity ({ipi}) when quotas name identity attributes",
            )
        )
    for i, (q, k) in enumerate(zip(cat.sampling.quotas, amounts)):
        if ipi > 1 and any(ATTRIBUTES[a].scope == "identity" for a in q.where) and k % ipi:
            field = "count" if q.count is not None else "fraction"
            out.append(
                Problem(
                    f"$.sampling.quotas[{i}].{field}",
                    f"impossible quota: {k} samples is not a whole number of identities of "
                    f"{ipi} images (it names identity attributes); use a multiple of {ipi}",
                )
            )
    return out


def cross_field_problems(cat: "Catalog") -> list[Problem]:
    """Every cross-field problem of a catalog that passed field validation."""
    out: list[Problem] = []
    anc = cat.ancestry
    tax_labels = set(anc.taxonomy.labels)
    for label in anc.labels or {}:
        if label not in tax_labels:
            out.append(
                Problem(
                    _key("$.ancestry.labels", label),
                    f"label {label!r} is not in the taxonomy (labels: {', '.join(sorted(tax_labels))}); "
                    f"fix the name or add it to the taxonomy",
                )
            )
    n_labels = len(anc.labels or tax_labels)
    if anc.mixed_probability > 0 and n_labels < 2:
        out.append(
            Problem(
                "$.ancestry.mixed_probability",
                "mixing needs at least 2 labels; set mixed_probability to 0 or add labels",
            )
        )

    names = detail_names(cat)
    for name in cat.identity.detail_overrides:
        if name not in names:
            out.append(
                Problem(
                    _key("$.identity.detail_overrides", name),
                    f"{name!r} is not in the detail names; add it to identity.detail_names or fix it",
                )
            )
    k = cat.identity.details_per_identity
    if k is not None and k > len(names):
        out.append(
            Problem(
                "$.identity.details_per_identity",
                f"{k} is more than the {len(names)} detail names; lower it or add names",
            )
        )

    presets = all_presets(cat)
    for label, path in _choice_paths(cat.expression.presets, "$.expression.presets"):
        if label not in presets:
            out.append(
                Problem(
                    path,
                    f"unknown expression preset {label!r}; use one of {', '.join(sorted(presets))} "
                    f"or define it in expression.custom_presets",
                )
            )

    out += _sampling_problems(cat)
    if cat.size is not None:
        out += quota_problems(cat, cat.size)
    return out


def _sampling_problems(cat: "Catalog") -> list[Problem]:
    out: list[Problem] = []
    s = cat.sampling
    if s.mode == "stratified" and not s.stratify_by:
        out.append(
            Problem(
                "$.sampling.stratify_by",
                "stratified mode needs at least one factor; add one "
                '(e.g. {"attribute": "ancestry"}) or use mode "independent"',
            )
        )
    if s.mode == "independent" and s.stratify_by:
        out.append(
            Problem(
                "$.sampling.mode",
                'stratify_by is only used in stratified mode; set mode to "stratified" or remove stratify_by',
            )
        )
    seen: set[str] = set()
    factors_ok = True
    for i, f in enumerate(s.stratify_by):
        path = f"$.sampling.stratify_by[{i}]"
        a = ATTRIBUTES[f.attribute]
        if f.attribute in seen:
            out.append(Problem(f"{path}.attribute", f"{f.attribute} is stratified twice; keep one factor"))
            factors_ok = False
        seen.add(f.attribute)
        if a.kind == "range":
            if f.bands is None:
                out.append(
                    Problem(
                        path,
                        f"{f.attribute} is numeric: give named bands, e.g. "
                        f'"bands": {{"low": [{a.bounds[0]:g}, x], "high": [x, {a.bounds[1]:g}]}}',
                    )
                )
                factors_ok = False
            if f.levels is not None:
                out.append(Problem(f"{path}.levels", f"{f.attribute} is numeric: use bands, not levels"))
                factors_ok = False
            for name, (lo, hi) in (f.bands or {}).items():
                if not lo < hi:
                    out.append(
                        Problem(
                            _key(f"{path}.bands", name),
                            f"band [{lo:g}, {hi:g}] is empty: the first number must be below the second",
                        )
                    )
                    factors_ok = False
                elif lo < a.bounds[0] or hi > a.bounds[1]:
                    out.append(
                        Problem(
                            _key(f"{path}.bands", name),
                            f"band [{lo:g}, {hi:g}] goes outside {f.attribute}'s "
                            f"range {a.bounds[0]:g}..{a.bounds[1]:g}",
                        )
                    )
                    factors_ok = False
            if f.bands and factors_ok:
                spans = sorted(f.bands.values())
                for (lo1, hi1), (lo2, hi2) in zip(spans, spans[1:]):
                    if lo2 < hi1:
                        out.append(
                            Problem(
                                f"{path}.bands",
                                f"bands [{lo1:g}, {hi1:g}] and [{lo2:g}, {hi2:g}] overlap; "
                                f"a sample must fall in one band",
                            )
                        )
                        factors_ok = False
        else:
            if f.bands is not None:
                out.append(Problem(f"{path}.bands", f"{f.attribute} is not numeric: use levels, not bands"))
                factors_ok = False
            for j, lv in enumerate(f.levels or []):
                try:
                    to_level(cat, f.attribute, lv)
                except ValueError as e:
                    out.append(Problem(f"{path}.levels[{j}]", str(e)))
                    factors_ok = False

    rules = []
    for i, c in enumerate(s.constraints):
        path = f"$.sampling.constraints[{i}]"
        if c.exclude is not None:
            lv = _levels(cat, c.exclude, f"{path}.exclude", out)
            if lv is not None:
                rules.append((i, lv))
        else:
            when = _levels(cat, c.force.when, f"{path}.force.when", out)
            then = _levels(cat, c.force.then, f"{path}.force.then", out)
            for attr in set(c.force.when) & set(c.force.then):
                out.append(
                    Problem(
                        f"{path}.force.then.{attr}",
                        f"{attr} is both tested (when) and set (then); a rule may not force what it tests",
                    )
                )
            if when is not None and then is not None and any(ATTRIBUTES[a].scope == "image" for a in when):
                for attr in then:
                    if ATTRIBUTES[attr].scope == "identity":
                        out.append(
                            Problem(
                                f"{path}.force.then.{attr}",
                                f"{attr} is drawn once per identity, so it cannot depend on per-image "
                                f"attributes in when ({', '.join(a for a in when if ATTRIBUTES[a].scope == 'image')})",
                            )
                        )

    for i, q in enumerate(s.quotas):
        lv = _levels(cat, q.where, f"$.sampling.quotas[{i}].where", out)
        if lv is None:
            continue
        hit = excluded([r for _, r in rules], lv)
        if hit is not None:
            out.append(
                Problem(
                    f"$.sampling.quotas[{i}].where",
                    f"impossible quota: every sample it asks for is excluded by "
                    f"$.sampling.constraints[{rules[hit][0]}]; drop one of the two",
                )
            )
    fractions = sum(q.fraction for q in s.quotas if q.fraction is not None)
    if fractions > 1.0 + 1e-9:
        out.append(Problem("$.sampling.quotas", f"impossible quota: fractions add up to {fractions:g} > 1"))

    if s.mode == "stratified" and s.stratify_by and factors_ok:
        axes = [factor_levels(cat, f) for f in s.stratify_by]
        attrs = [f.attribute for f in s.stratify_by]
        cells = [dict(zip(attrs, combo)) for combo in itertools.product(*axes)]
        alive = [c for c in cells if excluded([r for _, r in rules], c) is None]
        if not alive:
            out.append(
                Problem(
                    "$.sampling.constraints", "the exclude rules remove every stratum cell; relax a rule or add levels"
                )
            )
    return out


def asset_problems(cat: "Catalog", known: dict[str, set[str]]) -> list[Problem]:
    """Asset ids the catalog uses that are not in ``known`` (kind -> ids).

    Kinds: ``hdri``, ``hair_style`` (the style tables and the keys of ``hair.age_ramps_years``),
    ``glasses``, ``clothing``, ``headwear``, ``detail`` (the head model's identity details named
    in ``identity.detail_names``); a kind missing from ``known`` is not checked.
    """
    used: list[tuple[str, Any, str]] = [
        ("hdri", cat.lighting.hdri, "$.lighting.hdri"),
        ("hair_style", cat.hair.styles, "$.hair.styles"),
        ("glasses", cat.glasses.families, "$.glasses.families"),
        ("clothing", cat.clothing.ids, "$.clothing.ids"),
        ("headwear", cat.headwear.ids, "$.headwear.ids"),
    ]
    if cat.hair.styles_male is not None:
        used.append(("hair_style", cat.hair.styles_male, "$.hair.styles_male"))
    out = []
    for kind, dist, base in used:
        if kind not in known:
            continue
        ids = set(known[kind])
        for label, path in _choice_paths(dist, base):
            if label not in ids:
                out.append(Problem(path, f"unknown {kind} id {label!r}; known ids: {', '.join(sorted(ids))}"))
    styles = set(known.get("hair_style", ()))
    for style in cat.hair.age_ramps_years if "hair_style" in known else ():
        if style not in styles:
            out.append(
                Problem(
                    _key("$.hair.age_ramps_years", style),
                    f"unknown hair_style id {style!r}; known ids: {', '.join(sorted(styles))}",
                )
            )
    if "detail" in known and cat.identity.detail_names is not None:
        details = set(known["detail"])
        for i, name in enumerate(cat.identity.detail_names):
            if name not in details:
                close = difflib.get_close_matches(name, sorted(details), n=3)
                hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
                out.append(
                    Problem(
                        f"$.identity.detail_names[{i}]",
                        f"{name!r} is not a detail of the head model; {hint}"
                        f"`facefarm catalog details` lists all {len(details)}",
                    )
                )
    return out
