"""Overrides of catalog fields by dotted path (``--set render.resolution=[512,512]``), applied to the spec's JSON.

An override replaces one value in the catalog's JSON *before* validation, so the same pydantic schema
checks it and the catalog's hash covers it: a dataset rendered with an override is a different catalog.
Paths name JSON object keys and list indices (``sampling.quotas.0.count``); objects missing on the way
are created (``render.resolution`` works on a catalog that leaves ``render`` to its defaults).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from facefarm.catalog.problems import Problem, json_path

#: How a problem caused by an override names it (the command line's flag).
FLAG = "--set"


@dataclass(frozen=True)
class Override:
    """One override: ``keys`` (object keys as str, list indices as int) and the JSON ``value`` to put there."""

    keys: tuple[str | int, ...]
    value: Any

    @property
    def dotted(self) -> str:
        return ".".join(str(k) for k in self.keys)

    @property
    def json_path(self) -> str:
        return json_path(self.keys)

    def __str__(self) -> str:
        return f"{self.dotted}={json.dumps(self.value, separators=(',', ':'))}"


def parse_value(text: str) -> Any:
    """``text`` as JSON (``512``, ``[512,512]``, ``true``, ``"a"``), else the text itself as a string."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # not JSON (or absurdly nested): the schema then says what it wants
        return text


def _keys(dotted: str) -> tuple[str | int, ...]:
    if not dotted or any(not part.strip() for part in dotted.split(".")):
        raise ValueError(
            f"{dotted!r} is not a dotted path of catalog fields; write e.g. render.resolution or sampling.quotas.0.count"
        )
    return tuple(int(p) if p.isdigit() else p for p in dotted.split("."))


def parse_override(text: str) -> Override:
    """``"render.resolution=[512,512]"`` -> Override; ValueError saying how to write it when malformed."""
    dotted, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"{text!r} has no '=': write KEY.PATH=VALUE, e.g. render.resolution=[512,512]")
    return Override(_keys(dotted.strip()), parse_value(value))


def overrides_from(items: Mapping[str, Any] | Iterable[str | Override] | None) -> list[Override]:
    """Overrides from ``{"render.resolution": [512, 512]}`` (values as they are), ``["a.b=1", ...]`` or
    Override objects; ValueError for a malformed one."""
    if items is None:
        return []
    if isinstance(items, Mapping):
        return [Override(_keys(str(k)), v) for k, v in items.items()]
    if isinstance(items, str):
        raise TypeError("overrides is a list of 'KEY.PATH=VALUE' strings or a dict, not one string")
    return [o if isinstance(o, Override) else parse_override(o) for o in items]


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"{'a string' if isinstance(value, str) else 'a value'} ({json.dumps(value)})"


def apply_overrides(data: dict, overrides: Sequence[Override]) -> tuple[dict, list[Problem]]:
    """A copy of the spec JSON ``data`` with each override applied in order, and the problems of those
    that cannot be (a key into a number, an index past a list's end); ``data`` is left as it was."""
    out = copy.deepcopy(data)
    problems = []
    for o in overrides:
        node: Any = out
        for depth, key in enumerate(o.keys):
            here = json_path(o.keys[:depth])
            if isinstance(node, dict):
                key = str(key)
                if node.get(key) is None and depth < len(o.keys) - 1:
                    node[key] = {}  # an object left to its defaults: create it
            elif isinstance(node, list):
                if not isinstance(key, int) or key >= len(node):
                    what = f"a list of {len(node)} here: index it with 0..{len(node) - 1}" if node else None
                    what = what or f"an empty list here: set the whole list, {here[2:]}=[...]"
                    problems.append(_problem(o, here, what))
                    break
            else:
                problems.append(_problem(o, here, f"{_kind(node)} here, which has no fields"))
                break
            if depth == len(o.keys) - 1:
                node[key] = copy.deepcopy(o.value)
            else:
                node = node[key]
    return out, problems


def _problem(o: Override, path: str, what: str) -> Problem:
    return Problem(path, f"{what}; fix the path of {FLAG} {o}")


def _within(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "[")


def blame(problems: Iterable[Problem], overrides: Sequence[Override]) -> list[Problem]:
    """``problems`` with those at or below an override's path (or at a field holding it) saying which
    override put the bad value there."""
    out = []
    for p in problems:
        culprit = next(
            (
                o
                for o in reversed(overrides)
                if _within(p.path, o.json_path) or (p.path != "$" and _within(o.json_path, p.path))
            ),
            None,
        )
        out.append(Problem(p.path, f"{p.message} (from {FLAG} {culprit})") if culprit and FLAG not in p.message else p)
    return out
