"""Per-sample files and the dataset manifest.

Layout of a dataset root (documented in the README, "Output format")::

    dataset.json                 header: schema version, catalog, its hash, versions, counts
    manifest.jsonl               one record per complete sample, ordered by index
    samples/{id}.png             RGB, sRGB, with provenance PNG text chunks ({id}.jpg / {id}.webp with the
                                 provenance in EXIF when the catalog's outputs.image_format says so)
    samples/{id}_seg.png         uint8 class ids (facefarm/assets/schema/classes.json)
    samples/{id}_depth.png       uint16 camera z in units of ``depth_scale_m`` (0 = background)
    samples/{id}.json            full labels (also dense landmarks); written LAST = commit marker

A sample is committed when its ``.json`` exists: every file is written atomically and the
label file goes last, so an interrupted run leaves whole samples only. A resumed run trusts a
committed sample only if :func:`check_sample` passes (the record parses, and every file it names
is there with the size it records, and, where asked, the sha256); any other is rendered again.
"""

from __future__ import annotations

import hashlib
import io
import json
import re

import numpy as np
from PIL import Image, PngImagePlugin

from facefarm.sample.store import Store

SCHEMA_VERSION = 1
DEPTH_SCALE_M = 1e-4  # one uint16 step = 0.1 mm, so depths up to 6.5 m fit
SAMPLES = "samples"


#: The RGB image's encodings (the catalog's ``outputs.image_format``) -> file extension.
IMAGE_EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}
#: EXIF tags that carry a JPEG or WebP image's provenance (a PNG has text chunks): JSON, and the generator.
EXIF_DESCRIPTION, EXIF_SOFTWARE = 0x010E, 0x0131

#: A file name the writer makes inside ``samples/`` (what --overwrite may delete there)
SAMPLE_FILE = re.compile(
    r"^\d{6,}((_seg|_depth|_seg_head|_layers|_albedo)?\.png|_(depth|normals)\.npy|\.jpg|\.webp|\.json)$"
)


def is_sample_file(name: str) -> bool:
    """True for a name (``samples/000001_seg.png`` or ``000001_seg.png``) of the writer's own pattern."""
    return bool(SAMPLE_FILE.match(name.rsplit("/", 1)[-1]))


def sample_names(sample_id: str, image_format: str = "png") -> dict[str, str]:
    """Relative file names of one sample's outputs (the image's extension follows ``image_format``)."""
    return {
        "image": f"{SAMPLES}/{sample_id}.{IMAGE_EXTENSIONS[image_format]}",
        "segmentation": f"{SAMPLES}/{sample_id}_seg.png",
        "depth": f"{SAMPLES}/{sample_id}_depth.png",
        "depth_float": f"{SAMPLES}/{sample_id}_depth.npy",
        "segmentation_head": f"{SAMPLES}/{sample_id}_seg_head.png",
        "layers": f"{SAMPLES}/{sample_id}_layers.png",
        "normals": f"{SAMPLES}/{sample_id}_normals.npy",
        "albedo": f"{SAMPLES}/{sample_id}_albedo.png",
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


def image_format_of(name: str) -> str:
    """The encoding of an image file by its name: "png", "jpeg" or "webp" ("png" for anything else)."""
    ext = name.rsplit(".", 1)[-1].lower()
    return next((f for f, e in IMAGE_EXTENSIONS.items() if e == ext), "png")


def encode_image(rgb: np.ndarray, image_format: str, quality: int, provenance: dict[str, str]) -> bytes:
    """(H, W, 3) uint8 sRGB -> PNG (provenance in text chunks) or JPEG / WebP at ``quality`` (provenance
    as JSON in the EXIF ImageDescription, the generator in Software; :func:`read_provenance` reads both)."""
    if image_format == "png":
        return encode_png(rgb, text=provenance)
    exif = Image.Exif()
    exif[EXIF_DESCRIPTION] = json.dumps(provenance, sort_keys=True)
    exif[EXIF_SOFTWARE] = provenance.get("Software", "")
    buf = io.BytesIO()
    pil_format = {"jpeg": "JPEG", "webp": "WEBP"}[image_format]
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format=pil_format, quality=int(quality), exif=exif.tobytes())
    return buf.getvalue()


def read_provenance(data: bytes) -> dict[str, str]:
    """The provenance an image file carries: PNG text chunks, or the JSON in a JPEG's / WebP's EXIF."""
    img = Image.open(io.BytesIO(data))
    text = getattr(img, "text", None)
    if text:
        return dict(text)
    try:
        found = json.loads(img.getexif().get(EXIF_DESCRIPTION) or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def depth_to_uint16(depth_m: np.ndarray) -> np.ndarray:
    """(H, W) float metres -> (H, W) uint16 in DEPTH_SCALE_M steps; 0 stays 0 (no surface)."""
    q = np.round(np.asarray(depth_m, np.float64) / DEPTH_SCALE_M)
    return np.clip(q, 0, np.iinfo(np.uint16).max).astype(np.uint16)


def encode_files(
    rgb: np.ndarray,
    segmentation: np.ndarray,
    depth: np.ndarray,
    provenance: dict[str, str],
    image_format: str = "png",
    quality: int = 90,
    depth_float: bool = False,
    extra: dict[str, np.ndarray | None] | None = None,
) -> dict[str, bytes]:
    """Encode the image outputs of one sample; keys as in :func:`sample_names` (without labels);
    ``depth_float``: also the depth as a float32 ``.npy`` (metres, unquantised); ``extra``: optional
    label layers a back-end drew (:class:`~facefarm.scene.model.RenderResult`'s ``segmentation_head``,
    ``layers``, ``normals``, ``albedo``; None ones are left out)."""
    files = {
        "image": encode_image(rgb, image_format, quality, provenance),
        "segmentation": encode_png(segmentation.astype(np.uint8), text=provenance),
        "depth": encode_png(depth_to_uint16(depth), text=provenance),
    }
    if depth_float:
        files["depth_float"] = encode_npy(np.asarray(depth, np.float32))
    extra = {k: v for k, v in (extra or {}).items() if v is not None}
    for key in ("segmentation_head", "layers"):
        if key in extra:
            files[key] = encode_png(np.asarray(extra[key], np.uint8), text=provenance)
    if "normals" in extra:
        files["normals"] = encode_npy(np.asarray(extra["normals"], np.float16))
    albedo = extra.get("albedo")
    if albedo is not None:
        files["albedo"] = encode_png(linear_to_srgb8(albedo), text=provenance)
    return files


def linear_to_srgb8(linear: np.ndarray) -> np.ndarray:
    """(..., 3) linear values in 0..1 -> uint8 with the sRGB transfer curve (albedo maps are stored so)."""
    x = np.clip(np.asarray(linear, np.float64), 0.0, 1.0)
    s = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return np.round(s * 255.0).astype(np.uint8)


def encode_npy(array: np.ndarray) -> bytes:
    """``.npy`` bytes of a plain numeric array (no pickled objects)."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def decode_npy(data: bytes) -> np.ndarray:
    """The array of ``.npy`` bytes; refuses pickled objects (a file from disk is not trusted)."""
    return np.load(io.BytesIO(data), allow_pickle=False)


def write_sample(
    store: Store, sample_id: str, files: dict[str, bytes], record: dict, image_format: str = "png"
) -> dict:
    """Write a sample's files, then its label record (the commit marker). Returns the record."""
    names = sample_names(sample_id, image_format)
    record = dict(record)
    record["files"] = {k: names[k] for k in files}
    record["sha256"] = {k: hashlib.sha256(v).hexdigest() for k, v in files.items()}
    record["sizes"] = {k: len(v) for k, v in files.items()}  # a resume checks these without reading the files
    for key, data in files.items():
        store.put(names[key], data)
    store.put(names["labels"], (json.dumps(record, separators=(",", ":")) + "\n").encode())
    return record


def is_complete(store: Store, sample_id: str) -> bool:
    return store.exists(sample_names(sample_id)["labels"])


def read_record(store: Store, sample_id: str) -> dict:
    return json.loads(store.get(sample_names(sample_id)["labels"]))


def check_sample(
    store: Store, sample_id: str, listing: dict[str, tuple] | None = None, hashed: bool = False
) -> tuple[dict | None, str | None]:
    """(record, None) for a whole committed sample, else (None, why not: one short phrase).

    Whole: its label file parses into this sample's record, and each file the record names is
    the writer's name for it, exists, has the recorded size and, when ``hashed``, the recorded
    sha256. ``listing``: :meth:`Store.listing` of ``samples/`` (else each file is looked up).
    """
    labels = sample_names(sample_id)["labels"]
    try:
        record = json.loads(store.get(labels))
    except FileNotFoundError:
        return None, f"{labels} is missing"
    except ValueError:  # empty, cut short or garbled (JSONDecodeError and UnicodeDecodeError both)
        return None, f"{labels} is not whole JSON"
    if (
        not isinstance(record, dict)
        or record.get("sample_id") != sample_id
        or not isinstance(record.get("files"), dict)
        or not record["files"]
    ):
        return None, f"{labels} is not this sample's record"
    names = sample_names(sample_id, image_format_of(str(record["files"].get("image", ""))))
    sizes, hashes = record.get("sizes") or {}, record.get("sha256") or {}
    for kind, name in record["files"].items():
        if name != names.get(kind):  # also keeps a resume from following a path out of samples/
            return None, f"{labels} names {name!r} as its {kind}, not {names.get(kind)}"
        if listing is not None:
            size = listing.get(name, (None,))[0]
        else:
            size = len(store.get(name)) if store.exists(name) else None
        if size is None:
            return None, f"{name} is missing"
        if kind in sizes and size != sizes[kind]:
            return None, f"{name} has {size} bytes, its record says {sizes[kind]}"
        if hashed and kind in hashes and hashlib.sha256(store.get(name)).hexdigest() != hashes[kind]:
            return None, f"{name} does not match its recorded sha256"
    return record, None


def complete_ids(store: Store) -> set[str]:
    """Sample ids whose label file exists (i.e. finished samples)."""
    out = set()
    for name in store.list(SAMPLES, ".json"):
        stem = name.rsplit("/", 1)[-1][: -len(".json")]
        out.add(stem)
    return out


MANIFEST_DROP = ("dense", "layouts")  # big arrays stay in the per-sample label file


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
    header = dict(
        header,
        schema_version=SCHEMA_VERSION,
        n_samples=len(records),
        manifest_sha256=hashlib.sha256(body.encode()).hexdigest(),
    )
    store.put("dataset.json", (json.dumps(header, indent=1) + "\n").encode())


def read_header(store: Store) -> dict | None:
    """dataset.json, or None if there is none or it is damaged (it is derived, and rewritten whole)."""
    if not store.exists("dataset.json"):
        return None
    try:
        header = json.loads(store.get("dataset.json"))
    except ValueError:
        return None
    return header if isinstance(header, dict) else None
