"""Describes and validates what a render writes per sample: the label record and the manifest line.

Pydantic models of the JSON that ``renderer.build_record``, ``writer.write_sample`` and
``writer.manifest_line`` produce (they build nothing), and the JSON Schemas generated from them into
facefarm/assets/schema/record.schema.json and manifest.schema.json (``facefarm catalog schema --write``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from facefarm.catalog.resolved import ResolvedSample
from facefarm.catalog.vocabulary import BackendName
from facefarm.sample.writer import image_format_of, sample_names

SCHEMA_BASE = "https://github.com/facefarm/facefarm/assets/schema/"
N_LANDMARKS = 70  # facefarm/assets/schema/landmarks70.json


class _Strict(BaseModel):
    # strict: a JSON string or 0/1 is not silently taken for a number or a boolean
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


def _no_default(schema: dict) -> None:
    schema.pop("default", None)  # an optional key that, when present, is never null


Vec2 = Annotated[list[float], Field(min_length=2, max_length=2)]
Vec3 = Annotated[list[float], Field(min_length=3, max_length=3)]
Vec4 = Annotated[list[float], Field(min_length=4, max_length=4)]
Matrix3 = Annotated[list[Vec3], Field(min_length=3, max_length=3)]
Matrix4 = Annotated[list[Vec4], Field(min_length=4, max_length=4)]
UV70 = Annotated[list[Vec2], Field(min_length=N_LANDMARKS, max_length=N_LANDMARKS)]
Flags70 = Annotated[list[bool], Field(min_length=N_LANDMARKS, max_length=N_LANDMARKS)]
XYZ70 = Annotated[list[Vec3], Field(min_length=N_LANDMARKS, max_length=N_LANDMARKS)]
BBox = Annotated[Vec4, Field(description="[x0, y0, x1, y1] pixels (image frame as in `landmarks.uv`).")]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Seconds = Annotated[float, Field(ge=0)]

_UV = (
    "pixels, image frame: origin at the top-left corner of the image, u right, v down, the centre "
    "of pixel (column i, row j) at (i + 0.5, j + 0.5) (subtract 0.5 for OpenCV's convention, which puts "
    "it at (i, j)); exact projections of 3-D points with `camera.K`, also for hidden points and points "
    "outside the image"
)
_XYZ = "metres, OpenCV camera frame (x right, y down, z forward into the scene)"


class Camera(_Strict):
    """The pinhole camera that rendered the sample (OpenCV conventions)."""

    K: Matrix3 = Field(
        description="3 x 3 intrinsics in pixels, [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]; "
        "pixel frame as in `landmarks.uv` (a centred principal point is cx = W / 2)."
    )
    world_to_camera: Matrix4 = Field(
        description="4 x 4 rigid transform, row-major, from the world frame (= the head model frame: metres, "
        "+x the subject's left, +y up, +z out of the face) to the " + _XYZ + "."
    )
    convention: Literal["opencv"] = Field(description="Camera frame and matrix convention.")


class HeadPose(_Strict):
    """The head in the camera frame."""

    rotation: Matrix3 = Field(
        description="3 x 3 head-to-camera rotation (head frame as in `camera.world_to_camera`, camera frame OpenCV)."
    )
    translation: Vec3 = Field(description="The head frame's origin in the camera frame, " + _XYZ + ".")
    yaw_deg: float = Field(
        description="Degrees; + = the face turns towards the subject's left (image right); "
        "0, 0, 0 = looking straight into the camera. With F = diag(1, -1, -1), "
        "F @ rotation = Ry(yaw) @ Rx(-pitch) @ Rz(roll), about the camera axes."
    )
    pitch_deg: float = Field(description="Degrees; + = chin up.")
    roll_deg: float = Field(
        description="Degrees; + = the top of the head moves towards the subject's right "
        "shoulder (counter-clockwise in the image)."
    )


class _Points(_Strict):
    @model_validator(mode="after")
    def _same_length(self):
        n = len(self.uv)
        if not len(self.visible) == len(self.in_frame) == len(self.xyz_camera) == n:
            raise ValueError(f"uv, visible, in_frame and xyz_camera must have one entry per point ({n})")
        return self


class Landmarks(_Points):
    """The 70 sparse landmarks (facefarm/assets/schema/landmarks70.json: 68 iBUG 300-W points, 0-based,
    then the right and left pupil centres; right = the subject's right)."""

    uv: UV70 = Field(description=f"{N_LANDMARKS} x 2 (u, v) {_UV}.")
    visible: Flags70 = Field(
        description=f"{N_LANDMARKS} booleans: in frame and the surface the point marks is what its pixel "
        "sees; false when hidden (by hair, glasses frames, headwear, clothing, the head itself)."
    )
    in_frame: Flags70 = Field(
        description=f"{N_LANDMARKS} booleans: in front of the camera (beyond its near plane) and inside "
        "[0, width) x [0, height)."
    )
    xyz_camera: XYZ70 = Field(description=f"{N_LANDMARKS} x 3 points, {_XYZ}.")


class Dense(_Points):
    """Dense surface points over face, ears and neck; their number and order are fixed by the head
    asset (its ``n_dense``; dataset.json ``assets.head``). Label file only, not in the manifest."""

    uv: list[Vec2] = Field(description=f"N x 2 (u, v) {_UV}.")
    visible: list[bool] = Field(description="N booleans, as `landmarks.visible`.")
    in_frame: list[bool] = Field(description="N booleans, as `landmarks.in_frame`.")
    xyz_camera: list[Vec3] = Field(description=f"N x 3 points, {_XYZ}.")


class LayoutPointBlock(_Points):
    """The points of a landmark layout in one convention, in the layout's order."""

    uv: list[Vec2] = Field(description=f"K x 2 (u, v) {_UV}.")
    visible: list[bool] = Field(description="K booleans, as `landmarks.visible`.")
    in_frame: list[bool] = Field(description="K booleans, as `landmarks.in_frame`.")
    xyz_camera: list[Vec3] = Field(description=f"K x 3 points, {_XYZ}.")


class WFLW98(_Strict):
    """WFLW's 98 points (facefarm/assets/schema/wflw98.json: names, flip index, groups; 70 of them are
    the 70-point layout's, the others lie on the same surface)."""

    xray: LayoutPointBlock = Field(description="The points anchored on the face's surface (as `landmarks`).")
    contour: LayoutPointBlock = Field(
        description="As people annotate photos (as `landmarks_contour`): the 33 jaw points on the face's "
        "visible outline in this view, the mouth's points as `landmarks_contour` has them."
    )

    @model_validator(mode="after")
    def _98(self):
        if len(self.xray.uv) != 98 or len(self.contour.uv) != 98:
            raise ValueError("a WFLW block has 98 points in each convention")
        return self


class MediaPipe478(_Strict):
    """MediaPipe FaceMesh's 478 points in its numbering (facefarm/assets/schema/mediapipe478.json: names,
    flip index, groups; 468 surface points derived from FaceMesh on our renders, 10 iris points from
    the eye model)."""

    xray: LayoutPointBlock = Field(description="The points anchored on the face's surface (as `landmarks`).")
    contour: LayoutPointBlock = Field(
        description="As people annotate photos (as `landmarks_contour`): the face oval's points from ear level "
        "through the chin (the file's `contour`) on the face's visible outline in this view."
    )

    @model_validator(mode="after")
    def _478(self):
        if len(self.xray.uv) != 478 or len(self.contour.uv) != 478:
            raise ValueError("a MediaPipe block has 478 points in each convention")
        return self


class Layouts(_Strict):
    """Landmark layouts besides the 70 points, those the catalog's `outputs.labels` asks for."""

    wflw98: WFLW98 = Field(
        None,  # type: ignore[arg-type]  # absent, never null
        json_schema_extra=_no_default,  # type: ignore[assignment]
        description="With `landmarks_wflw98` in `outputs.labels`.",
    )
    mediapipe478: MediaPipe478 = Field(
        None,  # type: ignore[arg-type]  # absent, never null
        json_schema_extra=_no_default,  # type: ignore[assignment]
        description="With `landmarks_mediapipe478` in `outputs.labels`.",
    )


class Eye(_Strict):
    """One eye's gaze and lids."""

    centre_camera: Vec3 = Field(description="Eyeball centre, " + _XYZ + ".")
    gaze_camera: Vec3 = Field(
        description="Unit gaze vector from the eyeball centre through the pupil, OpenCV camera frame "
        "(looking straight into the camera: about (0, 0, -1))."
    )
    aperture_mm: float = Field(
        ge=0,
        description="Lid aperture: distance between the midpoints of the upper and lower lid margins "
        "(iBUG points 37/38 and 41/40 for the right eye, 43/44 and 47/46 for the left), millimetres.",
    )
    openness: float = Field(
        ge=0,
        description="Where `aperture_mm` lies between the same identity's aperture with its lids closed "
        "(0; the lid points sit on the lids' skin, about 2 mm apart when closed) and with no expression, "
        "no blink and a straight gaze (1); above 1 wider (surprise).",
    )


class Eyes(_Strict):
    """Gaze and eyelids of both eyes."""

    right: Eye = Field(description="The subject's right eye (image left in a frontal view; its pupil is landmark 68).")
    left: Eye = Field(description="The subject's left eye (its pupil is landmark 69).")


class RecordSeconds(_Strict):
    """Wall time of each stage of this sample's render, seconds (5 decimals)."""

    resolve: Seconds = Field(description="Catalog -> resolved sample.")
    compose: Seconds = Field(description="Resolved sample -> scene (head, hair, garments...).")
    render: Seconds = Field(description="The back-end's render.")
    labels: Seconds = Field(description="Landmarks, visibility, head pose, boxes.")
    encode: Seconds = Field(description="Encoding of the image (PNG, JPEG or WebP), segmentation and depth (PNG).")


class ManifestSeconds(RecordSeconds):
    """Stage seconds on a manifest line: the record's, and `write` when this run wrote the sample."""

    write: Seconds = Field(
        None,
        json_schema_extra=_no_default,  # type: ignore[assignment]  # absent, never null
        description="Writing the sample's files; measured after its label file is written, "
        "so present only on lines of samples rendered by the run that wrote "
        "the manifest (never in the label file).",
    )


class RecordRender(_Strict):
    """How the sample was rendered."""

    backend: BackendName = Field(
        description="The back-end that rendered it (`--backend` may override `attributes.render.backend`)."
    )
    generator: Literal["facefarm"]
    version: str = Field(description="facefarm version.")
    hair_detail: float | None = Field(description="Hair strand-count multiplier the scene used.")
    seconds: RecordSeconds


class ManifestRender(RecordRender):
    """`render` on a manifest line (its `seconds` may have `write`)."""

    seconds: ManifestSeconds


_SAMPLE_FILE = r"^samples/[0-9]{6,}"


def _optional_file(suffix: str, description: str) -> Any:
    """A file of ``files`` present only when the catalog's ``outputs.labels`` asks for it: absent, never null."""
    return Field(None, pattern=_SAMPLE_FILE + suffix, json_schema_extra=_no_default, description=description)


class RecordFiles(_Strict):
    """Paths of the sample's image files, relative to the dataset root."""

    image: str = Field(
        pattern=_SAMPLE_FILE + r"\.(png|jpg|webp)$",
        description="RGB, 8-bit sRGB: PNG with provenance text chunks, or JPEG / WebP (the catalog's "
        "`outputs.image_format`) with the provenance as JSON in EXIF ImageDescription.",
    )
    segmentation: str = Field(
        pattern=_SAMPLE_FILE + r"_seg\.png$",
        description="8-bit PNG of class ids (facefarm/assets/schema/classes.json).",
    )
    depth: str = Field(
        pattern=_SAMPLE_FILE + r"_depth\.png$",
        description="16-bit PNG of camera-frame z in units of `depth_scale_m`; 0 = background.",
    )
    depth_float: str = _optional_file(
        r"_depth\.npy$",
        "float32 .npy of camera-frame z in metres, 0 = background (unquantised); present when "
        "the catalog's `outputs.labels` lists `depth_float`.",
    )
    segmentation_head: str = _optional_file(
        r"_seg_head\.png$",
        "8-bit PNG of the head layer's class ids drawn with nothing worn over it (amodal: the skin, "
        "brows, lips ... under hair, beard, glasses, headwear and clothing); present with `amodal_masks`.",
    )
    layers: str = _optional_file(
        r"_layers\.png$",
        "8-bit PNG, bit k set where layer k of facefarm/assets/schema/layers.json (0 head, 1 hair, "
        "2 beard, 3 clothing, 4 glasses, 5 headwear, 6 facewear) shows with only the head in front of it; "
        "present with `amodal_masks`.",
    )
    normals: str = _optional_file(
        r"_normals\.npy$",
        "float16 .npy (H, W, 3) of unit surface normals in the camera frame (OpenCV axes: x right, "
        "y down, z forward; a surface facing the camera has z < 0), 0 = background; present with `normals`.",
    )
    albedo: str = _optional_file(
        r"_albedo\.png$",
        "8-bit sRGB PNG of the surface albedo (Cycles' denoising albedo from one sample at the pixel "
        "centre: unlit, every closure, hair included), 0 = background; present with `albedo` (Cycles back-end).",
    )


class ManifestFiles(RecordFiles):
    """`files` on a manifest line: the record's, plus the label file."""

    labels: str = Field(pattern=_SAMPLE_FILE + r"\.json$", description="The full label record (with `dense`).")


class FileHashes(_Strict):
    """SHA-256 (lower-case hex) of each file in `files`, as written."""

    image: Sha256
    segmentation: Sha256
    depth: Sha256
    depth_float: Sha256 = Field(None, json_schema_extra=_no_default)  # type: ignore[assignment]
    segmentation_head: Sha256 = Field(None, json_schema_extra=_no_default)  # type: ignore[assignment]
    layers: Sha256 = Field(None, json_schema_extra=_no_default)  # type: ignore[assignment]
    normals: Sha256 = Field(None, json_schema_extra=_no_default)  # type: ignore[assignment]
    albedo: Sha256 = Field(None, json_schema_extra=_no_default)  # type: ignore[assignment]


class FileSizes(_Strict):
    """Size in bytes of each file in `files`, as written (a resume checks them without reading)."""

    image: int = Field(ge=0)
    segmentation: int = Field(ge=0)
    depth: int = Field(ge=0)
    depth_float: int = Field(None, ge=0, json_schema_extra=_no_default)  # type: ignore[assignment]
    segmentation_head: int = Field(None, ge=0, json_schema_extra=_no_default)  # type: ignore[assignment]
    layers: int = Field(None, ge=0, json_schema_extra=_no_default)  # type: ignore[assignment]
    normals: int = Field(None, ge=0, json_schema_extra=_no_default)  # type: ignore[assignment]
    albedo: int = Field(None, ge=0, json_schema_extra=_no_default)  # type: ignore[assignment]


class _Record(_Strict):
    schema_version: Literal[1] = Field(description="Version of this record layout.")
    sample_id: str = Field(pattern=r"^[0-9]{6,}$", description="The index, zero-padded to 6 digits; file stem.")
    index: int = Field(ge=0, description="Position in the dataset, 0..N-1.")
    seed: int = Field(description="Dataset seed.")
    catalog_hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the canonical catalog JSON.")
    identity_id: str = Field(description="Samples of the same synthetic person share it.")
    width: int = Field(ge=1, description="Image width, pixels.")
    height: int = Field(ge=1, description="Image height, pixels.")
    camera: Camera
    head_pose: HeadPose
    landmarks: Landmarks
    landmarks_contour: Landmarks = Field(
        None,
        json_schema_extra=_no_default,  # type: ignore[assignment]
        description="The same 70 points as people annotate photos (the 300-W / WFLW convention): the jaw "
        "(0-16) on the face's visible outline in this view, found by marching each jaw point across the "
        "cheek to where the head turns edge-on; the lips (48-67) on their rendered edge (the far lip points on "
        "the lips' silhouette when the head turns); every other point as in `landmarks`. Absent in records "
        "written before facefarm 0.5.",
    )
    layouts: Layouts = Field(
        None,  # type: ignore[arg-type]  # absent, never null
        json_schema_extra=_no_default,  # type: ignore[assignment]
        description="Other landmark layouts (WFLW's 98 points, MediaPipe's 478), as `outputs.labels` asks; "
        "absent otherwise.",
    )
    eyes: Eyes = Field(
        None,  # type: ignore[arg-type]  # absent, never null
        json_schema_extra=_no_default,  # type: ignore[assignment]
        description="Gaze and eyelids; absent in records written before facefarm 0.6.",
    )
    face_bbox: BBox | None = Field(
        description="Pixel-edge box (x1, y1 exclusive) of the visible face-class pixels of the segmentation "
        "(skin, nose, eyes, brows, mouth, lips, beard); `landmarks_bbox` when none is visible."
    )
    landmarks_bbox: BBox | None = Field(
        description="[min u, min v, max u, max v] of the 70 landmarks, hidden ones included; not clipped to the image."
    )
    depth_scale_m: float = Field(gt=0, description="Metres per step of the depth PNG.")
    attributes: ResolvedSample = Field(
        description="Every resolved value of the sample (catalog units: "
        "years, degrees, mm, metres, kelvin; colours sRGB 0..1)."
    )
    sha256: FileHashes
    sizes: FileSizes = Field(
        None,
        json_schema_extra=_no_default,  # type: ignore[assignment]
        description="Bytes of each file; absent in records written before facefarm 0.4.",
    )

    @model_validator(mode="after")
    def _consistent(self):
        a = self.attributes
        for key in ("sample_id", "index", "seed", "catalog_hash", "identity_id"):
            if getattr(a, key) != getattr(self, key):
                raise ValueError(f"attributes.{key} {getattr(a, key)!r} != {key} {getattr(self, key)!r}")
        names = sample_names(self.sample_id, image_format_of(self.files.image))
        for key, value in self.files.model_dump(exclude_none=True).items():
            if value != names[key]:
                raise ValueError(f"files.{key} {value!r} is not {names[key]!r}")
        return self


class SampleRecord(_Record):
    """The label file ``samples/{sample_id}.json`` of one sample: all its labels (README, "Output format")."""

    dense: Dense
    render: RecordRender
    files: RecordFiles


class ManifestLine(_Record):
    """One line of ``manifest.jsonl``: the sample's record without `dense`, plus `files.labels` and `split`."""

    render: ManifestRender
    files: ManifestFiles
    split: Literal["train", "val", "test"] = Field(
        None,  # type: ignore[arg-type]  # absent, never null
        json_schema_extra=_no_default,  # type: ignore[assignment]
        description="The identity's split at the default fractions 0.8 / 0.1 / 0.1, by a hash of `identity_id` "
        "(what `facefarm export` and `Dataset.split` use unless given other fractions); absent in manifests "
        "written before facefarm 0.4.",
    )


def _schema(model: type[BaseModel], name: str) -> dict:
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_BASE + name
    return schema


def record_json_schema() -> dict:
    """The JSON Schema of a sample's label file, generated from :class:`SampleRecord`."""
    return _schema(SampleRecord, "record.schema.json")


def manifest_json_schema() -> dict:
    """The JSON Schema of one manifest.jsonl line, generated from :class:`ManifestLine`."""
    return _schema(ManifestLine, "manifest.schema.json")
