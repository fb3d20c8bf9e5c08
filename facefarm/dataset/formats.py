"""The export formats by name, and :func:`export_all` for the render command and the CLI.

Each format is one module with ``FORMAT`` (its name) and
``export(source, dest, fractions) -> dict[split, path(s)]``; all split by identity
(:mod:`facefarm.dataset.splits`).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from pathlib import Path

from facefarm.dataset.source import check_replaceable, default_destination, legacy_export, open_dataset
from facefarm.dataset.splits import DEFAULT_FRACTIONS, parse_fractions

#: format name -> module implementing it
FORMATS: dict[str, str] = {
    "coco": "facefarm.dataset.coco",
    "hf": "facefarm.dataset.hf",
    "webdataset": "facefarm.dataset.webdataset",
    "facesynthetics": "facefarm.dataset.facesynthetics",
}


def parse_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """``"coco,hf"``, ``["coco", "hf"]`` or ``"all"`` -> validated, de-duplicated format names."""
    items = formats.split(",") if isinstance(formats, str) else [x for f in formats for x in str(f).split(",")]
    names: list[str] = []
    for item in (x.strip() for x in items):
        if not item:
            continue
        for name in FORMATS if item == "all" else [item]:
            if name not in FORMATS:
                raise ValueError(f"unknown export format {name!r}: choose from {', '.join(FORMATS)} or 'all'")
            if name not in names:
                names.append(name)
    return tuple(names)


def export_format(
    dataset_root: str | os.PathLike,
    fmt: str,
    dest: str | os.PathLike | None = None,
    fractions=DEFAULT_FRACTIONS,
    source=None,
) -> dict:
    """Export one format; ``dest`` defaults to ``{dataset_root}/exports/{fmt}``. Returns {split: path(s)}."""
    (fmt,) = parse_formats([fmt])
    source = source or open_dataset(dataset_root)
    target = Path(dest) if dest is not None else default_destination(dataset_root, fmt)
    return importlib.import_module(FORMATS[fmt]).export(source, target, parse_fractions(fractions))


def export_all(
    dataset_root: str | os.PathLike,
    formats: str | Iterable[str],
    dest: str | os.PathLike | None = None,
    fractions=DEFAULT_FRACTIONS,
    link: bool = True,
    landmarks: str = "xray",
    layout: str = "landmarks70",
) -> dict[str, dict]:
    """Export a finished dataset to each of ``formats``; returns ``{format: {split: path(s)}}``.

    ``landmarks``: ``"xray"`` (the records' ``landmarks``) or ``"contour"`` (their
    ``landmarks_contour``: the jaw on the view's outline, as 300-W / WFLW annotate photos).
    ``layout``: the 70 points, or ``"wflw98"`` / ``"mediapipe478"`` for a dataset rendered with
    ``landmarks_<layout>`` (COCO keypoints and the HF columns then carry the layout's 98 or 478
    points; WebDataset always has whole records; the
    Face Synthetics format has 70 points by definition and is refused).

    ``dest``: parent folder of the exports (one sub-folder per format); default
    ``{dataset_root}/exports``. The catalog's ``outputs.formats`` list can be passed as is.
    ``link``: hard-link image files from the dataset when possible (no extra disk space;
    don't edit exported images in place) instead of copying them.
    """
    names = parse_formats(formats)
    fractions = parse_fractions(fractions)
    if layout != "landmarks70" and "facesynthetics" in names:
        raise ValueError(f"the Face Synthetics format has the 70 points only; export it without the {layout} layout")
    source = open_dataset(dataset_root, link_files=link).in_convention(landmarks, layout)
    targets = {fmt: default_destination(dataset_root, fmt) if dest is None else Path(dest) / fmt for fmt in names}
    for fmt, target in targets.items():  # every folder checked before any is written
        check_replaceable(target, legacy_export(fmt))
    return {fmt: export_format(dataset_root, fmt, targets[fmt], fractions, source) for fmt in names}


def export_targets(dataset_root: str | os.PathLike, formats: Iterable[str]) -> list[tuple[Path, object]]:
    """(folder, legacy rule) for each folder :func:`export_all` would replace in a local dataset (no ``dest``)."""
    return [(default_destination(dataset_root, fmt), legacy_export(fmt)) for fmt in parse_formats(formats)]
