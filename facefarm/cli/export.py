"""``facefarm export OUT --format coco|hf|webdataset|facesynthetics``: convert a finished dataset.

Splits are by identity (``--splits train,val,test`` fractions); each format is written to
``OUT/exports/{format}`` unless ``--dest`` names another parent folder. Bad input (no
dataset, unknown format, bad fractions) prints one line and exits 1, never a traceback.
"""

from __future__ import annotations

import sys

from facefarm.scene.classes import LAYOUTS


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export",
        help="export a rendered dataset to COCO, Hugging Face, WebDataset or "
        "Face Synthetics layout (splits by identity)",
    )
    p.add_argument("dataset", help="dataset root written by `facefarm render` (folder or fsspec URL)")
    p.add_argument(
        "--format",
        "-f",
        action="append",
        required=True,
        metavar="FMT",
        help="coco, hf, webdataset, facesynthetics or all; repeat or comma-separate for several",
    )
    p.add_argument(
        "--dest", default=None, help="parent folder of the exports (one sub-folder per format); default DATASET/exports"
    )
    p.add_argument(
        "--splits",
        default="0.8,0.1,0.1",
        help="train,val,test fractions by identity (default 0.8,0.1,0.1; '1' = all train)",
    )
    p.add_argument(
        "--landmarks",
        choices=("xray", "contour"),
        default="xray",
        help="landmark convention: xray (each point anchored on the head, projected seen or not; default) "
        "or contour (the jaw on the face's outline in the view, as people annotate photos)",
    )
    p.add_argument(
        "--layout",
        choices=("landmarks70", *LAYOUTS),
        default="landmarks70",
        help="landmark layout of COCO keypoints and HF columns: the 70 points (default), wflw98 (WFLW's 98) or "
        "mediapipe478 (MediaPipe FaceMesh's 478); the dataset must have been rendered with landmarks_<layout> "
        "in outputs.labels",
    )
    p.add_argument(
        "--copy",
        action="store_true",
        help="copy image files instead of hard-linking them from the dataset (the default "
        "costs no disk space; with links, editing an exported image in place edits the dataset)",
    )
    p.set_defaults(func=_export)


def _export(args) -> int:
    from contextlib import nullcontext

    from facefarm.dataset.formats import export_all, parse_formats
    from facefarm.dataset.splits import parse_fractions
    from facefarm.farm.lock import Locked, dataset_lock
    from facefarm.sample.owned import NotOurs

    try:
        formats = parse_formats(args.format)
        fractions = parse_fractions(args.splits)
        # writing DATASET/exports: not while a render writes the dataset
        with dataset_lock(args.dataset, "facefarm export") if args.dest is None else nullcontext():
            result = export_all(
                args.dataset,
                formats,
                dest=args.dest,
                fractions=fractions,
                link=not args.copy,
                landmarks=args.landmarks,
                layout=args.layout,
            )
    except Locked as e:
        print(f"facefarm export: error: {e} (or export elsewhere with --dest)", file=sys.stderr)
        return 1
    except NotOurs as e:
        print(
            f"facefarm export: error: {e}; facefarm replaces only an export folder it wrote: move it away, "
            f"or choose another --dest",
            file=sys.stderr,
        )
        return 1
    except (ValueError, OSError) as e:
        print(f"facefarm export: {e}", file=sys.stderr)
        return 1
    for fmt, splits in result.items():
        parts = []
        for split, paths in splits.items():
            n = len(paths) if isinstance(paths, list) else 1
            parts.append(f"{split}" + (f" ({n} shards)" if isinstance(paths, list) else ""))
        where = next(iter(splits.values()), None)
        where = where[0] if isinstance(where, list) else where
        print(f"{fmt}: {', '.join(parts) or 'no samples'}" + (f"  ->  {_root(where, fmt)}" if where else ""))
    return 0


def _root(path, fmt: str) -> str:
    """The format's export folder, from one of its output paths."""
    p = path
    while p.name != fmt and p.parent != p:
        p = p.parent
    return str(p)
