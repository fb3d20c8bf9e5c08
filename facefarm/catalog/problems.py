"""Problems found in a catalog, each at a JSON path with a message saying what to change.

Pydantic's errors are translated here: the location loses pydantic's internal union tags
(``age.uniform.max`` -> ``$.age.max``) and the message gets a suggestion.
"""

from __future__ import annotations

import difflib
import re
import typing
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from pydantic import BaseModel, ValidationError

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a catalog: ``path`` like ``$.age.max``, ``message`` says what to change."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class CatalogError(ValueError):
    """A catalog could not be loaded; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem], source: str = "catalog"):
        self.problems = list(problems)
        self.source = source
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s)\n{lines}")


def json_path(loc: Iterable[Any]) -> str:
    """``("sampling", "quotas", 0, "where")`` -> ``$.sampling.quotas[0].where``."""
    out = "$"
    for el in loc:
        if isinstance(el, int):
            out += f"[{el}]"
        elif _IDENT.match(str(el)):
            out += f".{el}"
        else:
            out += '["' + str(el).replace('"', '\\"') + '"]'
    return out


_TAGS = {"fixed", "uniform", "normal", "truncnormal", "categorical"}


def _clean_loc(loc: tuple, data: Any) -> tuple[tuple, tuple]:
    """Drop pydantic's union/validator tags from ``loc`` by following the input ``data``.

    Returns ``(path in data, rest)``; ``rest`` is non-empty when the error lies inside a
    file the data only names (a taxonomy reference), as the location inside that file.
    """
    out: list[Any] = []
    cur = data
    for i, el in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(cur, list):
            if isinstance(el, int):
                out.append(el)
                cur = cur[el] if 0 <= el < len(cur) else None
            continue
        if isinstance(cur, dict):
            if el in cur:
                out.append(el)
                cur = cur[el]
            elif last and not str(el).startswith(("function-", "[")):
                out.append(el)  # a missing or unknown key
            continue
        rest = ()
        if isinstance(cur, str) and out and out[-1] == "taxonomy":
            rest = tuple(x for x in loc[i:] if not (isinstance(x, str) and (x in _TAGS or "[" in x)))
        return tuple(out), rest  # a scalar: the error is about the value itself
    return tuple(out), ()


def _field_vocabulary(model: type[BaseModel], prefix: str = "$", seen: frozenset = frozenset()) -> dict[str, list[str]]:
    """Every field name reachable from ``model`` -> the JSON paths where it is allowed
    (for "did you mean" suggestions)."""
    if model in seen:
        return {}
    names: dict[str, list[str]] = {}
    for name, f in model.model_fields.items():
        path = f"{prefix}.{name}"
        names.setdefault(name, []).append(path)
        for t in _models_in(f.annotation):
            for sub, paths in _field_vocabulary(t, path, seen | {model}).items():
                names.setdefault(sub, []).extend(paths)
    return names


def _models_in(tp: Any) -> list[type[BaseModel]]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return [m for arg in typing.get_args(tp) for m in _models_in(arg)]


_TYPE_WORDS = {
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "dict_type": "an object {...}",
    "model_type": "an object {...}",
    "model_attributes_type": "an object {...}",
    "list_type": "a list [...]",
    "tuple_type": "a list [...]",
}


class _Hidden:
    """Stands for a value read from a file the catalog names: messages never echo file contents."""

    def __repr__(self) -> str:
        return "a value from that file"


def _message(err: Mapping[str, Any], vocabulary: dict[str, list[str]], from_file: bool = False) -> str:
    t = err["type"]
    ctx = err.get("ctx") or {}
    got = _Hidden() if from_file else err.get("input")
    loc = err.get("loc") or ()
    name = str(loc[-1]) if loc else ""
    if from_file and t == "extra_forbidden":
        return "unknown field: remove it or fix its name"
    if t == "extra_forbidden":
        if name in vocabulary:  # a real field, in another section
            where = sorted(set(vocabulary[name]), key=len)[:2]
            return f"{name!r} does not belong here: move it to {' or '.join(where)}"
        close = difflib.get_close_matches(name, sorted(vocabulary), n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown field {name!r}: remove it or fix its name{hint}"
    if t == "missing" and loc and isinstance(loc[-1], int):
        return f"entry [{loc[-1]}] is missing: this list needs more values"
    if t == "missing":
        if name == "catalog_version":
            return 'required field "catalog_version" is missing: add "catalog_version": 1'
        return f"required field {name!r} is missing: add it"
    if t == "literal_error":
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        if len(expected) > 8:
            close = difflib.get_close_matches(str(got), expected, n=3, cutoff=0.6)
            hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
            return f"{got!r} is not allowed here; {hint}({len(expected)} names are allowed, e.g. {', '.join(map(repr, expected[:4]))}, ...)"
        return f"{got!r} is not allowed here; use one of {ctx.get('expected')}"
    if t == "union_tag_invalid":
        return f"kind {ctx.get('tag')!r} is unknown; use one of {ctx.get('expected_tags')}"
    if t == "union_tag_not_found":
        return (
            'missing "kind": write a bare value, or an object with "kind" '
            "(fixed, uniform, normal, truncnormal or categorical)"
        )
    if t in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[t]} here (got {_short(got)})"
    if t == "finite_number":
        return "must be a finite number (no NaN or Infinity)"
    if t in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[t]
        bound = next(iter(ctx.values()), "?")
        return f"must be {op} {bound} (got {_short(got)})"
    if t == "too_short":
        return f"needs at least {ctx.get('min_length')} entr{'y' if ctx.get('min_length') == 1 else 'ies'}"
    if t == "too_long":
        return f"has too many entries (at most {ctx.get('max_length')})"
    if t == "string_pattern_mismatch":
        if "#[0-9a-fA-F]{6}" in str(ctx.get("pattern", "")):
            return f"expected a colour '#rrggbb' (got {_short(got)})"
        return f"must match {ctx.get('pattern')} (got {_short(got)})"
    msg = str(err.get("msg", t))
    if from_file and "got" in ctx:  # our own errors quote the value: not when it came from a file
        msg = msg.replace(str(ctx["got"]), repr(got))
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _short(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


def problems_from_validation_error(exc: ValidationError, data: Any, root: type[BaseModel]) -> list[Problem]:
    """Translate a pydantic ValidationError on ``data`` into Problems (deduplicated, merged).

    Several errors at one path from the branches of a union (``"glasses": 3`` is neither a
    bool nor a label) are merged into one "expected X or Y" problem.
    """
    vocabulary = _field_vocabulary(root)
    by_path: dict[str, list[tuple[str, str]]] = {}
    for err in exc.errors(include_url=False):
        loc, rest = _clean_loc(tuple(err["loc"]), data)
        message = _message(err, vocabulary, from_file=bool(rest))
        if rest:
            if err["type"] == "extra_forbidden":  # the key itself is the file's content: name its parent
                rest = rest[:-1]
            where = f", at {json_path(rest)[2:]}" if rest else ""
            message = f"in the taxonomy file it names{where}: {message}"
        by_path.setdefault(json_path(loc), []).append((err["type"], message))
    problems = []
    for path, items in by_path.items():
        type_errs = [t for t, _ in items if t in _TYPE_WORDS]
        if len(items) > 1 and len(type_errs) == len(items):
            words = sorted({_TYPE_WORDS[t] for t in type_errs})
            problems.append(Problem(path, f"expected {' or '.join(words)} here"))
            continue
        seen = set()
        for t, m in items:
            # Drop the type mismatches of union branches when another branch says more.
            if t in _TYPE_WORDS and len(items) > len(type_errs):
                continue
            if m not in seen:
                seen.add(m)
                problems.append(Problem(path, m))
    return problems
