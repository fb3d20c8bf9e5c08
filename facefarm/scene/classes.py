"""Segmentation class ids and the 70-point landmark layout, read from ``facefarm/assets/schema``.

The ids are fixed by ``facefarm/assets/schema/classes.json``; code looks them up by name
(``CLASS_IDS["NOSE"]``) and never derives them from scene or creation order.
"""

from __future__ import annotations

import json
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


CLASS_IDS: dict[str, int] = _classes()
CLASS_NAMES: dict[int, str] = {v: k for k, v in CLASS_IDS.items()}
N_LANDMARKS = 70
