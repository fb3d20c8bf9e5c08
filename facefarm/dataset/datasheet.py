"""Datasheet and audit of a rendered dataset: what it is, what is in it, and where it is thin.

:func:`write_datasheet` reads a finished dataset root (dataset.json + manifest.jsonl, plus
a few sample images) and writes ``{root}/datasheet/``:

* ``datasheet.md`` — for people: a plain statement that the data are synthetic, what they
  are for and their known limits; generator and asset versions; the catalog and its
  taxonomy (each label's mapping to appearance parameters); realised distributions of
  every attribute; intersectional count tables with the largest imbalance called out;
  file and provenance checks; links to the plots.
* ``datasheet.json`` — the same facts for programs (:func:`audit` returns it).
* ``croissant.json`` — Croissant 1.0 JSON-LD with the Responsible-AI fields
  (:mod:`facefarm.dataset.croissant`; its paths are relative to the dataset root).
* PNG plots (matplotlib, Agg, no pyplot state): Monk skin tone, age, ancestry-weight
  simplex (ternary), every categorical and continuous attribute, colour swatches, expression
  units and shape details, each intersection table as a heat map, and a contact sheet per
  ethnicity group.

It also checks that every file of every record is inside the dataset, present and of its
recorded size, and re-hashes and decodes the files of up to 64 evenly spread samples (all with
``verify``) against the manifest's sha256 and reads their PNG provenance text chunks (``checks``
in the JSON). Damaged or missing files are findings, never exceptions.

The folder is replaced only if facefarm wrote it (:mod:`facefarm.sample.owned`).

Groups. A sample's *ethnicity group* follows the catalog's convention
(:mod:`facefarm.catalog.attributes`): its taxonomy label when it has one label, ``"mixed"``
when it blends several. Age bands and gender-presentation bands are :data:`AGE_BANDS` and
:data:`GENDER_BANDS`; if the catalog stratifies, its own factors and bands give an extra
"design" table that should come out exactly as planned.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from facefarm import __version__
from facefarm.catalog.skin_tone import MONK_SRGB
from facefarm.catalog.vocabulary import DEFAULT_KNOWN_ASSETS
from facefarm.dataset.croissant import CROISSANT_FILE, LICENCE, LICENCE_URL, croissant
from facefarm.dataset.source import (
    SourceDataset,
    UnsafePath,
    check_replaceable,
    decode_png,
    flatten,
    open_dataset,
    partial_note,
    staged_folder,
)
from facefarm.paths import ASSETS
from facefarm.sample.writer import read_provenance
from facefarm.scene.classes import CLASS_IDS

DATASHEET_DIR = "datasheet"

STATEMENT = (
    "These data are synthetic. Every image is a computer rendering of a procedurally generated 3D head; "
    "no photograph of a real person was used to make any image, and no image depicts a real person, "
    "although a rendered face can resemble someone by chance. Every image carries metadata saying so "
    "(PNG text chunks, or EXIF in a JPEG or WebP image: synthetic=true, generator, generator_version, "
    "sample_id, seed, catalog_hash)."
)
PURPOSE = (
    "For training and evaluating face analysis models that need exact, dense labels: 2D/3D facial "
    "landmarks (70 points with visibility), semantic segmentation, depth, head pose and camera "
    "parameters; and for measuring how such models behave across controlled attributes (skin tone, "
    "age, ancestry labels, expression, glasses, pose, lighting). Not for identifying people, inferring "
    "anyone's ethnicity, gender or age from photographs, or any decision about a person."
)
LIMITS = (
    "All faces are deformations of one template head (MakeHuman HM08, CC0) driven by three ancestry "
    "shape bases, macro sliders (age, gender, muscle, weight) and a few detail targets: identity "
    "diversity is far below that of real people.",
    "Ethnicity/ancestry labels are the catalog author's taxonomy; each label is only a set of "
    "appearance priors (shape-base weights, skin melanin, hair and eye colour). They are not "
    "anthropological categories and say nothing about real populations.",
    "Skin tone is a melanin parameter of an albedo model fitted to measured skin albedo (Fitzpatrick "
    "I-VI); the Monk Skin Tone shown is the decile of that parameter, not a measurement of rendered "
    "pixels, which also depend on lighting. The Monk orbs are paler and greyer than real fair skin, so "
    "the orb nearest an albedo can be up to three tones from its label.",
    "Hair, clothing, headwear and glasses come from small procedural asset sets; expressions are "
    "blends of 52 ARKit-style units. Long hair, complex hairstyles, make-up, tattoos, accessories, "
    "occlusion by hands and motion blur are missing or simplified.",
    "Labels are exact for the model (projections of mesh points); where the template's landmark "
    "vertices differ from how human annotators place iBUG points (e.g. the jaw line on a turned "
    "head), the labels differ from hand annotation in a systematic way.",
    "There is a domain gap between renderings and photographs; it is larger for the fast rasteriser "
    "(pyrender) than for the path tracer (Cycles). Models trained on these data need real-data validation.",
    "The fast rasteriser has no shadows. On the same sample the path tracer's hair is 0.4-2.7x as bright "
    "as the rasteriser's (light hair darker, dark hair under bright skies brighter), its skin 0.7-1.1x and "
    "its necks, shaded by the jaw, about 0.5x.",
)

#: (lo, hi, name): lo <= age < hi, years.
AGE_BANDS: tuple[tuple[float, float, str], ...] = (
    (0.0, 13.0, "0-12"),
    (13.0, 18.0, "13-17"),
    (18.0, 35.0, "18-34"),
    (35.0, 55.0, "35-54"),
    (55.0, math.inf, "55+"),
)
#: (lo, hi, name) of gender presentation, 0 = female .. 1 = male.
GENDER_BANDS: tuple[tuple[float, float, str], ...] = (
    (0.0, 1 / 3, "feminine"),
    (1 / 3, 2 / 3, "androgynous"),
    (2 / 3, math.inf, "masculine"),
)

#: The default intersection tables: factor names of :func:`factors`.
TABLES: tuple[tuple[str, ...], ...] = (
    ("ethnicity", "age_band", "glasses"),
    ("monk_tone", "gender_band"),
    ("age_band", "facial_hair"),
    ("ethnicity", "expression"),
)

#: Flattened attribute names that identify a sample rather than describe it.
_ID_ATTRIBUTES = {
    "sample_id",
    "index",
    "seed",
    "catalog_hash",
    "identity_id",
    "identity_index",
    "sampler_version",
    "quota",
}
#: Attribute groups with many keys: summarised per key instead of one plot each.
_MULTI_KEY = ("expression.units.", "shape_details.", "ancestry_weights.", "ancestry_labels.", "stratum.")
#: Many-key attributes the datasheet lists in their own compact tables: (prefix, title).
_MD_GROUPS = (
    ("ancestry_labels.", "Ancestry label weights (samples carrying each label)"),
    ("expression.units.", "Expression unit weights"),
    ("shape_details.", "Identity shape details"),
    ("stratum.", "Sampling-plan strata (forced levels)"),
)
_MD_GROUPED = tuple(p for p, _ in _MD_GROUPS)
_MAX_CATEGORIES = 16
_THUMB = 128
_CONTACT_COLUMNS = 4
_CONTACT_MAX = 16
_CHECK_MAX = 64


# --------------------------------------------------------------------------- per-sample factors


def ethnicity_group(attributes: dict) -> str:
    """The taxonomy label of a single-label sample, ``"mixed"`` for a blend, ``"unknown"`` if absent."""
    labels = {k: v for k, v in (attributes.get("ancestry_labels") or {}).items() if v > 0}
    if not labels:
        return "unknown"
    return next(iter(labels)) if len(labels) == 1 else "mixed"


def _band(value, bands) -> str:
    if value is None:
        return "unknown"
    for lo, hi, name in bands:
        if lo <= value < hi:
            return name
    return "unknown"


def _get(attributes: dict, path: str, default=None):
    v = attributes
    for part in path.split("."):
        if not isinstance(v, dict) or part not in v:
            return default
        v = v[part]
    return v


def factors(attributes: dict) -> dict[str, str]:
    """The categorical factors the intersection tables use, as strings."""
    glasses = _get(attributes, "glasses.present")
    tone = _get(attributes, "skin.monk_tone")
    return {
        "ethnicity": ethnicity_group(attributes),
        "age_band": _band(attributes.get("age_years"), AGE_BANDS),
        "gender_band": _band(attributes.get("gender"), GENDER_BANDS),
        "glasses": "unknown" if glasses is None else ("glasses" if glasses else "no glasses"),
        "monk_tone": "unknown" if tone is None else f"MST {int(tone)}",
        "facial_hair": str(_get(attributes, "facial_hair.style", "unknown")),
        "expression": str(_get(attributes, "expression.preset", "unknown")),
    }


#: catalog attribute name (``sampling.stratify_by``) -> path of its value in a resolved sample
CATALOG_ATTRIBUTE_PATHS: dict[str, str] = {
    "age": "age_years",
    "gender": "gender",
    "muscle": "muscle",
    "weight": "weight",
    "monk_tone": "skin.monk_tone",
    "eye_color": "eyes.color_family",
    "hair_style": "hair.style",
    "facial_hair": "facial_hair.style",
    "glasses": "glasses.present",
    "glasses_family": "glasses.family",
    "expression": "expression.preset",
    "hdri": "lighting.hdri",
    "headwear": "headwear.id",
    "background": "background.kind",
    "head_yaw": "head_pose.yaw_deg",
    "head_pitch": "head_pose.pitch_deg",
}


def catalog_level(attributes: dict, factor: dict) -> str:
    """The level of one catalog ``stratify_by`` factor a sample falls in (band name or label)."""
    name = factor["attribute"]
    if name == "ancestry":
        return ethnicity_group(attributes)
    value = _get(attributes, CATALOG_ATTRIBUTE_PATHS.get(name, name))
    bands = factor.get("bands")
    if bands:
        items = sorted(bands.items(), key=lambda kv: kv[1][0])
        for i, (band, (lo, hi)) in enumerate(items):
            top = i == len(items) - 1
            if value is not None and (lo <= value < hi or (top and value == hi)):
                return band
        return "outside bands"
    if name == "glasses_family" and value is None:
        return "none"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _catalog_levels(catalog: dict, factor: dict) -> list[str]:
    if factor.get("bands"):
        return [k for k, _ in sorted(factor["bands"].items(), key=lambda kv: kv[1][0])]
    if factor.get("levels") is not None:
        return [str(v).lower() if isinstance(v, bool) else str(v) for v in factor["levels"]]
    if factor["attribute"] == "glasses":
        return ["false", "true"]
    if factor["attribute"] == "ancestry":
        return ancestry_levels(catalog)
    return []


def ancestry_levels(catalog: dict) -> list[str]:
    """Ethnicity groups the catalog can produce: its labels, plus "mixed" when it mixes."""
    anc = catalog.get("ancestry") or {}
    labels = sorted(anc.get("labels") or (anc.get("taxonomy") or {}).get("labels") or {})
    if labels and len(labels) > 1 and anc.get("mixed_probability", 0) > 0:
        labels.append("mixed")
    return labels


# --------------------------------------------------------------------------- distributions


def _audit_view(obj):
    """Attributes as the audit counts them: short number lists split into ``name[i]``, object lists -> count."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if isinstance(v, list) and v and all(isinstance(x, dict) for x in v) or isinstance(v, list) and not v:
                out[f"{k}.count"] = len(v)
            elif isinstance(v, list) and len(v) <= 4 and all(isinstance(x, (int, float)) for x in v):
                out.update({f"{k}[{i}]": x for i, x in enumerate(v)})
            else:
                out[k] = _audit_view(v)
        return out
    return obj


def attribute_columns(records: list[dict]) -> dict[str, list]:
    """Flattened attribute name -> one value per record (None where a record lacks it).

    Short number lists (colours, offsets) become one column per element (``camera.principal_offset_px[0]``);
    lists of objects (extra lights) become their count (``lighting.extra_lights.count``).
    """
    flat = [flatten(_audit_view(r.get("attributes") or {})) for r in records]
    names: dict[str, None] = {}
    for f in flat:
        names.update(dict.fromkeys(f))
    return {n: [f.get(n) for f in flat] for n in sorted(names) if n not in _ID_ATTRIBUTES}


def summarise(values: list) -> dict:
    """Summary of one attribute's values: categorical counts or continuous statistics.

    Strings and bools are categorical; ints with few distinct values too (Monk tone);
    other numbers continuous (n, mean, sd, min, percentiles, max and a 10-bin histogram).
    """
    present = [v for v in values if v is not None]
    missing = len(values) - len(present)
    if not present:
        return {"kind": "empty", "n": 0, "missing": missing}
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        ints = all(isinstance(v, int) for v in present)
        if not (ints and len(set(present)) <= _MAX_CATEGORIES):
            a = np.asarray(present, dtype=float)
            p = np.percentile(a, [5, 25, 50, 75, 95])
            counts, edges = np.histogram(a, bins=10)
            return {
                "kind": "continuous",
                "n": int(a.size),
                "missing": missing,
                "mean": float(a.mean()),
                "sd": float(a.std()),
                "min": float(a.min()),
                "p5": float(p[0]),
                "p25": float(p[1]),
                "median": float(p[2]),
                "p75": float(p[3]),
                "p95": float(p[4]),
                "max": float(a.max()),
                "histogram": {"counts": counts.tolist(), "edges": edges.tolist()},
            }
    keyed = [json.dumps(v) if isinstance(v, list) else v for v in present]
    tally = Counter(str(v).lower() if isinstance(v, bool) else str(v) for v in keyed)
    order = sorted(tally, key=_natural)
    return {"kind": "categorical", "n": len(present), "missing": missing, "counts": {k: tally[k] for k in order}}


def _natural(s: str):
    """Sort key that orders embedded numbers by value ("MST 2" before "MST 10", "-5" before "3")."""
    try:
        return (0, float(s), ())
    except ValueError:
        parts = re.split(r"(\d+(?:\.\d+)?)", s)
        return (1, 0.0, tuple((0, float(p), "") if i % 2 else (1, 0.0, p) for i, p in enumerate(parts)))


def distributions(records: list[dict]) -> dict[str, dict]:
    """Every flattened attribute -> :func:`summarise` of its values."""
    return {name: summarise(vals) for name, vals in attribute_columns(records).items()}


# --------------------------------------------------------------------------- intersections


def crosstab(rows: list[dict[str, str]], keys: tuple[str, ...], levels: dict[str, list[str]] | None = None) -> dict:
    """Counts over every combination of ``keys`` levels, with the imbalance between cells.

    ``levels`` gives each factor's full level list (cells that can exist but never occur are
    counted as empty); observed levels are added to it. ``ratio`` is max / min over
    non-empty cells; ``empty`` lists the combinations nobody fell in.
    """
    given = levels or {}
    levels = {k: list(given.get(k, [])) for k in keys}
    for r in rows:
        for k in keys:
            if r[k] not in levels[k]:
                levels[k].append(r[k])
    for k in keys:
        if not given.get(k):  # no declared order: sort the observed levels
            levels[k].sort(key=_natural)
    counts = Counter(tuple(r[k] for k in keys) for r in rows)
    cells: list[dict[str, Any]] = [
        {"levels": list(combo), "count": counts.get(combo, 0)}
        for combo in itertools.product(*(levels[k] for k in keys))
    ]
    filled = [c for c in cells if c["count"] > 0]
    out: dict[str, Any] = {
        "factors": list(keys),
        "levels": levels,
        "cells": cells,
        "n_cells": len(cells),
        "empty": [c["levels"] for c in cells if c["count"] == 0],
    }
    if filled:
        hi = max(filled, key=lambda c: c["count"])
        lo = min(filled, key=lambda c: c["count"])
        out.update(max=hi, min=lo, ratio=hi["count"] / lo["count"])
    else:
        out.update(max=None, min=None, ratio=None)
    return out


def intersections(records: list[dict], catalog: dict) -> dict[str, dict]:
    """The default tables (:data:`TABLES`) and, for a stratified catalog, its design table.

    The design table uses the catalog's own ``stratify_by`` factors, levels and bands over the
    samples placed in a stratum cell (those outside, quota samples of a dataset made before 0.6.0,
    are counted in ``excluded_quota_samples``).
    """
    rows = [factors(r.get("attributes") or {}) for r in records]
    known = {
        "ethnicity": ancestry_levels(catalog),
        "age_band": [b[2] for b in AGE_BANDS],
        "gender_band": [b[2] for b in GENDER_BANDS],
        "glasses": ["no glasses", "glasses"],
        "monk_tone": [f"MST {k}" for k in range(1, 11)],
    }
    facial_hair = _choice_labels(_get(catalog, "facial_hair.styles"))
    if facial_hair:
        known["facial_hair"] = ["none"] + [x for x in facial_hair if x != "none"]
    presets = _choice_labels(_get(catalog, "expression.presets"))
    if presets:
        known["expression"] = presets + (["random"] if _get(catalog, "expression.random_probability", 0) else [])
    out = {" x ".join(keys): crosstab(rows, keys, {k: known[k] for k in keys if k in known}) for keys in TABLES}
    stratify = ((catalog.get("sampling") or {}).get("stratify_by")) or []
    if stratify:
        # The design table counts the samples the plan placed in a stratum cell: since 0.6.0 every one
        # (quota samples lie inside the strata), before it all but the quota samples. For a
        # stratified catalog it comes out equal (ratio 1 when N is a multiple of the cells) by construction.
        planned = [
            r
            for r in records
            if all(f["attribute"] in ((r.get("attributes") or {}).get("stratum") or {}) for f in stratify)
        ]
        names = tuple(f"catalog:{f['attribute']}" for f in stratify)
        design_rows = [
            {n: catalog_level(r.get("attributes") or {}, f) for n, f in zip(names, stratify)} for r in planned
        ]
        levels = {n: _catalog_levels(catalog, f) for n, f in zip(names, stratify)}
        table = crosstab(design_rows, names, levels)
        table["excluded_quota_samples"] = len(records) - len(planned)
        out["design: " + " x ".join(f["attribute"] for f in stratify)] = table
    return out


def largest_imbalance(tables: dict[str, dict]) -> dict | None:
    """Where the tables are most uneven.

    ``table``/``ratio``/``max_cell``/``min_cell``: the table whose non-empty cells differ most
    (max/min count) and those two cells. ``most_empty``: the table with the largest share of
    combinations nobody fell in (an empty cell is an unbounded imbalance the ratio cannot show).
    """
    scored = [(t["ratio"], name) for name, t in tables.items() if t["ratio"] is not None]
    if not scored:
        return None
    ratio, name = max(scored)
    t = tables[name]
    share, empty_name = max((len(t["empty"]) / t["n_cells"], n) for n, t in tables.items() if t["n_cells"])
    e = tables[empty_name]
    return {
        "table": name,
        "ratio": ratio,
        "max_cell": t["max"],
        "min_cell": t["min"],
        "empty_cells": len(t["empty"]),
        "n_cells": t["n_cells"],
        "most_empty": {
            "table": empty_name,
            "empty_cells": len(e["empty"]),
            "n_cells": e["n_cells"],
            "examples": e["empty"][:5],
        },
    }


def _choice_labels(dist) -> list[str]:
    """Labels a catalog choice distribution (JSON) can produce, or [] if it is not one."""
    if isinstance(dist, str):
        return [dist]
    if isinstance(dist, dict) and dist.get("kind") == "fixed":
        return [str(dist["value"])]
    if isinstance(dist, dict) and isinstance(dist.get("weights"), dict):
        return sorted(dist["weights"])
    return []


# --------------------------------------------------------------------------- checks

#: (attribute path, "absent" value, segmentation class): an attribute the sampler set should be
#: visible in the segmentation, and an absent one should not.
_PIXEL_CHECKS = (
    ("glasses.present", False, "GLASSES"),
    ("headwear.id", "none", "HEADWEAR"),
    ("facial_hair.style", "none", "BEARD"),
)


def attribute_pixel_mismatches(attributes: dict, segmentation: np.ndarray) -> list[str]:
    """Attributes the segmentation contradicts: e.g. glasses sampled but no GLASSES pixel.

    An item can be hidden legitimately (a beard on a face turned away), so these are warnings
    for a person to look at, not proof of a bug.
    """

    out = []
    for path, absent, cls in _PIXEL_CHECKS:
        value = _get(attributes, path)
        if value is None:
            continue
        n = int((segmentation == CLASS_IDS[cls]).sum())
        if value != absent and n == 0:
            out.append(f"{path}={value} but no {cls} pixels")
        elif value == absent and n > 0:
            out.append(f"{path}={value} but {n} {cls} pixels")
    return out


def check_files(source: SourceDataset, limit: int | None = _CHECK_MAX) -> dict:
    """Checks of the sample files: every file of every record, and closer checks on up to ``limit`` samples.

    Every file a record names must lie inside the dataset, exist and (where the record gives
    it) have the recorded size. The ``limit`` samples (evenly spread over the dataset) are also
    re-hashed against the manifest's sha256, decoded, their provenance (PNG text chunks or EXIF) read, and
    their sampled attributes compared with the segmentation (:func:`attribute_pixel_mismatches`).
    ``problems`` (a file missing, damaged, outside the dataset, or failing its hash or
    provenance) mean the files are not what was rendered; ``attribute_warnings`` mean the
    rendering may not show what was sampled.
    """
    records = list(source.records)
    picks = (
        records
        if limit is None or len(records) <= limit
        else [records[int(i)] for i in np.linspace(0, len(records) - 1, limit).round()]
    )
    picked = {id(r) for r in picks}
    hash_ok = hash_bad = prov_ok = 0
    bad: list[str] = []
    warnings: list[str] = []
    listings: dict[str, dict] = {}
    for r in records:
        sid = r.get("sample_id")
        sizes = r.get("sizes") or {}
        for kind in r.get("files") or {}:
            try:
                name = source.file_name(r, kind)
            except UnsafePath:
                bad.append(f"{sid}:{kind} outside the dataset (not read)")
                continue
            folder = name.rsplit("/", 1)[0] if "/" in name else ""
            if folder not in listings:
                listings[folder] = source.store.listing(folder) if folder else {}
            found = listings[folder].get(name)
            if found is None and not source.store.exists(name):  # a listing leaves out odd names
                bad.append(f"{sid}:{kind} missing ({name})")
                continue
            if kind == "labels" and id(r) in picked:  # no hash recorded for it: whole JSON at least
                try:
                    json.loads(source.read(name))
                except ValueError:
                    bad.append(f"{sid}:{kind} damaged ({name} is not whole JSON)")
                continue
            if id(r) not in picked or kind not in (r.get("sha256") or {}):
                if found is not None and kind in sizes and found[0] != sizes[kind]:  # no hash: the size tells
                    bad.append(f"{sid}:{kind} damaged ({name} has {found[0]} bytes, its record says {sizes[kind]})")
                continue
            data = source.read(name)
            if hashlib.sha256(data).hexdigest() == r["sha256"][kind]:
                hash_ok += 1
            else:
                hash_bad += 1
                bad.append(f"{sid}:{kind}")
            try:
                decoded = decode_png(data)
            except Exception as e:  # noqa: BLE001 - any decoder failure is damage to report, not to crash on
                bad.append(f"{sid}:{kind} damaged ({name} does not decode: {_short(e)})")
                continue
            if kind == "image":
                text = read_provenance(data)  # PNG text chunks, or a JPEG's / WebP's EXIF
                if text.get("synthetic") == "true" and text.get("sample_id") == sid and text.get("generator"):
                    prov_ok += 1
                else:
                    bad.append(f"{sid}:provenance")
            if kind == "segmentation":
                warnings += [f"{sid}: {w}" for w in attribute_pixel_mismatches(r.get("attributes") or {}, decoded)]
    return {
        "samples_checked": len(picks),
        "files_hash_ok": hash_ok,
        "files_hash_mismatch": hash_bad,
        "images_with_provenance": prov_ok,
        "problems": bad,
        "attribute_warnings": warnings,
    }


def _short(e: Exception) -> str:
    return (str(e).splitlines() or [type(e).__name__])[0][:120] or type(e).__name__


def label_stats(records: list[dict]) -> dict:
    """Landmark visibility / in-frame shares, face size and render time."""
    vis = [np.mean(r["landmarks"]["visible"]) for r in records if r.get("landmarks")]
    inf = [np.mean(r["landmarks"]["in_frame"]) for r in records if r.get("landmarks")]
    size = [math.sqrt(max(0.0, (b[2] - b[0]) * (b[3] - b[1]))) for b in (r.get("face_bbox") for r in records) if b]
    secs = [sum((r.get("render") or {}).get("seconds", {}).values()) for r in records]
    backends = Counter((r.get("render") or {}).get("backend", "unknown") for r in records)
    return {
        "landmarks_visible_share": summarise([float(x) for x in vis]),
        "landmarks_in_frame_share": summarise([float(x) for x in inf]),
        "face_bbox_size_px": summarise(size),
        "seconds_per_sample": summarise(secs),
        "backends": dict(backends),
        "resolutions": dict(Counter(f"{r['width']}x{r['height']}" for r in records)),
    }


# --------------------------------------------------------------------------- the audit


def provenance(header: dict) -> dict:
    """Generator, versions and run parameters from dataset.json (everything but the big blocks)."""
    skip = {"catalog", "classes", "landmarks", "landmark_layout", "class_table", "failed"}
    out = {k: v for k, v in header.items() if k not in skip}
    out.setdefault("audited_by", f"facefarm {__version__}")
    if header.get("failed"):
        out["failed_samples"] = len(header["failed"])
    return out


def audit(dataset_root: str | os.PathLike, source: SourceDataset | None = None, verify: bool = False) -> dict:
    """All datasheet facts of a dataset as a JSON-able dict (no files written).

    ``verify``: hash and decode every sample's files, not just up to ``_CHECK_MAX`` of them.
    """
    source = source or open_dataset(dataset_root)
    records = list(source.records)
    catalog = source.header.get("catalog") or {}
    tables = intersections(records, catalog)
    return {
        "statement": STATEMENT,
        "purpose": PURPOSE,
        "limits": list(LIMITS),
        "dataset": str(dataset_root),
        "n_samples": len(records),
        "n_identities": len({r["identity_id"] for r in records}),
        "n_planned": source.header.get("n_planned", source.header.get("n_requested", len(records))),
        "partial": partial_note(source.header, len(records)),
        "provenance": provenance(source.header),
        "catalog": catalog,
        "taxonomy": taxonomy_mapping(catalog),
        "distributions": distributions(records),
        "group_counts": {
            k: summarise([factors(r.get("attributes") or {})[k] for r in records])["counts"]
            for k in ("ethnicity", "age_band", "gender_band", "glasses", "monk_tone")
        }
        if records
        else {},
        "intersections": tables,
        "largest_imbalance": largest_imbalance(tables),
        "labels": label_stats(records),
        "checks": check_files(source, limit=None if verify else _CHECK_MAX),
        "licence": licence(records),
    }


#: asset kind (:data:`~facefarm.catalog.vocabulary.DEFAULT_KNOWN_ASSETS`) -> where a sample's id of it is
_ASSET_PATHS = {
    "hdri": "lighting.hdri",
    "hair_style": "hair.style",
    "glasses": "glasses.family",
    "clothing": "clothing.id",
    "headwear": "headwear.id",
}


def licence(records: list[dict]) -> dict:
    """The dataset's licence, the licences of what went into the renders (``assets/manifest.json``), and the
    asset ids the samples use that facefarm does not ship (user assets, whose licences bind the renders too)."""
    try:
        manifest = json.loads((ASSETS / "manifest.json").read_text())
    except (OSError, ValueError):
        manifest = {}
    inputs = [
        {"name": m.get("name", ""), "licence": m.get("licence", ""), "url": m.get("homepage", "")}
        for key in ("sources", "reference_data")
        for m in manifest.get(key) or []
    ]
    inputs.append(
        {
            "name": "HDRI environments (the studio lights shipped inside the bpy wheel)",
            "licence": "CC0-1.0",
            "url": "https://www.blender.org",
        }
    )
    inputs.append(
        {
            "name": "facefarm's own assets (segmentation regions, landmark definitions, glasses families, "
            "hair styles, garments, catalogs)",
            "licence": "Apache-2.0",
            "url": "",
        }
    )
    user: dict[str, set[str]] = {}
    for r in records:
        attributes = r.get("attributes") or {}
        for kind, path in _ASSET_PATHS.items():
            value = _get(attributes, path)
            if isinstance(value, str) and value not in DEFAULT_KNOWN_ASSETS[kind] and value != "none":
                user.setdefault(kind, set()).add(value)
    return {
        "licence": LICENCE,
        "url": LICENCE_URL,
        "inputs": inputs,
        "user_assets": {k: sorted(v) for k, v in sorted(user.items())},
    }


def taxonomy_mapping(catalog: dict) -> dict:
    """label -> {parameter: readable distribution} from the catalog's ancestry taxonomy."""
    tax = ((catalog.get("ancestry") or {}).get("taxonomy")) or {}
    out = {}
    for label, priors in sorted((tax.get("labels") or {}).items()):
        out[label] = {k: describe(v) for k, v in priors.items()}
    return out


#: Taxonomy parameters in the order the datasheet shows them.
_TAXONOMY_COLUMNS = (
    "shape_bases",
    "skin_melanin",
    "skin_haemoglobin",
    "hair_melanin",
    "hair_redness",
    "hair_curl",
    "eye_colors",
)


def catalog_settings(catalog: dict, prefix: str = "") -> list[tuple[str, str]]:
    """Every catalog setting as ``(dotted path, readable value)``, distributions in words."""
    out = []
    for k, v in catalog.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict) and "kind" in v:
            out.append((path, describe(v)))
        elif isinstance(v, dict) and v:
            out.extend(catalog_settings(v, path + "."))
        else:
            out.append((path, json.dumps(v, sort_keys=True)))
    return out


def describe(v) -> str:
    """A distribution or value from the catalog JSON, in words (``uniform 0.1..0.3``)."""
    if isinstance(v, dict) and "kind" in v:
        k = v["kind"]
        if k == "fixed":
            return f"{v['value']}"
        if k == "uniform":
            return f"uniform {v['min']:g}..{v['max']:g}"
        if k == "normal":
            return f"normal(mean {v['mean']:g}, sd {v['sd']:g})"
        if k == "truncnormal":
            return f"normal(mean {v['mean']:g}, sd {v['sd']:g}) in {v['min']:g}..{v['max']:g}"
        if k == "categorical" and isinstance(v.get("weights"), dict):
            total = sum(v["weights"].values())
            return ", ".join(f"{a} {w / total:.0%}" for a, w in sorted(v["weights"].items(), key=lambda x: -x[1]))
        if k == "categorical":
            w = v.get("weights") or [1] * len(v["values"])
            return ", ".join(f"{a:g} ({b / sum(w):.0%})" for a, b in zip(v["values"], w))
    if isinstance(v, dict):
        total = sum(x for x in v.values() if isinstance(x, (int, float))) or 1
        if all(isinstance(x, (int, float)) for x in v.values()):
            return ", ".join(f"{a} {b / total:.2f}" for a, b in v.items())
        return json.dumps(v, sort_keys=True)
    return str(v)


# --------------------------------------------------------------------------- plots


def _figure(w: float, h: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=100)
    FigureCanvasAgg(fig)  # Agg without pyplot: no global state, no display needed
    return fig


def _save(fig, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path)
    return path.name


def plot_monk(dist: dict, path: Path) -> str:
    """Bar chart of Monk Skin Tone counts, each bar in its orb colour."""
    from matplotlib.ticker import MaxNLocator

    counts = (dist or {}).get("counts", {})
    fig = _figure(6, 3)
    ax = fig.add_subplot()
    tones = list(range(1, 11))
    ax.bar(tones, [counts.get(str(t), 0) for t in tones], color=list(MONK_SRGB), edgecolor="#444444")
    ax.set_xticks(tones)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("Monk Skin Tone (from melanin decile)")
    ax.set_ylabel("samples")
    ax.set_title("Skin tone")
    return _save(fig, path)


def plot_age(values: list, path: Path) -> str:
    """Age histogram (1-year bins up to 90) with the age bands marked."""
    fig = _figure(6, 3)
    ax = fig.add_subplot()
    ages = [v for v in values if v is not None]
    ax.hist(ages, bins=np.arange(0, 92, 2), color="#4c72b0")
    for lo, _, name in AGE_BANDS[1:]:
        ax.axvline(lo, color="#888888", lw=0.8, ls="--")
    ax.set_xlabel("age (years); dashed lines: age bands " + ", ".join(b[2] for b in AGE_BANDS))
    ax.set_ylabel("samples")
    ax.set_title("Age")
    return _save(fig, path)


def ternary_xy(weights: np.ndarray) -> np.ndarray:
    """(n, 3) simplex weights (african, asian, caucasian) -> (n, 2) points in an equilateral triangle."""
    w = np.asarray(weights, dtype=float)
    w = w / np.clip(w.sum(axis=1, keepdims=True), 1e-12, None)
    return np.column_stack([w[:, 1] + 0.5 * w[:, 2], w[:, 2] * math.sqrt(3) / 2])


def plot_simplex(records: list[dict], path: Path) -> str:
    """Ternary scatter of each sample's ancestry shape-base weights, coloured by ethnicity group."""
    bases = ("african", "asian", "caucasian")
    fig = _figure(5.5, 5)
    ax = fig.add_subplot()
    corners = ternary_xy(np.eye(3))
    tri = np.vstack([corners, corners[:1]])
    ax.plot(tri[:, 0], tri[:, 1], color="black", lw=1)
    for t in (0.2, 0.4, 0.6, 0.8):  # grid lines of constant weight
        for i in range(3):
            a, b = np.zeros(3), np.zeros(3)
            a[i] = b[i] = t
            a[(i + 1) % 3], b[(i + 2) % 3] = 1 - t, 1 - t
            seg = ternary_xy(np.stack([a, b]))
            ax.plot(seg[:, 0], seg[:, 1], color="#dddddd", lw=0.6, zorder=0)
    groups: dict[str, list] = {}
    for r in records:
        attrs = r.get("attributes") or {}
        w = attrs.get("ancestry_weights") or {}
        if w:
            groups.setdefault(ethnicity_group(attrs), []).append([w.get(b, 0.0) for b in bases])
    for name in sorted(groups):
        xy = ternary_xy(np.asarray(groups[name]))
        ax.scatter(xy[:, 0], xy[:, 1], s=14, alpha=0.7, label=f"{name} ({len(xy)})")
    for (x, y), name, off in zip(corners, bases, ((-0.02, -0.06), (0.02, -0.06), (0, 0.03))):
        ax.text(x + off[0], y + off[1], name, ha="center")
    ax.set_xlim(-0.1, 1.1)
    ax.set_ylim(-0.1, 1.0)
    ax.set_aspect("equal")
    ax.axis("off")
    if groups:
        ax.legend(loc="upper right", fontsize=7, title="ethnicity group", title_fontsize=7)
    ax.set_title("Ancestry shape-base weights (simplex)")
    return _save(fig, path)


def _constant(d: dict) -> bool:
    return (d["kind"] == "categorical" and len(d["counts"]) == 1) or (
        d["kind"] == "continuous" and d["min"] == d["max"]
    )


def _is_colour_channel(name: str) -> bool:
    return re.search(r"_rgb\[\d\]$", name) is not None


def plot_grid(dists: dict[str, dict], columns: dict[str, list], kind: str, path: Path) -> str | None:
    """Small multiples: a bar chart per categorical or a histogram per continuous attribute.

    Left out: attributes with a single value (the datasheet lists them as constant), many-key
    groups (their own plots) and colour channels (see :func:`plot_colours`).
    """
    names = [
        n
        for n, d in dists.items()
        if d["kind"] == kind and not n.startswith(_MULTI_KEY) and not _constant(d) and not _is_colour_channel(n)
    ]
    if not names:
        return None
    ncol = 5
    nrow = math.ceil(len(names) / ncol)
    fig = _figure(3.2 * ncol, 2.0 * nrow)
    for i, name in enumerate(names):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        d = dists[name]
        if kind == "categorical":
            items = list(d["counts"].items())
            if len(items) > _MAX_CATEGORIES:
                items = sorted(items, key=lambda kv: -kv[1])[:_MAX_CATEGORIES]
            ax.barh([k[:18] for k, _ in items], [v for _, v in items], color="#55a868")
            ax.invert_yaxis()
            top = max(v for _, v in items)
            ax.set_xticks([0, top], ["0", str(top)])
        else:
            # Text layout dominates matplotlib's cost here, so each panel gets few, fixed ticks:
            # the range on x, the tallest bar on y.
            counts, edges = np.histogram([v for v in columns[name] if v is not None], bins=20)
            ax.stairs(counts, edges, fill=True, color="#4c72b0")  # one artist, not 20 patches
            ax.set_xticks([edges[0], edges[-1]], [f"{edges[0]:.3g}", f"{edges[-1]:.3g}"])
            ax.set_yticks([counts.max()], [str(counts.max())])
        ax.tick_params(labelsize=6, pad=1)
        ax.set_title(name, fontsize=7, pad=2)
    # tight_layout costs seconds on a grid this size; fixed margins fit these small labels
    fig.subplots_adjust(
        left=0.07,
        right=0.99,
        bottom=0.02 + 0.3 / nrow,
        top=1 - 0.35 / nrow,
        wspace=0.45 if kind == "categorical" else 0.25,
        hspace=0.55,
    )
    fig.savefig(path)
    return path.name


def plot_colours(columns: dict[str, list], path: Path, limit: int = 240) -> str | None:
    """One strip of swatches per colour attribute (sRGB), sorted dark to light."""
    names = sorted({n[:-3] for n in columns if _is_colour_channel(n)})
    strips = []
    for name in names:
        chans = [columns.get(f"{name}[{i}]") for i in range(3)]
        if any(c is None for c in chans):
            continue
        rgb = np.array([c for c in zip(*chans) if None not in c], dtype=float)
        if rgb.size == 0:
            continue
        rgb = rgb[np.argsort(rgb @ [0.2126, 0.7152, 0.0722])]
        if len(rgb) > limit:  # evenly spaced picks keep the spread of the sorted colours
            rgb = rgb[np.linspace(0, len(rgb) - 1, limit).round().astype(int)]
        strips.append((name, np.clip(rgb, 0, 1)))
    if not strips:
        return None
    height = 0.45 * len(strips) + 0.6
    fig = _figure(8, height)
    for i, (name, rgb) in enumerate(strips):
        ax = fig.add_subplot(len(strips), 1, i + 1)
        ax.imshow(rgb[None], aspect="auto", interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(f"{name} ({len(rgb)})", rotation=0, ha="right", va="center", fontsize=7)
    fig.suptitle("Colours (sRGB), sorted dark to light", fontsize=9)
    fig.subplots_adjust(left=0.3, right=0.99, top=1 - 0.4 / height, bottom=0.02, hspace=0.25)
    fig.savefig(path)
    return path.name


def plot_multikey(dists: dict[str, dict], prefix: str, title: str, path: Path) -> str | None:
    """Median and spread of each key of a many-key attribute (expression units, shape details)."""
    names = [n for n in dists if n.startswith(prefix) and dists[n]["kind"] == "continuous"]
    if not names:
        return None
    fig = _figure(8, max(2.5, 0.16 * len(names) + 1))
    ax = fig.add_subplot()
    mid = [dists[n]["median"] for n in names]
    lo = [dists[n]["median"] - dists[n]["p5"] for n in names]
    hi = [dists[n]["p95"] - dists[n]["median"] for n in names]
    y = np.arange(len(names))
    ax.barh(y, mid, xerr=[lo, hi], color="#8172b2", error_kw={"lw": 0.6})
    ax.set_yticks(y, [n[len(prefix) :] for n in names], fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("median (whiskers: 5th-95th percentile)")
    ax.set_title(title)
    return _save(fig, path)


def plot_table(table: dict, path: Path) -> str | None:
    """Heat map of a crosstab: first factor on rows, the others combined on columns."""
    keys = table["factors"]
    if not table["cells"]:
        return None
    rows = table["levels"][keys[0]]
    cols = list(itertools.product(*(table["levels"][k] for k in keys[1:]))) if len(keys) > 1 else [()]
    lookup = {tuple(c["levels"]): c["count"] for c in table["cells"]}
    m = np.array([[lookup.get((r,) + c, 0) for c in cols] for r in rows])
    fig = _figure(max(5, 0.9 * len(cols) + 2), max(2.5, 0.45 * len(rows) + 1.5))
    ax = fig.add_subplot()
    im = ax.imshow(m, cmap="viridis", aspect="auto")
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    ax.set_xticks(range(len(cols)), ["\n".join(c) for c in cols], fontsize=6, rotation=0)
    for (i, j), v in np.ndenumerate(m):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color="white" if v < m.max() * 0.6 else "black")
    fig.colorbar(im, ax=ax, fraction=0.03)
    ax.set_title(" x ".join(keys) + " (counts)", fontsize=9)
    return _save(fig, path)


def contact_sheet(source: SourceDataset, records: list[dict], title: str, path: Path) -> str:
    """A grid of up to 16 thumbnails with sample id, age and Monk tone under each.

    One image per identity first (in index order), so the sheet shows as many different
    people as it can; then further images in index order.
    """
    from PIL import Image, ImageDraw, ImageFont

    firsts: list[dict] = []
    rest: list[dict] = []
    seen: set[str] = set()
    for r in records:
        (rest if r["identity_id"] in seen else firsts).append(r)
        seen.add(r["identity_id"])
    picks = (firsts + rest)[:_CONTACT_MAX]
    ncol = min(_CONTACT_COLUMNS, len(picks))
    nrow = math.ceil(len(picks) / ncol)
    cap = 14
    sheet = Image.new("RGB", (ncol * _THUMB, 20 + nrow * (_THUMB + cap)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    draw.text((4, 4), f"{title} - {len(records)} samples, first {len(picks)} shown", fill="black", font=font)
    for i, r in enumerate(picks):
        try:
            img = Image.fromarray(source.image(r)).convert("RGB").resize((_THUMB, _THUMB), Image.Resampling.BILINEAR)
        except Exception:  # noqa: BLE001 - damaged, missing or unsafe: reported by check_files; grey here
            img = Image.new("RGB", (_THUMB, _THUMB), (128, 128, 128))
        x, y = (i % ncol) * _THUMB, 20 + (i // ncol) * (_THUMB + cap)
        sheet.paste(img, (x, y))
        a = r.get("attributes") or {}
        age = a.get("age_years")
        tone = _get(a, "skin.monk_tone")
        label = f"{r['sample_id']} {'' if age is None else f'{age:.0f}y'} {'' if tone is None else f'MST{tone}'}"
        draw.text((x + 2, y + _THUMB + 1), label, fill="black", font=font)
    sheet.save(path)
    return path.name


def _slug(s: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in s)[:60] or "group"


def write_plots(source: SourceDataset, facts: dict, folder: Path) -> dict[str, str]:
    """Write every plot and contact sheet into ``folder``; returns {what: file name}."""
    records = list(source.records)
    dists = facts["distributions"]
    columns = attribute_columns(records)
    plots: dict[str, str] = {}
    if "skin.monk_tone" in dists:
        plots["monk_tone"] = plot_monk(dists["skin.monk_tone"], folder / "monk_tone.png")
    if "age_years" in columns:
        plots["age"] = plot_age(columns["age_years"], folder / "age.png")
    if any(n.startswith("ancestry_weights.") for n in dists):
        plots["ancestry_simplex"] = plot_simplex(records, folder / "ancestry_simplex.png")
    for kind in ("categorical", "continuous"):
        name = plot_grid(dists, columns, kind, folder / f"{kind}.png")
        if name:
            plots[kind] = name
    name = plot_colours(columns, folder / "colours.png")
    if name:
        plots["colours"] = name
    for prefix, key, title in (
        ("expression.units.", "expression_units", "Expression unit weights"),
        ("shape_details.", "shape_details", "Identity shape details"),
    ):
        name = plot_multikey(dists, prefix, title, folder / f"{key}.png")
        if name:
            plots[key] = name
    for i, (tname, table) in enumerate(facts["intersections"].items()):
        name = plot_table(table, folder / f"intersection_{i}.png")
        if name:
            plots[f"intersection: {tname}"] = name
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(ethnicity_group(r.get("attributes") or {}), []).append(r)
    for g in sorted(groups):
        plots[f"contact: {g}"] = contact_sheet(
            source, groups[g], f"ethnicity group: {g}", folder / f"contact_{_slug(g)}.png"
        )
    return plots


# --------------------------------------------------------------------------- markdown


def _fmt(x) -> str:
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


def _table_md(header: list[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c).replace("|", "/") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _crosstab_md(table: dict) -> str:
    keys = table["factors"]
    rows = table["levels"][keys[0]]
    cols = list(itertools.product(*(table["levels"][k] for k in keys[1:]))) if len(keys) > 1 else [()]
    lookup = {tuple(c["levels"]): c["count"] for c in table["cells"]}
    header = [keys[0]] + [" / ".join(c) or "count" for c in cols]
    return _table_md(header, [[r] + [lookup.get((r,) + c, 0) for c in cols] for r in rows])


def _summary_text(d: dict) -> str:
    if d["kind"] == "continuous":
        return f"mean {d['mean']:.3g}, median {d['median']:.3g}, 5-95% {d['p5']:.3g}..{d['p95']:.3g}"
    if d["kind"] == "categorical":
        return ", ".join(f"{a}: {b}" for a, b in d["counts"].items())
    return "-"


def _imbalance_line(name: str, t: dict) -> str:
    if t["ratio"] is None:
        return f"**{name}**: no samples."
    s = (
        f"**{name}**: max/min over non-empty cells = **{t['ratio']:.2f}** "
        f"(most: {' / '.join(t['max']['levels'])} = {t['max']['count']}; "
        f"least: {' / '.join(t['min']['levels'])} = {t['min']['count']})"
    )
    if t["empty"]:
        shown = "; ".join(" / ".join(e) for e in t["empty"][:8])
        more = f" and {len(t['empty']) - 8} more" if len(t["empty"]) > 8 else ""
        s += f"; **{len(t['empty'])} of {t['n_cells']} cells empty** ({shown}{more})"
    return s + "."


def render_markdown(facts: dict, plots: dict[str, str]) -> str:
    """datasheet.md from the :func:`audit` facts and the plot file names."""
    md = [
        f"# Datasheet: {facts['dataset']}\n",
        f"## Synthetic data\n\n{facts['statement']}\n",
        f"**Intended use.** {facts['purpose']}\n",
        "**Known limits.**\n\n" + "".join(f"- {x}\n" for x in facts["limits"]),
    ]
    n, ni = facts["n_samples"], facts["n_identities"]
    md.append(f"## Summary\n\n{n} images of {ni} identities.\n")
    if facts.get("partial"):
        md.append(f"**{facts['partial']}** Every count below is of the {n} samples present.\n")
    big = facts["largest_imbalance"]
    if big:
        md.append(
            f"**Largest imbalance** ({big['table']}): most-filled cell {' / '.join(big['max_cell']['levels'])} "
            f"has {big['max_cell']['count']} samples, least-filled non-empty cell "
            f"{' / '.join(big['min_cell']['levels'])} has {big['min_cell']['count']} "
            f"(ratio {big['ratio']:.2f}); {big['empty_cells']} of {big['n_cells']} cells are empty.\n"
        )
        me = big["most_empty"]
        if me["empty_cells"]:
            md.append(
                f"**Most empty cells** ({me['table']}): {me['empty_cells']} of {me['n_cells']} "
                f"combinations have no sample, e.g. " + "; ".join(" / ".join(c) for c in me["examples"]) + ".\n"
            )
    md.append(_licence_md(facts.get("licence") or licence([])))
    prov = facts["provenance"]
    md.append(
        "## Provenance and versions\n\n"
        + _table_md(
            ["field", "value"],
            [[k, json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v] for k, v in prov.items()],
        )
    )
    chk = facts["checks"]
    md.append(
        f"**Checks** on {chk['samples_checked']} samples: {chk['files_hash_ok']} files match their "
        f"sha256, {chk['files_hash_mismatch']} do not; {chk['images_with_provenance']} images carry "
        f"the provenance text chunks (synthetic=true)."
    )
    if chk["problems"]:
        md.append(" Problems: " + ", ".join(chk["problems"][:20]))
    warn = chk.get("attribute_warnings") or []
    md.append(
        f"\n\n**Sampled vs. rendered**: {len(warn)} attribute(s) the segmentation contradicts "
        "(glasses, headwear or facial hair sampled but without pixels of their class, or the reverse; "
        "an item can also be hidden legitimately)" + (": " + "; ".join(warn[:20]) if warn else "") + "."
    )
    md.append("\n")
    md.append(
        "## Catalog and taxonomy\n\nThe catalog that produced every sample (its full JSON is in "
        "datasheet.json and dataset.json). Each taxonomy label is nothing but a set of appearance "
        "priors, mapped to the head model's parameters as follows:\n"
    )
    tax = facts["taxonomy"]
    if tax:
        params = [p for p in _TAXONOMY_COLUMNS if any(p in m for m in tax.values())]
        params += sorted({p for m in tax.values() for p in m} - set(params) - {"description"})
        md.append(_table_md(["label"] + params, [[label] + [m.get(p, "") for p in params] for label, m in tax.items()]))
        md.append(
            "\n" + "".join(f"- **{label}**: {m['description']}\n" for label, m in tax.items() if m.get("description"))
        )
    else:
        md.append("(no taxonomy in the catalog)\n")
    settings = catalog_settings({k: v for k, v in facts["catalog"].items() if k != "description"})
    settings = [(k, v) for k, v in settings if not k.startswith("ancestry.taxonomy.")]
    md.append(
        "\n<details><summary>Catalog settings</summary>\n\n"
        + _table_md(["setting", "value"], settings)
        + "\n</details>\n"
    )
    md.append("## Distributions\n")
    for key, title in (
        ("monk_tone", "Skin tone (Monk scale)"),
        ("age", "Age"),
        ("ancestry_simplex", "Ancestry shape-base weights"),
    ):
        if key in plots:
            md.append(f"### {title}\n\n![{title}]({plots[key]})\n")
    gc = facts["group_counts"]
    if gc:
        md.append(
            "### Groups\n\n"
            + "".join(f"- **{k}**: " + ", ".join(f"{a} {b}" for a, b in v.items()) + "\n" for k, v in gc.items())
        )
    dists = facts["distributions"]
    main = {k: d for k, d in dists.items() if not k.startswith(_MD_GROUPED)}
    cats = [(k, d) for k, d in main.items() if d["kind"] == "categorical"]
    conts = [(k, d) for k, d in main.items() if d["kind"] == "continuous"]
    if cats:
        md.append(
            "\n### Categorical attributes\n\n"
            + _table_md(
                ["attribute", "counts", "missing"],
                [[k, ", ".join(f"{a}: {b}" for a, b in list(d["counts"].items())[:24]), d["missing"]] for k, d in cats],
            )
        )
        if "categorical" in plots:
            md.append(f"\n![categorical]({plots['categorical']})\n")
    if conts:
        md.append(
            "\n### Continuous attributes\n\n"
            + _table_md(
                ["attribute", "n", "mean", "sd", "min", "p5", "median", "p95", "max"],
                [[k, d["n"], d["mean"], d["sd"], d["min"], d["p5"], d["median"], d["p95"], d["max"]] for k, d in conts],
            )
        )
        for key in ("continuous", "colours"):
            if key in plots:
                md.append(f"\n![{key}]({plots[key]})\n")
    for prefix, title in _MD_GROUPS:
        group = [(k, d) for k, d in dists.items() if k.startswith(prefix)]
        if not group:
            continue
        md.append(
            f"\n### {title}\n\n"
            + _table_md(
                ["key", "samples", "summary"], [[k[len(prefix) :], d.get("n", 0), _summary_text(d)] for k, d in group]
            )
        )
        key = prefix.rstrip(".").replace(".", "_")
        if key in plots:
            md.append(f"\n![{key}]({plots[key]})\n")
    constant = [k for k, d in main.items() if _constant(d)]
    if constant:
        md.append("\nConstant in this dataset (one value only, not plotted): " + ", ".join(constant) + ".\n")
    md.append(
        "\n## Intersections\n\nCounts over every combination of levels, including combinations "
        'that never occur. A mixed-ancestry sample is in the group "mixed".\n'
    )
    for name, t in facts["intersections"].items():
        md.append(f"\n### {name}\n\n" + _imbalance_line(name, t) + "\n\n" + _crosstab_md(t))
        if t.get("excluded_quota_samples"):
            md.append(f"\n({t['excluded_quota_samples']} quota samples outside the strata are not in this table.)\n")
        if f"intersection: {name}" in plots:
            md.append(f"\n![{name}]({plots[f'intersection: {name}']})\n")
    lab = facts["labels"]
    md.append(
        "\n## Labels and rendering\n\n"
        + _table_md(
            ["quantity", "mean", "min", "max"],
            [
                [k, d.get("mean", ""), d.get("min", ""), d.get("max", "")]
                for k, d in lab.items()
                if isinstance(d, dict) and d.get("kind") == "continuous"
            ],
        )
    )
    md.append(f"\nBack-ends: {lab['backends']}; resolutions: {lab['resolutions']}.\n")
    contacts = [(k[len("contact: ") :], v) for k, v in plots.items() if k.startswith("contact: ")]
    if contacts:
        md.append("\n## Contact sheets\n\n" + "".join(f"### {g}\n\n![{g}]({f})\n\n" for g, f in contacts))
    return "\n".join(md)


def _licence_md(lic: dict) -> str:
    lines = [
        f"## Licence\n\nThe images and labels are released under **{lic['licence']}** ({lic['url']}): they "
        "are renders of CC0 models and facefarm's own assets, and depict no real person. What went into them:\n"
    ]
    lines.append(_table_md(["input", "licence"], [[i["name"], i["licence"]] for i in lic["inputs"]]).rstrip("\n"))
    if lic["user_assets"]:
        ids = "; ".join(f"{k}: {', '.join(v)}" for k, v in lic["user_assets"].items())
        lines.append(
            f"\n**User assets** ({ids}) are not facefarm's: their licences (`facefarm assets validate` "
            "lists each sidecar's) bind these renders too; change the licence above to match them.\n"
        )
    else:
        lines.append("\nNo user assets were used.\n")
    lines.append(
        f"Machine-readable metadata: [{CROISSANT_FILE}]({CROISSANT_FILE}) (Croissant 1.0 with the "
        "Responsible-AI fields; its paths are relative to the dataset root).\n"
    )
    return "\n".join(lines)


def legacy_datasheet(folder: Path) -> set[str] | None:
    """The files a datasheet written before ownership files existed holds: its plots, .md and .json."""
    try:
        facts = json.loads((folder / "datasheet.json").read_text())
        plots = [p for p in (facts.get("plots") or {}).values() if isinstance(p, str) and "/" not in p]
    except (OSError, ValueError, AttributeError):
        return None
    if facts.get("statement") != STATEMENT:  # not a facefarm datasheet
        return None
    return {"datasheet.md", "datasheet.json", *plots}


def write_datasheet(
    dataset_root: str | os.PathLike, dest: str | os.PathLike | None = None, plots: bool = True, verify: bool = False
) -> Path:
    """Write ``{dataset_root}/datasheet/`` (or ``dest``); returns the path of datasheet.md.

    ``plots=False`` skips the PNGs (a few seconds of matplotlib) and writes the text and JSON only.
    The folder is rebuilt whole and swapped in, so a failed run leaves the previous datasheet.
    """
    source = open_dataset(dataset_root)
    if dest is None:
        if not source.store.is_local:
            raise ValueError(f"{dataset_root} is not a local folder: pass a local destination for the datasheet")
        dest = source.store.local_path(DATASHEET_DIR)
    dest = Path(dest)
    check_replaceable(dest, legacy_datasheet)  # before the work: a folder not ours stops it at once
    facts = audit(dataset_root, source, verify=verify)
    with staged_folder(dest, "datasheet", legacy_datasheet) as tmp:
        figures = write_plots(source, facts, tmp) if plots and source.records else {}
        facts["plots"] = figures
        (tmp / "datasheet.json").write_text(json.dumps(facts, indent=1, sort_keys=False, default=str) + "\n")
        (tmp / "datasheet.md").write_text(render_markdown(facts, figures))
        (tmp / CROISSANT_FILE).write_text(json.dumps(croissant(facts, source.header), indent=1) + "\n")
    return dest / "datasheet.md"
