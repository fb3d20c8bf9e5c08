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


CLASS_IDS: dict[str, int] = _classes()
CLASS_NAMES: dict[int, str] = {v: k for k, v in CLASS_IDS.items()}
N_LANDMARKS = 70
