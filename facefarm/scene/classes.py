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
LAYOUTS = {"wflw98": "wflw98.json", "mediapipe478": "mediapipe478.json"}


@lru_cache(maxsize=None)
def layout(name: str) -> dict:
    """Another landmark layout (a key of :data:`LAYOUTS`): ``names``, ``flip_index``, ``groups``,
    ``nme_normaliser`` and ``points``, how each point is placed: from the 70 (``from70``,
    ``between70``, ``brow_lower_under70``; WFLW), or on its own (``vertices``/``weights`` on the
    HM08 mesh, ``eye``/``limbus`` on an eyeball; MediaPipe's 478). A layout whose ``groups`` are
    ``[first, last]`` ranges named as the 70's needs nothing else; one whose points of a group are
    scattered (MediaPipe) also has ``visibility`` and ``contour``: see :func:`layout_visibility`
    and :func:`layout_outline`."""
    if name not in LAYOUTS:
        raise KeyError(f"unknown landmark layout {name!r}; known: {', '.join(sorted(LAYOUTS))}")
    return json.loads((_SCHEMA / LAYOUTS[name]).read_text())


def layout_visibility(name: str) -> dict[str, list[int]]:
    """Layout ``name``'s points by the group whose surface classes show them (the 70's group names
    of ``facefarm.sample.labels.GROUP_CLASSES``): ``{group: [point ids]}``, every point once."""
    spec = layout(name)
    if "visibility" in spec:
        return {g: list(ids) for g, ids in spec["visibility"].items()}
    return {g: list(range(a, b + 1)) for g, (a, b) in spec["groups"].items()}


def layout_outline(name: str) -> list[int]:
    """The points of layout ``name`` that its contour convention moves onto the view's outline, in
    order from the subject's right to the left through the chin (as the 70's jaw)."""
    spec = layout(name)
    if "contour" in spec:
        return list(spec["contour"])
    a, b = spec["groups"]["jaw"]
    return list(range(a, b + 1))


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
