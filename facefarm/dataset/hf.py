"""Hugging Face ``imagefolder`` export: a folder per split with ``metadata.jsonl``.

Layout under the destination::

    README.md                       dataset card (synthetic-data statement, columns)
    {split}/metadata.jsonl          one row per image
    {split}/{key}.png               RGB (.jpg / .webp: the dataset's image format) -> column "image"
    {split}/{key}_seg.png           uint8 class ids -> column "segmentation"
    {split}/{key}_depth.png         uint16 depth    -> column "depth"
    {split}/{key}_seg_head.png, {key}_layers.png, {key}_albedo.png
                                    the optional planes of ``outputs.labels`` (amodal_masks, albedo)
                                    -> columns "segmentation_head", "layers", "albedo" (normals, a
                                    float array, are not an image: ``facefarm.load`` reads them)

Load it with ``datasets.load_dataset("imagefolder", data_dir=DEST)``; the ``val`` folder
becomes the ``validation`` split. ``*_file_name`` columns are decoded as images by
``datasets``. Label columns:

* ``landmarks`` (70 x 2 float pixels, corner origin, pixel centres at +0.5),
  ``landmarks_visible`` / ``landmarks_in_frame`` (70 bool), ``keypoint_visibility``
  (70 int: 0 outside, 1 occluded, 2 visible), ``landmarks_xyz_camera`` (70 x 3 metres,
  OpenCV camera frame), ``face_bbox`` [x0, y0, x1, y1], ``camera_K`` (3 x 3),
  ``camera_world_to_camera`` (4 x 4), ``depth_scale_m``, ``head_pose.*``.
* ``attributes.*``: the resolved sample flattened with dots (``attributes.skin.monk_tone``,
  ``attributes.glasses.present``). Weight maps (ancestry labels and bases, shape details,
  expression units) get one column per key, 0.0 where a sample lacks the key; lists of
  numbers stay lists; values whose type varies between samples (a label in one, a list in
  another) and lists of objects (extra lights) are JSON strings. Other missing values are
  NaN (numbers, e.g. glasses thickness without glasses; written as the JSON extension
  ``NaN`` that Arrow and Python read) or "" (strings), so every split has the same schema.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from facefarm import __version__
from facefarm.dataset.source import (
    SourceDataset,
    flatten,
    image_extension,
    is_numeric_tree,
    legacy_export,
    partial_note,
    sample_key,
    staged_folder,
    visibility_flags,
)
from facefarm.dataset.splits import DEFAULT_FRACTIONS, split_records

FORMAT = "hf"
#: Attribute dicts whose keys vary between samples and whose missing keys mean weight 0.
WEIGHT_MAPS: tuple[str, ...] = ("ancestry_labels", "ancestry_weights", "shape_details", "expression.units")
#: Attribute keys that repeat a top-level column: not repeated as ``attributes.*``.
_TOP_LEVEL = ("sample_id", "index", "seed", "catalog_hash", "identity_id")

#: Optional image planes of a record (``outputs.labels``) and their file suffixes in a split folder.
PLANE_FILES = {"segmentation_head": "_seg_head.png", "layers": "_layers.png", "albedo": "_albedo.png"}


def _kind(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "str"
    if is_numeric_tree(v):
        return f"numbers{_depth(v)}"
    return "list"


def _depth(v) -> int:
    return 1 + _depth(v[0]) if isinstance(v, list) and v else 0


def _as_float_tree(v):
    if isinstance(v, list):
        return [_as_float_tree(x) for x in v]
    return float(v)


def _nan_like(v):
    if isinstance(v, list):
        return [_nan_like(x) for x in v]
    return float("nan")


def harmonise(rows: list[dict]) -> list[dict]:
    """Give every row the same columns with one JSON type per column.

    Arrow infers each split's schema from its own metadata file and ``datasets`` refuses
    splits whose schemas differ, so a value missing in a row must still carry its type:
    missing weight-map keys -> 0.0; missing numbers -> NaN (a list of NaN shaped like the
    column's other values); missing strings -> ""; ints become floats in a column that
    also holds floats; a column whose values differ in kind (or a bool or string-list column
    with gaps) becomes JSON strings; a column that is empty everywhere is dropped. Call it on
    the rows of *all* splits together.
    """
    seen: dict[str, None] = {}
    for r in rows:
        seen.update(dict.fromkeys(r))
    # label columns in their natural order, then the attributes sorted so groups sit together
    columns = [c for c in seen if not c.startswith("attributes.")] + sorted(
        c for c in seen if c.startswith("attributes.")
    )
    kind, floats, weights, template = {}, set(), set(), {}
    for c in columns:
        kinds = {_kind(r.get(c)) for r in rows}
        if any(c.startswith(f"attributes.{w}.") for w in WEIGHT_MAPS):
            weights.add(c)
            kinds.discard("null")
        present = kinds - {"null"}
        if len(present) > 1 or (present & {"bool", "list"} and "null" in kinds):
            kind[c] = "json"
        else:
            kind[c] = next(iter(present), "null")
        if kind[c].startswith("number"):
            template[c] = next(r[c] for r in rows if r.get(c) is not None)
            if any(isinstance(x, float) for x in _leaves(rows, c)) or "null" in kinds:
                floats.add(c)
    # a column with no value anywhere says nothing and would get Arrow's "null" type
    columns = [c for c in columns if kind[c] != "null" or c in weights]
    out = []
    for r in rows:
        row = {}
        for c in columns:
            v, k = r.get(c), kind[c]
            if k == "json":
                v = json.dumps(v, sort_keys=True)
            elif v is None and c in weights:
                v = 0.0
            elif v is None and k == "str":
                v = ""
            elif v is None and k.startswith("number"):
                v = _nan_like(template[c])
            elif c in floats:
                v = _as_float_tree(v)
            row[c] = v
        out.append(row)
    return out


def _leaves(rows: list[dict], column: str):
    for r in rows:
        stack = [r.get(column)]
        while stack:
            x = stack.pop()
            if isinstance(x, list):
                stack.extend(x)
            elif x is not None:
                yield x


def metadata_row(record: dict, key: str) -> dict:
    """One ``metadata.jsonl`` row (before :func:`harmonise`) for a manifest record."""
    lm = record["landmarks"]
    row = {
        "file_name": f"{key}.{image_extension(record)}",
        "segmentation_file_name": f"{key}_seg.png",
        "depth_file_name": f"{key}_depth.png",
        **{
            f"{kind}_file_name": f"{key}{suffix}"
            for kind, suffix in PLANE_FILES.items()
            if record["files"].get(kind) is not None
        },
        "sample_id": record["sample_id"],
        "index": record["index"],
        "identity_id": str(record["identity_id"]),
        "seed": record["seed"],
        "catalog_hash": record.get("catalog_hash"),
        "width": record["width"],
        "height": record["height"],
        "landmarks": lm["uv"],
        "landmarks_visible": [bool(x) for x in lm["visible"]],
        "landmarks_in_frame": [bool(x) for x in lm["in_frame"]],
        "keypoint_visibility": visibility_flags(record).tolist(),
        "landmarks_xyz_camera": lm.get("xyz_camera"),
        "face_bbox": record.get("face_bbox"),
        "camera_K": record["camera"]["K"],
        "camera_world_to_camera": record["camera"]["world_to_camera"],
        "depth_scale_m": record.get("depth_scale_m"),
    }
    row.update(flatten(record.get("head_pose") or {}, "head_pose."))
    attributes = {k: v for k, v in (record.get("attributes") or {}).items() if k not in _TOP_LEVEL}
    row.update(flatten(attributes, "attributes."))
    render = record.get("render") or {}
    row["render_backend"] = render.get("backend")
    return row


_CARD = """---
license: cc0-1.0
pretty_name: facefarm synthetic faces
size_categories:
- {size}
task_categories:
- image-segmentation
- keypoint-detection
tags:
- synthetic
- faces
- facial-landmarks
- face-parsing
---

# facefarm synthetic faces ({n} images)

**Synthetic data.** Every image was rendered by facefarm {version} from a catalog of
attributes (catalog hash `{catalog_hash}`); no real person is depicted. See the
dataset's `datasheet/datasheet.md` for the attribute distributions and known limits.{partial}

Load with `datasets.load_dataset("imagefolder", data_dir=<this folder>)`. Splits are by
identity (no identity appears in two splits): {splits}.

Columns: `image`, `segmentation` (uint8 class ids, Face Synthetics ids), `depth` (uint16,
times `depth_scale_m` metres), `landmarks` (70 x 2 pixels, top-left corner origin, pixel
centres at +0.5), `landmarks_visible`, `landmarks_in_frame`, `keypoint_visibility`
(0 outside / 1 occluded / 2 visible), `landmarks_xyz_camera`, `face_bbox` (x0, y0, x1, y1),
`camera_K`, `camera_world_to_camera`, `head_pose.*`, `attributes.*`.

## Licence

Released under CC0-1.0 (the `license` above): the images are renders of facefarm's CC0 template
head (MakeHuman HM08), its own CC0/Apache-2.0 assets and CC0 HDRIs. If the catalog used user assets
under other licences (`facefarm assets validate` lists each one's), change `license` to match them.
"""


def size_category(n: int) -> str:
    """The Hugging Face ``size_categories`` tag for ``n`` examples."""
    for limit, tag in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
    ):
        if n < limit:
            return tag
    return "10M<n<100M"


def export(source: SourceDataset, dest: str | os.PathLike, fractions=DEFAULT_FRACTIONS) -> dict[str, Path]:
    """Write the imagefolder export; returns {split: metadata.jsonl path} for non-empty splits."""
    dest = Path(dest)
    out: dict[str, Path] = {}
    counts = {}
    with staged_folder(dest, FORMAT, legacy_export(FORMAT)) as tmp:
        splits = {k: v for k, v in split_records(source.records, fractions).items() if v}
        rows = []
        for split, records in splits.items():
            for r in records:
                key = sample_key(r)
                source.place(r, "image", tmp / split / f"{key}.{image_extension(r)}")
                source.place(r, "segmentation", tmp / split / f"{key}_seg.png")
                source.place(r, "depth", tmp / split / f"{key}_depth.png")
                for kind, suffix in PLANE_FILES.items():
                    if r["files"].get(kind) is not None:
                        source.place(r, kind, tmp / split / f"{key}{suffix}")
                rows.append(metadata_row(r, key))
        harmonised = iter(harmonise(rows))  # over all splits at once: their schemas must match
        for split, records in splits.items():
            body = "".join(json.dumps(next(harmonised), separators=(",", ":")) + "\n" for _ in records)
            (tmp / split / "metadata.jsonl").write_text(body)
            out[split] = dest / split / "metadata.jsonl"
            counts[split] = len(records)
        (tmp / "README.md").write_text(
            _CARD.format(
                n=len(source.records),
                size=size_category(len(source.records)),
                version=__version__,
                catalog_hash=source.header.get("catalog_hash"),
                splits=", ".join(f"{k} {v}" for k, v in counts.items()),
                partial="\n\n" + note if (note := partial_note(source.header, len(source.records))) else "",
            )
        )
    return out
