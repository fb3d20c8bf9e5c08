"""Segmentation class ids, amodal layers and landmark layouts, read from ``facefarm/assets/schema``.

The ids are fixed by ``facefarm/assets/schema/classes.json``; code looks them up by name
(``CLASS_IDS["NOSE"]``) and never derives them from scene or creation order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from facefarm.paths import ASSETS

_SCHEMA = ASSETS / "schema"


@lru_cache(maxsize=None)
def _classes() -> dict[str, int]:
    doc = json.loads((_SCHEMA / "classes.json").read_text())
    return {c["name"]: int(c["id"]) for c in doc["classes"]}


@lru_cache(maxsize=None)
def landmark_layout() -> dict:
    """The 70-point layout: ``names``, ``flip_index``, ``skeleton``, ``groups``."""
    return json.loads((_SCHEMA / "landmarks70.json").read_text())


#: Landmark layouts besides the 70-point one, by name: their schema file under facefarm/assets/schema/.
LAYOUTS = {"wflw98": "wflw98.json"}


@lru_cache(maxsize=None)
def layout(name: str) -> dict:
    """Another landmark layout (a key of :data:`LAYOUTS`): ``names``, ``flip_index``, ``groups``
    (the 70-point layout's group names), ``nme_normaliser`` and ``points``, how each point is
    placed from the 70 (``from70``, ``between70``, ``brow_lower_under70``)."""
    if name not in LAYOUTS:
        raise KeyError(f"unknown landmark layout {name!r}; known: {', '.join(sorted(LAYOUTS))}")
    return json.loads((_SCHEMA / LAYOUTS[name]).read_text())


@dataclass(frozen=True)
class Layer:
    """One layer of the amodal masks (``facefarm/assets/schema/layers.json``): ``bit`` of the
    layers PNG, ``name``, and the segmentation class ids it is made of."""

    bit: int
    name: str
    classes: tuple[int, ...]


@lru_cache(maxsize=None)
def amodal_layers() -> tuple[Layer, ...]:
    """The amodal layers in bit order; the first (``head``) is the one every other is drawn with."""
    doc = json.loads((_SCHEMA / "layers.json").read_text())
    ids = _classes()
    out = tuple(Layer(int(x["bit"]), x["name"], tuple(ids[c] for c in x["classes"])) for x in doc["layers"])
    if [x.bit for x in out] != list(range(len(out))) or out[0].name != "head":
        raise ValueError("layers.json: bits must run 0, 1, ... with the head layer first")
    return out


CLASS_IDS: dict[str, int] = _classes()
CLASS_NAMES: dict[int, str] = {v: k for k, v in CLASS_IDS.items()}
N_LANDMARKS = 70
