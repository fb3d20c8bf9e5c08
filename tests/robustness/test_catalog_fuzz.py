"""Mutated catalogs (a fixed seed, a few hundred of them): each is either accepted and resolves, or
refused with problems at JSON paths; nothing raises. The validator is the one `render` runs first."""

from __future__ import annotations

import copy
import json
import math
import random

import pytest

from facefarm.catalog import resolve
from facefarm.farm.validate import validate_spec
from facefarm.paths import CATALOGS

#: values a mutation may put anywhere: wrong types, extremes, odd strings, nesting
ODD = [
    None,
    True,
    False,
    0,
    -1,
    1e30,
    -1e30,
    3.5,
    "",
    "x",
    "\u00e9\u4e2d",
    "#zzzzzz",
    "#ffffff",
    [],
    [1, 2],
    {},
    {"kind": "uniform", "min": 5, "max": 1},
    {"kind": "categorical", "weights": {}},
    {"kind": "normal", "mean": 0, "sd": -1},
    {"kind": "fixed"},
    [[[[]]]],
    {"a": {"b": {"c": {}}}},
    "1e309",
    2**63,
    -(2**63),
    math.inf,
    math.nan,
]


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, path + (i,))


def _mutate(doc: dict, rng: random.Random) -> dict:
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice([p for p in _paths(doc) if p])
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        key = path[-1]
        op = rng.random()
        if op < 0.2 and isinstance(parent, dict):
            del parent[key]
        elif op < 0.3 and isinstance(parent, dict):
            parent[key + "_typo" if isinstance(key, str) else key] = parent.pop(key)
        else:
            parent[key] = copy.deepcopy(rng.choice(ODD))
    return doc


BASE = json.loads((CATALOGS / "default.json").read_text())
CASES = [_mutate(BASE, random.Random(seed)) for seed in range(300)]


@pytest.mark.parametrize("chunk", range(6))
def test_mutated_catalogs_are_refused_at_a_path_or_resolve(chunk):
    accepted = 0
    for doc in CASES[chunk::6]:
        try:
            text = json.dumps(doc, allow_nan=True)
            cat, problems = validate_spec(json.loads(text), n=8)
        except Exception as e:  # noqa: BLE001 - this is the failure the test exists for
            pytest.fail(f"the validator raised {type(e).__name__}: {e} on {json.dumps(doc)[:300]}")
        if cat is None:
            assert problems and all(p.path.startswith("$") and p.message for p in problems), problems
        else:
            accepted += 1
            sample = resolve(cat, 0, 3, 8)
            assert sample.sample_id == "000003"
    assert accepted < len(CASES[chunk::6])  # the mutations do break catalogs
