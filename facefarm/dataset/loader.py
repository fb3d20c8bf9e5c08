"""A finished dataset as a training loop reads it: ``facefarm.load(path)`` -> :class:`Dataset` of :class:`Sample`.

numpy only; ``to_torch()`` and ``to_hf()`` import torch / ``datasets`` when called. A dataset root is
read through :func:`facefarm.dataset.source.open_dataset`, so a local folder or an fsspec URL works.

Pixel convention (every array here, as in the record): origin at the top-left *corner* of the image,
u right, v down; the centre of pixel (column i, row j) is at (i + 0.5, j + 0.5). ``image[j, i]`` is the
pixel whose centre is (i + 0.5, j + 0.5), so the pixel *containing* a point (u, v) is
``[floor(v), floor(u)]``. OpenCV puts pixel centres at integers: subtract 0.5 before handing
landmarks to OpenCV, add 0.5 to what it returns (:func:`facefarm.dataset.crop.crop` does this).

    ds = facefarm.load("OUT")               # OUT holds dataset.json + manifest.jsonl
    train = ds.split("train")               # identity-disjoint, the fractions exports use
    s = train[0]                            # Sample: image, segmentation, depth, landmarks, visible, record
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, overload

import numpy as np

from facefarm.dataset.hf import PLANE_FILES, harmonise, metadata_row
from facefarm.dataset.source import SourceDataset, decode_png, open_dataset, sample_key
from facefarm.dataset.splits import DEFAULT_FRACTIONS, SPLIT_NAMES, parse_fractions, split_records
from facefarm.sample.record import ManifestLine, SampleRecord
from facefarm.sample.writer import decode_npy
from facefarm.scene.classes import N_LANDMARKS

#: Optional per-pixel label files a record may name (:attr:`Sample.planes`).
PLANE_KINDS = ("segmentation_head", "layers", "normals", "albedo")

#: Other names accepted by :meth:`Dataset.split` (``datasets`` calls the val split "validation").
SPLIT_ALIASES = {"validation": "val", "valid": "val"}
#: The file columns of :meth:`Dataset.to_hf` (the record's ``files`` keys).
IMAGE_COLUMNS = ("image", "segmentation", "depth")


class VerificationError(ValueError):
    """A sample's file does not hash to the sha256 its record holds (the dataset was changed or damaged)."""


def _identity_transform() -> np.ndarray:
    return np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


@dataclass(frozen=True, eq=False)
class Sample:
    """One labelled sample, arrays in facefarm's pixel convention (module docstring).

    image : (H, W, 3) uint8, sRGB.
    segmentation : (H, W) uint8 class ids (``facefarm/assets/schema/classes.json``; 255 = IGNORE,
        also used by :func:`~facefarm.dataset.crop.crop` for pixels outside the source image).
    depth : (H, W) float32, camera-frame z in metres; 0 where no surface was rendered (from the
        ``.npy`` file when the catalog wrote one, else the PNG's 0.1 mm steps).
    landmarks : (70, 2) float64 pixels (u, v), the 68 iBUG 300-W points then the right and left pupil.
    visible : (70,) bool, in frame and not hidden.
    in_frame : (70,) bool, inside ``[0, W) x [0, H)`` (and in front of the camera).
    record : the full label record (:class:`~facefarm.sample.record.SampleRecord`) as rendered. Its
        pixel quantities (``camera.K``, ``landmarks``, ``face_bbox``...) are in the *rendered* image's
        frame; ``transform`` takes them to this sample's frame.
    planes : the optional per-pixel labels the catalog asked for (``outputs.labels``), by name:
        ``segmentation_head`` (H, W) uint8 class ids of the head with nothing worn over it and ``layers``
        (H, W) uint8 bit masks (``amodal_masks``; ``facefarm/assets/schema/layers.json``), ``normals``
        (H, W, 3) float32 camera-frame unit normals (0 = background), ``albedo`` (H, W, 3) uint8 sRGB
        (Cycles). Warps move them with the pixels (nearest), normals turning with the image.
    transform : (2, 3) float64 affine map from the rendered image's pixel frame to this sample's
        (identity for a loaded sample; :func:`~facefarm.dataset.crop.crop` composes its similarity in):
        ``p_here = transform[:, :2] @ p_rendered + transform[:, 2]``. After a perspective warp
        (:func:`~facefarm.dataset.augment.augment`) it is the (3, 3) homography instead;
        :func:`~facefarm.dataset.crop.transform_points` applies either form.
    """

    image: np.ndarray
    segmentation: np.ndarray
    depth: np.ndarray
    landmarks: np.ndarray
    visible: np.ndarray
    in_frame: np.ndarray
    record: SampleRecord
    transform: np.ndarray = field(default_factory=_identity_transform)
    planes: dict[str, np.ndarray] = field(default_factory=dict)
    #: the landmark convention ``landmarks`` and ``visible`` follow: "xray" or "contour" (see :func:`load`)
    convention: str = "xray"

    @property
    def sample_id(self) -> str:
        return self.record.sample_id

    @property
    def index(self) -> int:
        return self.record.index

    @property
    def identity_id(self) -> str:
        return self.record.identity_id

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of this sample's arrays."""
        return int(self.image.shape[1]), int(self.image.shape[0])

    def __repr__(self) -> str:
        w, h = self.size
        sid = getattr(self.record, "sample_id", "?")  # a Sample built by hand may carry no record
        return f"Sample({sid}, {w}x{h}, {int(self.visible.sum())}/{N_LANDMARKS} landmarks visible)"


#: Landmark conventions a dataset can be read in (:func:`load`).
LANDMARK_CONVENTIONS = ("xray", "contour")


class Dataset(Sequence):
    """A rendered dataset (or a split of one): ``len(ds)``, ``ds[i]`` -> :class:`Sample`, iteration.

    Reads files on access, nothing is cached: index it from many DataLoader workers freely.
    ``verify=True`` hashes every file read against the record's sha256 (:class:`VerificationError`).
    """

    def __init__(
        self,
        source: SourceDataset,
        rows: Sequence[dict],
        *,
        verify: bool = False,
        name: str | None = None,
        landmarks: str = "xray",
    ):
        if landmarks not in LANDMARK_CONVENTIONS:
            raise ValueError(f"landmarks={landmarks!r}: choose one of {', '.join(LANDMARK_CONVENTIONS)}")
        self._source = source
        self._rows = tuple(rows)
        self.verify = verify
        #: which landmark convention ``Sample.landmarks`` / ``visible`` carry (see :func:`load`)
        self.landmarks = landmarks
        #: the split this dataset is ("train", "val", "test"), or None for the whole dataset
        self.name = name

    # -- what a dataset is -------------------------------------------------------------------------
    @property
    def root(self) -> str:
        """The dataset root (a folder or an fsspec URL) as given to :func:`load`."""
        return self._source.store.root

    @property
    def header(self) -> dict:
        """``dataset.json``: catalog, seed, counts, class table, landmark layout, versions."""
        return self._source.header

    @property
    def classes(self) -> dict[int, str]:
        """Segmentation class id -> name, from the dataset's own header."""
        return {int(c["id"]): c["name"] for c in self.header["classes"]["classes"]}

    @cached_property
    def records(self) -> tuple[ManifestLine, ...]:
        """The manifest lines of these samples (every label but the dense points), typed, in index order."""
        return tuple(ManifestLine.model_validate(r) for r in self._rows)

    @property
    def identities(self) -> list[str]:
        """The distinct identity ids of these samples, in first-appearance order."""
        return list(dict.fromkeys(str(r["identity_id"]) for r in self._rows))

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, i: int) -> Sample: ...

    @overload
    def __getitem__(self, i: slice) -> Dataset: ...

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self._view(self._rows[i], self.name)
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise TypeError(f"dataset indices are integers or slices, not {type(i).__name__}")
        n = len(self._rows)
        if not -n <= i < n:
            raise IndexError(f"sample {i} out of range for a dataset of {n}")
        return self._read(self._rows[int(i)])

    def __repr__(self) -> str:
        part = f" split={self.name!r}" if self.name else ""
        return f"Dataset({self.root!r},{part} {len(self)} samples, {len(self.identities)} identities)"

    def _view(self, rows: Sequence[dict], name: str | None) -> Dataset:
        return Dataset(self._source, rows, verify=self.verify, name=name, landmarks=self.landmarks)

    # -- splits -------------------------------------------------------------------------------------
    def split(self, name: str, fractions: Sequence[float] | str = DEFAULT_FRACTIONS, salt: str = "") -> Dataset:
        """The samples of split ``name`` ("train", "val" or "validation", "test"), by identity.

        The same assignment as ``facefarm export`` (:mod:`facefarm.dataset.splits`): a hash of each
        ``identity_id``, so no identity is in two splits and adding samples never moves one. Pass the
        ``fractions`` given to ``facefarm export --splits`` if they were not the default 0.8, 0.1, 0.1.
        With few identities a split can be empty.
        """
        fractions = parse_fractions(fractions)
        key = SPLIT_ALIASES.get(name, name)
        names = SPLIT_NAMES[: len(fractions)]
        if key not in names:
            raise ValueError(f"no split {name!r}: with {len(fractions)} fraction(s) the splits are {', '.join(names)}")
        return self._view(split_records(self._rows, fractions, salt)[key], key)

    def splits(self, fractions: Sequence[float] | str = DEFAULT_FRACTIONS, salt: str = "") -> dict[str, Dataset]:
        """Every split by name (see :meth:`split`), empty ones included."""
        return {k: self._view(v, k) for k, v in split_records(self._rows, parse_fractions(fractions), salt).items()}

    # -- reading --------------------------------------------------------------------------------------
    def _file(self, row: dict, kind: str) -> bytes:
        data = self._source.read(row["files"][kind])
        if self.verify:
            want = row["sha256"][kind]
            got = hashlib.sha256(data).hexdigest()
            if got != want:
                raise VerificationError(f"{self.root}/{row['files'][kind]}: sha256 {got} is not the record's {want}")
        return data

    def record(self, i: int) -> SampleRecord:
        """The full label record of sample ``i`` (with the dense points), without reading its images."""
        return SampleRecord.model_validate_json(self._source.read(self._rows[i]["files"]["labels"]))

    def _read(self, row: dict) -> Sample:
        record = SampleRecord.model_validate_json(self._source.read(row["files"]["labels"]))
        image = decode_png(self._file(row, "image"))
        seg = decode_png(self._file(row, "segmentation"))
        depth_raw = decode_png(self._file(row, "depth"))
        shape = (record.height, record.width)
        for kind, arr, dtype in (
            ("image", image, np.uint8),
            ("segmentation", seg, np.uint8),
            ("depth", depth_raw, np.uint16),
        ):
            if arr.shape[:2] != shape or arr.dtype != dtype:
                raise ValueError(
                    f"{self.root}/{row['files'][kind]}: {arr.dtype} {arr.shape}, the record says "
                    f"{np.dtype(dtype)} {shape}"
                )
        depth = depth_raw.astype(np.float32) * np.float32(record.depth_scale_m)
        if record.files.depth_float is not None:  # the exact depth, when the catalog asked for it
            depth = decode_npy(self._file(row, "depth_float"))
            if depth.shape != shape or depth.dtype != np.float32:
                raise ValueError(
                    f"{self.root}/{row['files']['depth_float']}: {depth.dtype} {depth.shape}, the record says "
                    f"float32 {shape}"
                )
        planes = {}
        for kind in PLANE_KINDS:
            if getattr(record.files, kind) is None:
                continue
            data = self._file(row, kind)
            plane = decode_npy(data) if kind == "normals" else decode_png(data)
            want = (shape + (3,)) if kind in ("normals", "albedo") else shape
            stored = np.dtype(np.float16 if kind == "normals" else np.uint8)
            if plane.shape != want or plane.dtype != stored:
                raise ValueError(
                    f"{self.root}/{row['files'][kind]}: {plane.dtype} {plane.shape}, the record says {stored} {want}"
                )
            planes[kind] = plane.astype(np.float32) if kind == "normals" else plane
        lm = record.landmarks
        if self.landmarks == "contour":
            if record.landmarks_contour is None:
                raise ValueError(
                    f"{self.root}/{row['files']['labels']}: no `landmarks_contour` (written before facefarm 0.5); "
                    "re-render the dataset, or load it with landmarks='xray'"
                )
            lm = record.landmarks_contour
        return Sample(
            image=image,
            segmentation=seg,
            depth=depth,
            landmarks=np.asarray(lm.uv, dtype=np.float64).reshape(N_LANDMARKS, 2),
            visible=np.asarray(lm.visible, dtype=bool),
            in_frame=np.asarray(lm.in_frame, dtype=bool),
            record=record,
            planes=planes,
            convention=self.landmarks,
        )

    # -- other libraries ------------------------------------------------------------------------------
    def to_torch(self, transform: Callable[[Sample], Any] | None = None):
        """A ``torch.utils.data.Dataset`` over these samples (needs ``pip install torch``).

        Without ``transform`` an item is a dict of tensors: ``image`` (3, H, W) float32 in [0, 1],
        ``segmentation`` (H, W) int64, ``depth`` (H, W) float32 metres, ``landmarks`` (70, 2) float32
        pixels, ``visible`` (70,) bool, ``index`` int (:func:`sample_arrays`, as tensors). With ``transform``
        an item is ``transform(sample)``: crop, augment and convert there, e.g.
        ``lambda s: sample_arrays(crop(s, 128))`` (DataLoader's collate turns numpy arrays into tensors).
        """
        try:
            import torch  # noqa: F401 - only to fail early with the install hint
        except ImportError as e:
            raise ImportError(
                f"Dataset.to_torch() needs PyTorch: `pip install torch` (or use the numpy samples directly) [{e}]"
            ) from e
        return _torch_dataset_class()(self, transform)

    def to_hf(self, splits: bool = False, fractions: Sequence[float] | str = DEFAULT_FRACTIONS):
        """A Hugging Face ``datasets.Dataset`` of these samples, the columns of the ``hf`` export.

        ``image``, ``segmentation`` and ``depth`` are ``datasets.Image`` columns (depth: uint16 PNG in
        ``depth_scale_m`` units), then ``landmarks`` (70 x 2 pixels, this module's convention),
        ``landmarks_visible``, ``landmarks_in_frame``, ``keypoint_visibility``, ``face_bbox``,
        ``camera_K``, ``head_pose.*``, ``attributes.*`` (see :mod:`facefarm.dataset.hf`). Images stay
        files until read (local datasets) or are carried as bytes (URLs). ``splits=True`` returns a
        ``datasets.DatasetDict`` (train / validation / test, by identity, one schema for all).
        """
        try:
            import datasets
        except ImportError as e:
            raise ImportError(f"Dataset.to_hf() needs Hugging Face datasets: `pip install datasets` [{e}]") from e
        rows = _hf_rows(self)
        whole = _hf_dataset(datasets, rows)
        if not splits:
            return whole
        by_id = {r["sample_id"]: row for r, row in zip(self._rows, rows)}
        return datasets.DatasetDict(
            {
                ("validation" if k == "val" else k): datasets.Dataset.from_list(
                    [by_id[r["sample_id"]] for r in v], features=whole.features
                )
                for k, v in split_records(self._rows, parse_fractions(fractions)).items()
                if v
            }
        )


def load(path: str | os.PathLike, *, verify: bool = False, landmarks: str = "xray") -> Dataset:
    """Open a finished dataset (the folder, or fsspec URL, that ``facefarm render -o`` wrote).

    ``landmarks``: which convention a sample's ``landmarks`` and ``visible`` follow: ``"xray"``
    (each point anchored on the head's surface, projected whether seen or not; the record's
    ``landmarks``) or ``"contour"`` (as people annotate photos, 300-W / WFLW: the jaw on the
    face's visible outline in that view; the record's ``landmarks_contour``).

    Reads ``dataset.json`` and ``manifest.jsonl`` now and sample files on access. ``verify=True``
    checks the manifest against dataset.json's ``manifest_sha256`` now, and every image, segmentation
    and depth file when it is read against its record's sha256 (:class:`VerificationError`). Raises
    FileNotFoundError for a folder that is not a finished dataset, ValueError for a manifest that is
    not JSON or a dataset written by a newer record schema.
    """
    source = open_dataset(path)
    version = source.header.get("schema_version")
    if version != 1:
        raise ValueError(
            f"{path}: dataset schema_version {version!r}; this facefarm reads version 1 (upgrade facefarm)"
        )
    if verify:
        want = source.header.get("manifest_sha256")
        got = hashlib.sha256(source.read("manifest.jsonl")).hexdigest()
        if got != want:
            raise VerificationError(f"{path}/manifest.jsonl: sha256 {got} is not dataset.json's {want}")
    return Dataset(source, source.records, verify=verify, landmarks=landmarks)


# -- adapters ----------------------------------------------------------------------------------------
def sample_arrays(sample: Sample) -> dict[str, np.ndarray | int]:
    """A sample as the arrays a network takes: image (3, H, W) float32 0..1, segmentation int64,
    depth float32 metres, landmarks (70, 2) float32, visible bool, index."""
    return {
        "image": np.ascontiguousarray(sample.image.transpose(2, 0, 1), dtype=np.float32) / np.float32(255),
        "segmentation": sample.segmentation.astype(np.int64),
        "depth": np.ascontiguousarray(sample.depth, dtype=np.float32),
        "landmarks": sample.landmarks.astype(np.float32),
        "visible": sample.visible.copy(),
        "index": sample.index,
    }


@lru_cache(maxsize=None)
def _torch_dataset_class() -> type:
    """``TorchDataset``, made on first use (it subclasses torch's Dataset, and torch is optional)."""
    import torch
    from torch.utils.data import Dataset as TorchBase

    class TorchDataset(TorchBase):
        """facefarm samples as torch items (see :meth:`Dataset.to_torch`); picklable, so DataLoader workers
        started by spawn get it too (with a picklable ``transform``: a module-level function, not a lambda)."""

        def __init__(self, dataset: Dataset, transform=None):
            self.dataset = dataset
            self.transform = transform

        def __len__(self) -> int:
            return len(self.dataset)

        def __getitem__(self, i: int):
            sample = self.dataset[i]
            if self.transform is not None:
                return self.transform(sample)
            return {
                k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in sample_arrays(sample).items()
            }

    TorchDataset.__module__, TorchDataset.__qualname__ = __name__, "TorchDataset"
    return TorchDataset


def __getattr__(name: str):
    # ``facefarm.dataset.loader.TorchDataset`` is where pickle finds the class (in a fresh worker too)
    if name == "TorchDataset":
        return _torch_dataset_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _hf_rows(dataset: Dataset) -> list[dict]:
    source = dataset._source
    rows = harmonise([metadata_row(r, sample_key(r)) for r in dataset._rows])
    out = []
    for r, row in zip(dataset._rows, rows):
        files: dict[str, dict[str, Any]] = {}
        for column in (*IMAGE_COLUMNS, *(k for k in PLANE_FILES if r["files"].get(k) is not None)):
            name = r["files"][column]
            if source.store.is_local:
                files[column] = {"path": str(source.store.local_path(name)), "bytes": None}
            else:
                files[column] = {"path": name, "bytes": source.read(name)}
        for k in ("file_name", "segmentation_file_name", "depth_file_name", *(f"{p}_file_name" for p in PLANE_FILES)):
            row.pop(k, None)
        out.append({**files, **row})
    return out


def _hf_dataset(datasets, rows: list[dict]):
    """``rows`` as a ``datasets.Dataset``: label columns typed as ``datasets`` infers them over all rows
    (:func:`~facefarm.dataset.hf.harmonise` made them agree), the three image columns as images."""
    ds = datasets.Dataset.from_list(rows)
    for column in (*IMAGE_COLUMNS, *PLANE_FILES):
        if column in ds.column_names:
            ds = ds.cast_column(column, datasets.Image())
    return ds
