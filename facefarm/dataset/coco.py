"""COCO export: keypoints (one ``face`` category with the 70 named landmarks) and per-class masks.

Layout under the destination::

    annotations/face_keypoints_{split}.json   COCO dict (images, annotations, categories, info, licenses)
    annotations/face_parts_{split}.json       COCO masks: one category per segmentation class
    {split}/{sample_key}.png                   the RGB images (``file_name`` is relative to this folder;
                                               .jpg / .webp for a JPEG / WebP dataset)

``face_parts``: the categories are the dataset's segmentation classes with their own ids
(``facefarm/assets/schema/classes.json``: 1 SKIN ... 18 FACEWEAR; BACKGROUND and IGNORE left out), and
each image has one annotation per class present in it: ``segmentation`` the RLE of exactly the pixels of
that class (``pycocotools.COCO.annToMask`` gives ``seg == id`` back), ``area``, ``bbox``, ``iscrowd`` 0.

One annotation per image (one face per image):

* ``keypoints``: 70 ``[x, y, v]`` triplets, v 0 = outside the image (x = y = 0, as COCO
  wants for unlabelled points), 1 = occluded, 2 = visible.
* Pixel convention. Our labels use the OpenCV convention (origin at the image's top-left
  corner, pixel centres at +0.5). COCO boxes and polygons use that same corner origin, but
  COCO keypoints are conventionally *pixel indices* (centre of the top-left pixel = 0, 0):
  Detectron2, for one, adds 0.5 to COCO keypoints when it loads them. So keypoints are
  written as ``uv - 0.5`` (:data:`KEYPOINT_SHIFT_PX`) and a loader that adds 0.5 gets our
  labels back exactly; ``bbox`` and ``segmentation`` are in the corner convention, unshifted.
* ``segmentation``: RLE (pycocotools) of the face mask
  (:data:`facefarm.dataset.source.FACE_CLASSES`); ``area`` its pixel count;
  ``bbox`` ``[x, y, w, h]`` its tight box (the dataset's ``face_bbox`` when the mask is
  empty). The dataset's own ``face_bbox`` label (x0, y0, x1, y1) is kept as
  ``facefarm_face_bbox``.
* The category carries ``skeleton`` (1-based, as COCO's), ``flip_index`` (0-based: the
  point each one becomes under a horizontal flip) and ``oks_sigmas`` (70 values) — COCOeval
  hard-codes 17 sigmas, so set ``params.kpt_oks_sigmas = np.array(cat["oks_sigmas"])``.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any

import numpy as np

from facefarm import __version__
from facefarm.dataset.source import (
    FACE_CLASS_NAMES,
    SourceDataset,
    face_mask,
    image_extension,
    landmarks_uv,
    legacy_export,
    sample_key,
    staged_folder,
    visibility_flags,
    write_json,
)
from facefarm.dataset.splits import DEFAULT_FRACTIONS, split_records
from facefarm.scene.classes import CLASS_IDS, N_LANDMARKS, landmark_layout, layout

FORMAT = "coco"
CATEGORY_ID = 1
#: Shift from our corner-origin landmark pixels to COCO's pixel-index keypoints.
KEYPOINT_SHIFT_PX = -0.5
#: One OKS sigma for every landmark. Face landmarks are defined about as tightly as COCO's
#: eyes (0.025); there is no published per-point table for this 70-point layout.
OKS_SIGMA = 0.025


def layout_of(name: str = "landmarks70") -> dict:
    """The landmark layout ``name`` (the 70 points, or another of :data:`facefarm.scene.classes.LAYOUTS`)."""
    return landmark_layout() if name == "landmarks70" else layout(name)


def category(layout_name: str = "landmarks70") -> dict:
    """The single COCO category: names, skeleton (1-based), flip index and OKS sigmas. A layout
    without a skeleton of its own (WFLW) gets one joining consecutive points of each group."""
    lay = layout_of(layout_name)
    skeleton = lay.get("skeleton") or [[k, k + 1] for a, b in lay["groups"].values() for k in range(a, b)]
    return {
        "id": CATEGORY_ID,
        "name": "face",
        "supercategory": "face",
        "keypoints": list(lay["names"]),
        "skeleton": [[a + 1, b + 1] for a, b in skeleton],
        "flip_index": list(lay["flip_index"]),
        "oks_sigmas": [OKS_SIGMA] * len(lay["names"]),
    }


def keypoint_triplets(record: dict, n: int = N_LANDMARKS) -> tuple[list[float], int]:
    """Flat ``[x1, y1, v1, ...]`` (3 ``n`` numbers) in COCO's convention and the count of v > 0."""
    uv = landmarks_uv(record, n) + KEYPOINT_SHIFT_PX
    v = visibility_flags(record)
    uv[v == 0] = 0.0
    flat = np.column_stack([np.round(uv, 3), v]).reshape(-1)
    return [float(x) if i % 3 != 2 else int(x) for i, x in enumerate(flat)], int((v > 0).sum())


def annotation(record: dict, segmentation: np.ndarray, ann_id: int, image_id: int, n: int = N_LANDMARKS) -> dict:
    """One face annotation from a record (``n`` landmarks) and its (H, W) uint8 segmentation."""
    from pycocotools import mask as mask_utils

    mask = np.asfortranarray(face_mask(segmentation).astype(np.uint8))
    rle = mask_utils.encode(mask)
    area = float(mask_utils.area(rle))
    bbox = [float(x) for x in mask_utils.toBbox(rle)]
    if area == 0 and record.get("face_bbox"):
        # no face pixel in view (e.g. hidden by a hat and hands): COCOeval's OKS divides by the
        # area, so fall back to the dataset's face box
        x0, y0, x1, y1 = (float(v) for v in record["face_bbox"])
        bbox, area = [x0, y0, x1 - x0, y1 - y0], max(0.0, (x1 - x0) * (y1 - y0))
    rle["counts"] = rle["counts"].decode("ascii")
    keypoints, n_kp = keypoint_triplets(record, n)
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": CATEGORY_ID,
        "iscrowd": 0,
        "area": area,
        "bbox": bbox,
        "segmentation": rle,
        "keypoints": keypoints,
        "num_keypoints": n_kp,
        "facefarm_face_bbox": record.get("face_bbox"),
    }


def part_categories(header: dict) -> list[dict]:
    """The COCO categories of ``face_parts``: every class of the dataset's class table but BACKGROUND and IGNORE."""
    table = (header.get("classes") or {}).get("classes") or [{"id": i, "name": n} for n, i in CLASS_IDS.items()]
    return [
        {
            "id": int(c["id"]),
            "name": str(c["name"]).lower(),
            "supercategory": "face" if c["name"] in FACE_CLASS_NAMES else "other",
        }
        for c in sorted(table, key=lambda c: int(c["id"]))
        if c["name"] not in ("BACKGROUND", "IGNORE")
    ]


def part_annotations(segmentation: np.ndarray, category_ids: list[int], first_id: int, image_id: int) -> list[dict]:
    """One annotation per class present in ``segmentation`` ((H, W) uint8 class ids): its exact RLE mask."""
    from pycocotools import mask as mask_utils

    out: list[dict] = []
    for cid in category_ids:
        mask = segmentation == cid
        if not mask.any():
            continue
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        area, bbox = float(mask_utils.area(rle)), [float(x) for x in mask_utils.toBbox(rle)]
        rle["counts"] = rle["counts"].decode("ascii")
        out.append(
            {
                "id": first_id + len(out),
                "image_id": image_id,
                "category_id": cid,
                "iscrowd": 0,
                "area": area,
                "bbox": bbox,
                "segmentation": rle,
            }
        )
    return out


def coco_dict(source: SourceDataset, records: list[dict], split: str) -> dict:
    """The COCO keypoints JSON of one split (reads each sample's segmentation)."""
    return coco_dicts(source, records, split)[0]


def coco_dicts(source: SourceDataset, records: list[dict], split: str) -> tuple[dict, dict]:
    """The COCO JSONs of one split, (keypoints, per-class masks); each segmentation is read once."""
    images: list[dict] = []
    annotations: list[dict] = []
    parts: list[dict] = []
    categories = part_categories(source.header)
    category_ids = [c["id"] for c in categories]
    for r in records:
        # ids are index + 1: COCOeval treats id 0 as "unmatched", and image ids follow suit.
        image_id = int(r["index"]) + 1
        images.append(
            {
                "id": image_id,
                "file_name": f"{sample_key(r)}.{image_extension(r)}",
                "width": int(r["width"]),
                "height": int(r["height"]),
                "sample_id": r["sample_id"],
                "identity_id": r["identity_id"],
                "license": 1,
            }
        )
        segmentation = source.image(r, "segmentation")
        annotations.append(annotation(r, segmentation, image_id, image_id, len(layout_of(source.layout)["names"])))
        parts += part_annotations(segmentation, category_ids, len(parts) + 1, image_id)
    header = source.header
    info: dict[str, Any] = {
        "description": "facefarm synthetic faces (computer-generated; no real person is depicted)",
        "version": str(header.get("schema_version", "")),
        "year": _dt.date.today().year,
        "contributor": f"facefarm {__version__}",
        "date_created": header.get("created", _dt.datetime.now(_dt.timezone.utc).isoformat()),
        "split": split,
        "catalog_hash": header.get("catalog_hash"),
        "synthetic": True,
        "box_convention": "corner origin: [x, y, w, h], the top-left pixel spans [0, 1)",
    }
    licenses = [{"id": 1, "name": "see the dataset's datasheet", "url": ""}]
    keypoints = {
        "info": dict(
            info,
            keypoint_convention="pixel indices: centre of the top-left pixel is (0, 0); add 0.5 for "
            "corner-origin coordinates (the dataset's own uv labels)",
            face_classes=list(FACE_CLASS_NAMES),
        ),
        "licenses": licenses,
        "images": images,
        "annotations": annotations,
        "categories": [category(source.layout)],
    }
    masks = {
        "info": dict(info, description=info["description"] + "; one mask per segmentation class"),
        "licenses": licenses,
        "images": images,
        "annotations": parts,
        "categories": categories,
    }
    return keypoints, masks


def export(source: SourceDataset, dest: str | os.PathLike, fractions=DEFAULT_FRACTIONS) -> dict[str, Path]:
    """Write the COCO export of ``source`` to ``dest``; returns {split: annotation file} (non-empty splits)."""
    out: dict[str, Path] = {}
    dest = Path(dest)
    with staged_folder(dest, FORMAT, legacy_export(FORMAT)) as tmp:
        for split, records in split_records(source.records, fractions).items():
            if not records:
                continue
            for r in records:
                source.place(r, "image", tmp / split / f"{sample_key(r)}.{image_extension(r)}")
            name = f"annotations/face_keypoints_{split}.json"
            keypoints, masks = coco_dicts(source, records, split)
            write_json(tmp / name, keypoints)
            write_json(tmp / f"annotations/face_parts_{split}.json", masks)
            out[split] = dest / name
    return out
