"""The rendered dataset as every exporter sees it, and the shared pieces of an export.

A dataset root (see :mod:`facefarm.sample.writer`) is read through a
:class:`~facefarm.sample.store.Store`, so a local folder or an fsspec URL both work;
an export is always written to a local folder. Each export is built in a temporary
sibling folder and renamed into place at the end, so an interrupted export leaves the
previous one (or none), never a half-written one.

Two decisions every format shares live here:

* **face mask** (:data:`FACE_CLASSES`): the pixels of the face = skin (incl. forehead and
  scalp skin not covered by hair), nose, eyes, brows, ears, mouth interior, lips, beard,
  glasses and face-wear. Hair, headwear, neck, clothing, background and IGNORE are not face:
  hair and hats change a lot between images of one identity, and a face detector's box
  should not grow with them.
* **keypoint visibility** (:func:`visibility_flags`): 0 = outside the image (COCO
  "unlabelled"), 1 = inside but occluded (by the head itself, hair, glasses frames...),
  2 = visible.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import uuid
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import NoReturn

import numpy as np
from PIL import Image

from facefarm.dataset.splits import SPLIT_NAMES
from facefarm.sample.owned import NotOurs, check_replaceable, files_under, record_ownership, remove_owned  # noqa: F401
from facefarm.sample.store import Store, open_store
from facefarm.sample.writer import IMAGE_EXTENSIONS, image_format_of
from facefarm.scene.classes import CLASS_IDS, N_LANDMARKS, layout

FACE_CLASS_NAMES: tuple[str, ...] = (
    "SKIN",
    "NOSE",
    "RIGHT_EYE",
    "LEFT_EYE",
    "RIGHT_BROW",
    "LEFT_BROW",
    "RIGHT_EAR",
    "LEFT_EAR",
    "MOUTH_INTERIOR",
    "TOP_LIP",
    "BOTTOM_LIP",
    "BEARD",
    "GLASSES",
    "FACEWEAR",
)
FACE_CLASSES: tuple[int, ...] = tuple(CLASS_IDS[n] for n in FACE_CLASS_NAMES)

_SCALARS = (str, int, float, bool)

#: Export folder names, one per format, under ``{dataset}/exports/`` by default.
EXPORTS_DIR = "exports"


class UnsafePath(ValueError):
    """A sample record names a file outside the dataset root; the message names the record."""


class DamagedFile(ValueError):
    """A sample's file is missing, not its recorded size, or does not decode; the message names it."""


@dataclass(frozen=True)
class SourceDataset:
    """A finished dataset: its header (dataset.json) and manifest records ordered by index.

    ``records`` are manifest lines: every label but the dense landmark arrays.
    """

    store: Store
    header: dict
    records: tuple[dict, ...]
    #: hard-link files into exports when possible (no extra space) instead of copying them
    link_files: bool = True
    #: the landmark layout of every record's ``landmarks``: "landmarks70", or another layout
    #: (:data:`facefarm.scene.classes.LAYOUTS`) put there by :meth:`in_convention`
    layout: str = "landmarks70"

    def in_convention(self, landmarks: str, layout: str = "landmarks70") -> "SourceDataset":
        """This dataset with every record's ``landmarks`` in one convention: ``"xray"`` as written,
        ``"contour"`` the record's ``landmarks_contour`` (the jaw on the view's outline, as
        people annotate photos); and in one ``layout``: the 70 points, or another layout the
        dataset was rendered with (``"wflw98"``, ``"mediapipe478"``: read from each sample's label file). Raises
        ValueError for another name or a record without them."""
        if landmarks not in ("xray", "contour"):
            raise ValueError(f"landmarks {landmarks!r}: choose xray or contour")
        if layout != "landmarks70":
            return self._in_layout(layout, landmarks)
        if landmarks == "xray":
            return self
        records = []
        for r in self.records:
            if "landmarks_contour" not in r:
                raise ValueError(
                    f"sample {r.get('sample_id')}: no landmarks_contour (written before facefarm 0.5); "
                    "re-render the dataset, or export with --landmarks xray"
                )
            records.append({**r, "landmarks": r["landmarks_contour"]})
        return replace(self, records=tuple(records))

    def _in_layout(self, name: str, convention: str) -> "SourceDataset":
        k = len(layout(name)["names"])
        records = []
        for r in self.records:
            label_file = self.file_name(r, "labels")
            try:
                block = json.loads(self.read(label_file))["layouts"][name][convention]
                ok = all(len(block[key]) == k for key in ("uv", "visible", "in_frame"))
            except (KeyError, TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(
                    f"sample {r.get('sample_id')}: {label_file} has no {name} points; render the dataset with "
                    f"landmarks_{name} in the catalog's outputs.labels, or export the 70 points"
                )
            records.append({**r, "landmarks": block})
        return replace(self, records=tuple(records), layout=name)

    def read(self, name: str) -> bytes:
        """Bytes of a file named relative to the dataset root (``samples/000001.png``)."""
        return self.store.get(name)

    def file_name(self, record: dict, kind: str) -> str:
        """The name a record gives its ``kind`` file, checked to lie inside the dataset root.

        Raises :class:`UnsafePath` (naming the sample) for an absolute name, one that climbs
        out with ``..``, or one that reaches out through a symbolic link: a manifest is data,
        and following such a name would export or read whatever file it points at.
        """
        name = (record.get("files") or {}).get(kind)
        where = f"{self.store.root}/manifest.jsonl: sample {record.get('sample_id')}"

        def refuse(why: str) -> NoReturn:
            raise UnsafePath(f"{where} names its {kind} file {name!r}, {why}; not followed")

        if not isinstance(name, str) or not name:
            refuse("which is not a file name")
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or "://" in name:
            refuse("an absolute path outside the dataset")
        if ".." in parts:
            refuse("outside the dataset (it climbs out with ..)")
        if self.store.is_local:
            root = os.path.realpath(self.store.local_path())
            real = os.path.realpath(self.store.local_path(name))
            if os.path.commonpath([root, real]) != root:
                refuse("outside the dataset (a symbolic link leads out of it)")
        return name

    def _damaged(self, record: dict, kind: str, name: str, why: str) -> DamagedFile:
        return DamagedFile(
            f"{self.store.root}/{name} (sample {record.get('sample_id')}'s {kind}) {why}: "
            f"`facefarm audit` lists every such file; `facefarm render` with the same command "
            f"renders it again"
        )

    def read_file(self, record: dict, kind: str) -> bytes:
        """Bytes of a sample's ``kind`` file (``image``, ``segmentation``, ``depth``, ``labels``).

        Raises :class:`DamagedFile` if it is missing or not the size its record gives.
        """
        name = self.file_name(record, kind)
        try:
            data = self.read(name)
        except FileNotFoundError:
            raise self._damaged(record, kind, name, "is missing") from None
        size = (record.get("sizes") or {}).get(kind)
        if size is not None and len(data) != size:
            raise self._damaged(record, kind, name, f"has {len(data)} bytes, its record says {size}")
        return data

    def full_record(self, record: dict) -> dict:
        """The complete label record (with ``dense``) of a manifest line."""
        data = self.read_file(record, "labels")
        try:
            return json.loads(data)
        except ValueError:
            raise self._damaged(record, "labels", record["files"]["labels"], "is not whole JSON") from None

    def image(self, record: dict, kind: str = "image") -> np.ndarray:
        """One of a sample's images as an array.

        kind "image": (H, W, 3) uint8 sRGB; "segmentation": (H, W) uint8 class ids;
        "depth": (H, W) uint16 in ``record["depth_scale_m"]`` metres (0 = no surface).
        Raises :class:`DamagedFile` for a file that is missing or does not decode.
        """
        data = self.read_file(record, kind)
        try:
            return decode_png(data)
        except Exception as e:  # noqa: BLE001 - PIL raises OSError, SyntaxError, zlib.error... for damage
            raise self._damaged(
                record, kind, record["files"][kind], f"does not decode ({(str(e).splitlines() or [''])[0][:100]})"
            ) from None

    def place(self, record: dict, kind: str, dest: Path) -> None:
        """Put a sample's file at ``dest``.

        A hard link when ``link_files`` and the file system allow it: the dataset never rewrites
        a file in place (writes are atomic renames), so the link stays valid and costs no
        space — but an export edited in place would change the dataset too. Otherwise a copy.
        """
        name = self.file_name(record, kind)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if self.store.is_local:
            src = Path(os.path.realpath(self.store.local_path(name)))  # a link to a link would copy the link
            size = (record.get("sizes") or {}).get(kind)
            if not src.is_file():
                raise self._damaged(record, kind, name, "is missing")
            if size is not None and src.stat().st_size != size:
                raise self._damaged(record, kind, name, f"has {src.stat().st_size} bytes, its record says {size}")
            if self.link_files:
                try:
                    os.link(src, dest)
                    return
                except OSError:  # another file system, or links not allowed: copy instead
                    pass
            shutil.copyfile(src, dest)
            return
        dest.write_bytes(self.read_file(record, kind))


def open_dataset(root: str | os.PathLike, link_files: bool = True) -> SourceDataset:
    """Read a dataset root's header and manifest; raises FileNotFoundError naming what is missing."""
    store = open_store(root)
    for name in ("dataset.json", "manifest.jsonl"):
        if not store.exists(name):
            raise FileNotFoundError(
                f"{root}: no {name} — not a finished facefarm dataset (run `facefarm render` to completion first)"
            )
    header = json.loads(store.get("dataset.json"))
    records = []
    for lineno, line in enumerate(store.get("manifest.jsonl").decode().splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise ValueError(f"{root}/manifest.jsonl line {lineno}: not JSON ({e})") from None
    records.sort(key=lambda r: r["index"])
    return SourceDataset(store=store, header=header, records=tuple(records), link_files=link_files)


def partial_note(header: dict, n_samples: int) -> str | None:
    """One sentence saying that a dataset holds only part of its plan (``render --limit``), else None.

    ``header`` : dataset.json; ``n_samples`` : the samples it lists. Every description of the data
    (datasheet, audit, Croissant, dataset card) says it, so k samples are never taken for the N the
    catalog plans.
    """
    planned = header.get("n_planned", header.get("n_requested"))
    if not isinstance(planned, int) or n_samples >= planned:
        return None
    how = (
        f"the first {n_samples} of the plan's balanced order, which keeps each planned marginal as close to its "
        f"share as {n_samples} samples allow"
        if header.get("balanced_prefix")
        else "not a prefix of the plan's balanced order, so its marginals can be off"
    )
    return (
        f"Partial dataset: {n_samples} of the {planned} samples its catalog and seed plan, {how}. "
        f"`facefarm render` with a larger --limit, or none, completes it with the same sample ids."
    )


def decode_png(data: bytes) -> np.ndarray:
    """PNG (or JPEG / WebP: any image Pillow reads) bytes -> array, keeping 16-bit greyscale as uint16."""
    img: Image.Image = Image.open(io.BytesIO(data))
    if img.mode in ("I;16", "I;16B", "I"):
        return np.asarray(img, dtype=np.uint16)
    if img.mode not in ("L", "RGB"):
        img = img.convert("RGB")
    return np.asarray(img)


def face_mask(segmentation: np.ndarray) -> np.ndarray:
    """(H, W) uint8 class ids -> (H, W) bool face mask (see :data:`FACE_CLASSES`)."""
    return np.isin(segmentation, FACE_CLASSES)


def landmarks_uv(record: dict, n: int = N_LANDMARKS) -> np.ndarray:
    """(n, 2) float64 pixels (70 points, or ``n`` of another layout), OpenCV convention: origin at the
    top-left image corner, pixel centres at +0.5."""
    uv = np.asarray(record["landmarks"]["uv"], dtype=np.float64)
    if uv.shape != (n, 2):
        raise ValueError(f"sample {record.get('sample_id')}: landmarks.uv has shape {uv.shape}, expected ({n}, 2)")
    return uv


def visibility_flags(record: dict) -> np.ndarray:
    """(70,) int: 0 outside the image, 1 in the image but occluded, 2 visible."""
    lm = record["landmarks"]
    in_frame = np.asarray(lm["in_frame"], dtype=bool)
    visible = np.asarray(lm["visible"], dtype=bool) & in_frame
    return np.where(visible, 2, np.where(in_frame, 1, 0)).astype(np.int64)


def is_numeric_tree(v) -> bool:
    """True for a number or a (nested) list holding only numbers (bools excluded)."""
    if isinstance(v, list):
        return all(is_numeric_tree(x) for x in v)
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def flatten(obj: dict, prefix: str = "") -> dict:
    """Nested dict -> flat ``{"a.b.c": value}``.

    Non-empty lists of scalars or (nested) numbers stay lists; other lists (of objects, or
    empty, whose element type is unknown) become JSON strings.
    """
    out = {}
    for k, v in obj.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, name + "."))
        elif isinstance(v, list) and (not v or not (all(isinstance(x, _SCALARS) for x in v) or is_numeric_tree(v))):
            out[name] = json.dumps(v, sort_keys=True)
        else:
            out[name] = v
    return out


def image_extension(record: dict) -> str:
    """The extension of a sample's RGB image, "png", "jpg" or "webp" (the catalog's ``outputs.image_format``);
    exports name their copy of it so. Segmentation and depth are always PNG."""
    return IMAGE_EXTENSIONS[image_format_of(str((record.get("files") or {}).get("image", "")))]


def sample_key(record: dict) -> str:
    """A file-name stem for a sample with no dots or slashes (WebDataset keys end at the first dot)."""
    key = str(record["sample_id"]).replace(".", "_").replace("/", "_")
    if not key:
        raise ValueError(f"sample at index {record.get('index')} has an empty sample_id")
    return key


def default_destination(dataset_root: str | os.PathLike, fmt: str) -> Path:
    """``{dataset}/exports/{fmt}`` for a local dataset; remote datasets need an explicit destination."""
    store = open_store(dataset_root)
    if not store.is_local:
        raise ValueError(f"{dataset_root} is not a local folder: pass a local destination for the {fmt} export")
    return store.local_path(f"{EXPORTS_DIR}/{fmt}")


def _is_facefarm_dataset(root: Path) -> bool:
    try:
        header = json.loads((root / "dataset.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(header, dict) and header.get("generator") == "facefarm"


_SPLIT = "(" + "|".join(SPLIT_NAMES) + ")"
_ID = r"\d{6,}"
#: The names each format's export gave its files before exports carried an ownership file
_LEGACY_NAMES: dict[str, re.Pattern] = {
    "facesynthetics": re.compile(rf"^{_SPLIT}/{_ID}(\.png|_seg\.png|_ldmks\.txt)$"),
    "coco": re.compile(rf"^(annotations/face_keypoints_{_SPLIT}\.json|{_SPLIT}/{_ID}\.png)$"),
    "hf": re.compile(rf"^{_SPLIT}/({_ID}(\.png|_seg\.png|_depth\.png)|metadata\.jsonl)$"),
    "webdataset": re.compile(rf"^({_SPLIT}/{_SPLIT}-\d{{6,}}\.tar|shards\.json)$"),
}
_HF_CARD_TITLE = "# facefarm synthetic faces ("


def legacy_export(fmt: str):
    """For :func:`check_replaceable`: the files of an export by a facefarm without ownership files.

    Only a folder at its default place counts (``exports/{fmt}`` of a dataset whose
    dataset.json is facefarm's: elsewhere, a folder of such names may be someone else's), and
    in it only the format's own file names (and the Hugging Face card only if it is still
    facefarm's card), so a README or figure added to such a folder is still in the way.
    """
    pattern = _LEGACY_NAMES[fmt]

    def owned(folder: Path) -> set[str] | None:
        if folder.parent.name != EXPORTS_DIR or not _is_facefarm_dataset(folder.parent.parent):
            return None
        out = {f for f in files_under(folder) if pattern.match(f)}
        if fmt == "hf":
            try:
                if (folder / "README.md").read_text().startswith(_HF_CARD_TITLE):
                    out.add("README.md")
            except (OSError, UnicodeDecodeError):
                pass
        return out

    return owned


@contextmanager
def staged_folder(
    dest: str | os.PathLike, what: str = "export", legacy: Callable[[Path], set[str] | None] | None = None
):
    """Build a folder in a temporary sibling of ``dest``; on success it replaces ``dest``.

    Yields the temporary folder (a Path). ``dest`` must be absent, empty, or hold only what
    facefarm wrote there before (its ownership file, :mod:`facefarm.sample.owned`; ``legacy``
    for output of versions without one): anything else raises :class:`NotOurs` naming the
    file, before and again after the build, and nothing is touched. On an exception the
    temporary folder is removed and ``dest`` is left as it was.
    """
    dest = Path(dest)
    check_replaceable(dest, legacy)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".tmp-{uuid.uuid4().hex}-{dest.name}")
    tmp.mkdir()
    try:
        yield tmp
        record_ownership(tmp, what)
        owned = check_replaceable(dest, legacy)  # a file may have been added while we built
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if dest.exists():
        old = dest.with_name(f".tmp-old-{uuid.uuid4().hex}-{dest.name}")
        os.replace(dest, old)
        os.replace(tmp, dest)
        # only what was checked to be ours; anything that appeared in the instant since stays,
        # moved out of sight no further than a visible sibling folder
        if remove_owned(old, owned):
            kept = dest.with_name(f"{dest.name}-kept-{uuid.uuid4().hex[:8]}")
            os.replace(old, kept)
            warnings.warn(f"files added to {dest} while facefarm replaced it were moved to {kept}", stacklevel=3)
    else:
        os.replace(tmp, dest)


def write_json(path: Path, obj, indent: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=indent, separators=None if indent else (",", ":")) + "\n")
