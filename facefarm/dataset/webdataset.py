"""WebDataset export: tar shards per split, one group of members per sample.

Layout under the destination::

    {split}/{split}-000000.tar, ...   members {key}.png, {key}.seg.png, {key}.depth.png, {key}.json
                                      ({key}.jpg or {key}.webp for a JPEG / WebP dataset's image)
                                      and the optional planes the catalog asked for: {key}.seg_head.png,
                                      {key}.layers.png (amodal_masks), {key}.normals.npy, {key}.albedo.png
    shards.json                       per split: shard file names, sample counts, a brace pattern

WebDataset groups tar members by *key* = the member name up to its first dot, so keys
are the sample ids with any dot replaced (:func:`~facefarm.dataset.source.sample_key`).
``{key}.json`` is the sample's complete label record (dense landmarks included).

WebDataset's stock image decoders convert every PNG to RGB or L 8-bit, which would
turn class ids into colours and cut the 16-bit depth. Decode the two label images
exactly, then the RGB image as usual::

    def exact_png(data):  # keeps uint8 class ids and uint16 depth
        return np.asarray(PIL.Image.open(io.BytesIO(data)))

    ds = wds.WebDataset(urls).decode(wds.handle_extension("seg.png depth.png seg_head.png layers.png", exact_png), "rgb8")

(:func:`label_decoder` returns that first handler.) Shards are reproducible: member
times are the dataset's creation time.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

from facefarm.dataset.source import (
    SourceDataset,
    decode_png,
    image_extension,
    legacy_export,
    sample_key,
    staged_folder,
    write_json,
)
from facefarm.dataset.splits import DEFAULT_FRACTIONS, split_records

FORMAT = "webdataset"
#: Optional label files of a record (``outputs.labels``) and their member extensions.
OPTIONAL_MEMBERS = {
    "depth_float": "depth.npy",
    "segmentation_head": "seg_head.png",
    "layers": "layers.png",
    "normals": "normals.npy",
    "albedo": "albedo.png",
}
#: Samples per shard: at 512 px a sample's three PNGs are ~0.5-1 MB, so shards stay well under 1 GB.
SHARD_MAXCOUNT = 1000
SHARD_MAXSIZE = 1e9


def _mtime(header: dict) -> float:
    try:
        return _dt.datetime.fromisoformat(str(header["created"])).timestamp()
    except (KeyError, ValueError):
        return 0.0


def label_decoder():
    """A WebDataset decode handler for the label PNGs that keeps their exact values.

    seg.png -> (H, W) uint8 class ids; depth.png -> (H, W) uint16 (times ``depth_scale_m`` metres);
    seg_head.png, layers.png -> (H, W) uint8 (amodal class ids, layer bits). Put it before the image
    spec: ``.decode(label_decoder(), "rgb8")`` (``normals.npy`` decodes with WebDataset's own npy handler).
    """
    import webdataset as wds

    return wds.handle_extension("seg.png depth.png seg_head.png layers.png", decode_png)


def sample_members(source: SourceDataset, record: dict) -> dict:
    """The WebDataset sample dict of one record: ``__key__`` plus raw bytes per extension."""
    return {
        "__key__": sample_key(record),
        image_extension(record): source.read_file(record, "image"),  # png, jpg or webp
        "seg.png": source.read_file(record, "segmentation"),
        "depth.png": source.read_file(record, "depth"),
        **{
            member: source.read_file(record, kind)
            for kind, member in OPTIONAL_MEMBERS.items()
            if record["files"].get(kind) is not None
        },
        # Re-encoded compactly; the stored label file is the same JSON.
        "json": json.dumps(source.full_record(record), separators=(",", ":")).encode(),
    }


def export(
    source: SourceDataset,
    dest: str | os.PathLike,
    fractions=DEFAULT_FRACTIONS,
    maxcount: int = SHARD_MAXCOUNT,
    maxsize: float = SHARD_MAXSIZE,
) -> dict[str, list[Path]]:
    """Write tar shards per split; returns {split: [shard paths]} for non-empty splits."""
    import webdataset as wds

    dest = Path(dest)
    out: dict[str, list[Path]] = {}
    index: dict[str, dict] = {}
    mtime = _mtime(source.header)
    with staged_folder(dest, FORMAT, legacy_export(FORMAT)) as tmp:
        for split, records in split_records(source.records, fractions).items():
            if not records:
                continue
            (tmp / split).mkdir(parents=True)
            pattern = str(tmp / split / f"{split}-%06d.tar")
            with wds.ShardWriter(pattern, maxcount=maxcount, maxsize=maxsize, verbose=0, mtime=mtime) as sink:
                for r in records:
                    sink.write(sample_members(source, r))
            shards = sorted(p.name for p in (tmp / split).glob("*.tar"))
            out[split] = [dest / split / s for s in shards]
            index[split] = {
                "shards": [f"{split}/{s}" for s in shards],
                "n_samples": len(records),
                "pattern": f"{split}/{split}-{{{0:06d}..{len(shards) - 1:06d}}}.tar",
            }
        write_json(tmp / "shards.json", index, indent=1)
    return out
