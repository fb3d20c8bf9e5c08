"""Face Synthetics layout (Wood et al. 2021): drop-in for code written for that dataset.

Layout under the destination, one folder per split::

    {split}/{index:06d}.png          RGB
    {split}/{index:06d}_seg.png      uint8 class ids (the same ids as Face Synthetics)
    {split}/{index:06d}_ldmks.txt    70 rows "x y": the 68 iBUG points then the two pupils

Ids are the dataset's sample indices, unchanged, so a sample keeps its number in every
split. Landmarks are written like Face Synthetics': every point's projection, occluded or
not, in pixels with the origin at the image's top-left corner (pixel centres at +0.5).
The format has no visibility flag; use the COCO or HF export for that.
"""

from __future__ import annotations

import os
from pathlib import Path

from facefarm.dataset.source import SourceDataset, image_extension, landmarks_uv, legacy_export, staged_folder
from facefarm.dataset.splits import DEFAULT_FRACTIONS, split_records

FORMAT = "facesynthetics"


def landmarks_text(record: dict) -> str:
    """The ``_ldmks.txt`` body: 70 lines ``"x y"`` with three decimals."""
    return "".join(f"{x:.3f} {y:.3f}\n" for x, y in landmarks_uv(record))


def export(source: SourceDataset, dest: str | os.PathLike, fractions=DEFAULT_FRACTIONS) -> dict[str, Path]:
    """Write the Face Synthetics layout; returns {split: folder} for non-empty splits."""
    dest = Path(dest)
    out: dict[str, Path] = {}
    with staged_folder(dest, FORMAT, legacy_export(FORMAT)) as tmp:
        for split, records in split_records(source.records, fractions).items():
            if not records:
                continue
            folder = tmp / split
            folder.mkdir(parents=True)
            for r in records:
                stem = f"{int(r['index']):06d}"
                source.place(r, "image", folder / f"{stem}.{image_extension(r)}")  # .png unless JPEG / WebP
                source.place(r, "segmentation", folder / f"{stem}_seg.png")
                (folder / f"{stem}_ldmks.txt").write_text(landmarks_text(r))
            out[split] = dest / split
    return out
