"""Per-sample files and the dataset manifest.

Layout of a dataset root (documented in the README, "Output format")::

    dataset.json                 header: schema version, catalog, its hash, versions, counts
    manifest.jsonl               one record per complete sample, ordered by index
    samples/{id}.png             RGB, sRGB, with provenance PNG text chunks
    samples/{id}_seg.png         uint8 class ids (facefarm/assets/schema/classes.json)
    samples/{id}_depth.png       uint16 camera z in units of ``depth_scale_m`` (0 = background)
    samples/{id}.json            full labels (also dense landmarks); written LAST = commit marker

A sample exists iff its ``.json`` exists: every file is written atomically and the
label file goes last, so an interrupted run leaves whole samples only, and a re-run
renders exactly the samples whose label file is missing.
"""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
from PIL import Image, PngImagePlugin

from facefarm.sample.store import Store

SCHEMA_VERSION = 1
DEPTH_SCALE_M = 1e-4  # one uint16 step = 0.1 mm, so depths up to 6.5 m fit
SAMPLES = "samples"


def sample_names(sample_id: str) -> dict[str, str]:
    """Relative file names of one sample's outputs."""
    return {
        "image": f"{SAMPLES}/{sample_id}.png",
        "segmentation": f"{SAMPLES}/{sample_id}_seg.png",
        "depth": f"{SAMPLES}/{sample_id}_depth.png",
        "labels": f"{SAMPLES}/{sample_id}.json",
    }


def encode_png(array: np.ndarray, text: dict[str, str] | None = None, compress_level: int = 1) -> bytes:
    """PNG bytes of an (H, W, 3) uint8, (H, W) uint8 or (H, W) uint16 array, with optional tEXt chunks."""
    if array.dtype == np.uint16:
        img = Image.fromarray(np.ascontiguousarray(array))  # uint16 -> mode "I;16"
    else:
        img = Image.fromarray(np.ascontiguousarray(array))
    info = None
    if text:
        info = PngImagePlugin.PngInfo()
        for k, v in text.items():
            info.add_text(k, str(v))
    buf = io.BytesIO()
    img.save(buf, format="PNG", pnginfo=info, compress_level=compress_level)
    return buf.getvalue()


def depth_to_uint16(depth_m: np.ndarray) -> np.ndarray:
    """(H, W) float metres -> (H, W) uint16 in DEPTH_SCALE_M steps; 0 stays 0 (no surface)."""
    q = np.round(np.asarray(depth_m, np.float64) / DEPTH_SCALE_M)
    return np.clip(q, 0, np.iinfo(np.uint16).max).astype(np.uint16)


def encode_files(rgb: np.ndarray, segmentation: np.ndarray, depth: np.ndarray,
                 provenance: dict[str, str]) -> dict[str, bytes]:
    """Encode the image outputs of one sample; keys as in :func:`sample_names` (without labels)."""
    return {
        "image": encode_png(rgb, text=provenance),
        "segmentation": encode_png(segmentation.astype(np.uint8), text=provenance),
        "depth": encode_png(depth_to_uint16(depth), text=provenance),
    }


def write_sample(store: Store, sample_id: str, files: dict[str, bytes], record: dict) -> dict:
    """Write a sample's files, then its label record (the commit marker). Returns the record."""
    names = sample_names(sample_id)
    record = dict(record)
    record["files"] = {k: names[k] for k in files}
    record["sha256"] = {k: hashlib.sha256(v).hexdigest() for k, v in files.items()}
    for key, data in files.items():
        store.put(names[key], data)
    store.put(names["labels"], (json.dumps(record, separators=(",", ":")) + "\n").encode())
    return record


def is_complete(store: Store, sample_id: str) -> bool:
    return store.exists(sample_names(sample_id)["labels"])


def read_record(store: Store, sample_id: str) -> dict:
    return json.loads(store.get(sample_names(sample_id)["labels"]))


def complete_ids(store: Store) -> set[str]:
    """Sample ids whose label file exists (i.e. finished samples)."""
    out = set()
    for name in store.list(SAMPLES, ".json"):
        stem = name.rsplit("/", 1)[-1][: -len(".json")]
        out.add(stem)
    return out


MANIFEST_DROP = ("dense",)  # big arrays stay in the per-sample label file


def manifest_line(record: dict) -> dict:
    """The manifest's view of a record: everything but the dense arrays, plus the label file name."""
    line = {k: v for k, v in record.items() if k not in MANIFEST_DROP}
    line["files"] = dict(record["files"], labels=sample_names(record["sample_id"])["labels"])
    return line


def write_manifest(store: Store, header: dict, records: list[dict]) -> None:
    """Write manifest.jsonl (ordered by index) then dataset.json, each atomically."""
    records = sorted(records, key=lambda r: r["index"])
    body = "".join(json.dumps(manifest_line(r), separators=(",", ":")) + "\n" for r in records)
    store.put("manifest.jsonl", body.encode())
    header = dict(header, schema_version=SCHEMA_VERSION, n_samples=len(records),
                  manifest_sha256=hashlib.sha256(body.encode()).hexdigest())
    store.put("dataset.json", (json.dumps(header, indent=1) + "\n").encode())


def read_header(store: Store) -> dict | None:
    if not store.exists("dataset.json"):
        return None
    return json.loads(store.get("dataset.json"))
