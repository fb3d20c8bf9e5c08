"""The catalog language: what a catalog-spec JSON may say, as frozen pydantic models.

``Catalog`` is the root. Every attribute takes a distribution (see
:mod:`facefarm.catalog.distributions`: a bare value, fixed, uniform, normal, truncnormal
or categorical); every field has a default, so ``{"catalog_version": 1}`` is a valid
catalog. Units are in the field names or descriptions: years, degrees, mm, metres,
kelvin; colours are sRGB ``"#rrggbb"``. Which attributes are drawn once per *identity*
(shared by all its images) and which per *image* is listed in :mod:`facefarm.catalog.resolve`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from pydantic import Field, ValidationInfo, field_validator, model_serializer, model_validator

from facefarm.catalog.checks import cross_field_problems
from facefarm.catalog.distributions import ColorChoice, Frozen, choice_dist, number_dist
from facefarm.catalog.expressions import ARKIT_UNITS
from facefarm.catalog.sampling_spec import SamplingSpec
from facefarm.catalog.taxonomy import EyeChoice, Taxonomy, load_taxonomy_data
from facefarm.catalog.vocabulary import (
    CLOTHING_IDS,
    FACIAL_HAIR_STYLES,
    GLASSES_FAMILIES,
    HDRI_IDS,
    HEADWEAR_IDS,
    MAX_SAMPLES,
    BackendName,
)

CATALOG_VERSION = 1

# Domains: (valid range, unit) of each kind of number. The types are pydantic models built at
# run time (one per domain, for the JSON Schema); to a type checker they are values of any kind.
if TYPE_CHECKING:
    Years: TypeAlias = Any
    Unit: TypeAlias = Any
    Signed: TypeAlias = Any
    Deg90: TypeAlias = Any
    Deg45: TypeAlias = Any
    Deg360: TypeAlias = Any
    FocalMm: TypeAlias = Any
    SensorMm: TypeAlias = Any
    DistanceM: TypeAlias = Any
    JitterM: TypeAlias = Any
    JitterPx: TypeAlias = Any
    FrameMm: TypeAlias = Any
    Strength: TypeAlias = Any
    Watts: TypeAlias = Any
    Kelvin: TypeAlias = Any
    Count: TypeAlias = Any
    UnitCount: TypeAlias = Any
    LightSizeM: TypeAlias = Any
    PerYear: TypeAlias = Any
    StrChoice: TypeAlias = Any
    FacialHairChoice: TypeAlias = Any
    LightKindChoice: TypeAlias = Any
    BackgroundChoice: TypeAlias = Any
else:
    Years = number_dist("Years", 1.0, 90.0, "years")
    Unit = number_dist("Unit", 0.0, 1.0, "")
    Signed = number_dist("Signed", -1.0, 1.0, "")
    Deg90 = number_dist("Deg90", -90.0, 90.0, "degrees")
    Deg45 = number_dist("Deg45", -45.0, 45.0, "degrees")
    Deg360 = number_dist("Deg360", -360.0, 360.0, "degrees")
    FocalMm = number_dist("FocalMm", 5.0, 300.0, "mm")
    SensorMm = number_dist("SensorMm", 1.0, 100.0, "mm")
    DistanceM = number_dist("DistanceM", 0.1, 10.0, "m")
    JitterM = number_dist("JitterM", -0.5, 0.5, "m")
    JitterPx = number_dist("JitterPx", -512.0, 512.0, "px")
    FrameMm = number_dist("FrameMm", 0.5, 15.0, "mm")
    Strength = number_dist("Strength", 0.0, 100.0, "x")
    Watts = number_dist("Watts", 0.0, 10000.0, "W")
    Kelvin = number_dist("Kelvin", 1000.0, 20000.0, "K")
    Count = number_dist("Count", 0.0, 8.0, "lights")
    UnitCount = number_dist("UnitCount", 1.0, 52.0, "units")
    LightSizeM = number_dist("LightSizeM", 0.0, 5.0, "m")
    PerYear = number_dist("PerYear", 0.0, 1.0, "per year")

    StrChoice = choice_dist("Id")
    FacialHairChoice = choice_dist("FacialHair", Literal[FACIAL_HAIR_STYLES])  # type: ignore[valid-type]
    LightKindChoice = choice_dist("LightKind", Literal["point", "area", "spot", "directional"])
    BackgroundChoice = choice_dist("Background", Literal["hdri", "solid"])

ArkitUnit = Literal[ARKIT_UNITS]  # type: ignore[valid-type]


def _u(a: float, b: float) -> dict:
    return {"kind": "uniform", "min": a, "max": b}


def _tn(mean: float, sd: float, a: float, b: float) -> dict:
    return {"kind": "truncnormal", "mean": mean, "sd": sd, "min": a, "max": b}


def _cat(weights: dict) -> dict:
    return {"kind": "categorical", "weights": weights}


def _d(value: Any) -> Any:
    """A validated default: ``Field(default=...)`` that still goes through the field's type."""
    return Field(default=value, validate_default=True)


def _prob(default: float, what: str) -> Any:
    return Field(default, ge=0.0, le=1.0, description=f"Probability (0..1) {what}.")


class IdentitySpec(Frozen):
    """How images group into identities and how an identity's face shape details are drawn."""

    images_per_identity: int = Field(
        1, ge=1, le=100000, description="Images per identity (DigiFace style): identity index = image index // this."
    )
    detail_names: list[str] | None = Field(
        None,
        description="Detail parameters to draw (head model target pairs, e.g. 'nose-hump'); "
        "null = the default list in facefarm.catalog.vocabulary.",
    )
    details_per_identity: int | None = Field(
        None, ge=0, description="How many of detail_names get a non-zero weight per identity (null = all)."
    )
    detail_dist: Signed = Field(
        default=_tn(0.0, 0.35, -1.0, 1.0),
        validate_default=True,
        description="Distribution of each drawn detail weight (-1..1).",
    )
    detail_scale: float = Field(1.0, ge=0.0, le=1.0, description="Multiplies every drawn detail weight.")
    detail_overrides: dict[str, Signed] = Field(
        default_factory=dict, description="Per-name distributions that replace detail_dist (always drawn, not scaled)."
    )

    @field_validator("detail_names")
    @classmethod
    def _unique_names(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and len(set(v)) != len(v):
            dup = sorted({n for n in v if v.count(n) > 1})
            raise ValueError(f"names appear more than once: {', '.join(dup)}; list each name once")
        return v


class AncestrySpec(Frozen):
    """Who the samples are, in the user's own taxonomy of labels."""

    taxonomy: Taxonomy = Field(
        default="example",
        validate_default=True,
        description="Inline taxonomy, or a reference: a shipped name ('example') or a path relative "
        "to the catalog file.",
    )
    labels: dict[str, float] | None = Field(
        None, description="Population weight of each label (> 0); null = all taxonomy labels equally."
    )
    mixed_probability: float = _prob(0.2, "that a sample mixes several labels")
    mixed_max_labels: int = Field(2, ge=2, le=10, description="Most labels in one mixed sample (2..10).")
    mixed_concentration: float = Field(
        1.0, gt=0.0, le=100.0, description="Dirichlet concentration of mixed weights (1 = uniform)."
    )

    @field_validator("taxonomy", mode="before", json_schema_input_type=str | Taxonomy)
    @classmethod
    def _load_reference(cls, v: Any, info: ValidationInfo) -> Any:
        if isinstance(v, str):
            base = (info.context or {}).get("base_dir")
            return load_taxonomy_data(v, base)
        return v

    @field_validator("labels")
    @classmethod
    def _positive(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is not None:
            if not v:
                raise ValueError("labels is empty; give at least one label with a weight, or null for all")
            bad = [k for k, w in v.items() if not w > 0]
            if bad:
                raise ValueError(f"weights must be > 0 (check {', '.join(bad)}); remove a label to exclude it")
        return v


class SkinSpec(Frozen):
    """Skin colour and detail. Null colour fields come from the ancestry priors."""

    melanin: Unit | None = Field(None, description="Override the ancestry melanin prior (0..1).")
    haemoglobin: Unit | None = Field(None, description="Override the ancestry haemoglobin prior (0..1).")
    freckles: Unit = _d(_u(0.0, 0.3))
    moles: Unit = _d(_u(0.0, 0.3))
    blemishes: Unit = _d(_u(0.0, 0.3))
    wrinkles: Unit | None = Field(None, description="Override; null = grows with age (see wrinkles_*).")
    wrinkles_onset_years: Years = _d(_tn(32.0, 6.0, 18.0, 60.0))
    wrinkles_per_year: PerYear = _d(_u(0.012, 0.025))


class EyesSpec(Frozen):
    colors: EyeChoice | None = Field(None, description="Override the ancestry eye-colour priors.")
    iris_jitter: float = Field(
        0.04,
        ge=0.0,
        le=0.3,
        description="Variation of the family's iris colour: its brightness scales by exp(3 x) of a normal draw "
        "of this standard deviation (~12 % at 0.04), its channels by a quarter of that (the hue stays the "
        "family's); 0 = the family colour exactly.",
    )


class HairSpec(Frozen):
    """Scalp hair. Null colour/curl fields come from the ancestry priors; grey grows with age.

    The style is drawn from ``styles`` (or ``styles_male`` for gender >= 0.5), each weight
    multiplied by the style's age ramp (``age_ramps_years``), so receding hairlines and bald
    crowns go to older identities without changing the age distribution."""

    styles: StrChoice = _d(
        _cat(
            {
                "long": 3,
                "medium": 3,
                "wavy": 2,
                "bob": 2,
                "ponytail": 2,
                "curly": 1.5,
                "bun": 1,
                "short": 1,
                "afro": 1,
                "braids": 1,
                "locs": 0.5,
            }
        )
    )
    styles_male: StrChoice | None = Field(
        default=_cat(
            {
                "short": 5,
                "fade": 2,
                "buzz": 2,
                "medium": 2,
                "receding": 1.5,
                "bald": 1.5,
                "balding": 1.2,
                "curly": 0.7,
                "locs": 0.5,
                "afro": 0.5,
                "long": 0.5,
                "wavy": 0.3,
            }
        ),
        validate_default=True,
        description="Styles for gender >= 0.5 (null = use styles for everyone).",
    )
    age_ramps_years: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {"bald": (14.0, 30.0), "receding": (20.0, 45.0), "balding": (28.0, 55.0)},
        description="Style id -> [a, b] years: the style's weight (in styles and styles_male) is 0 below "
        "age a and grows linearly to its full weight at age b. Styles not listed keep their "
        "weight at every age. If every style of a table is ramped to 0 at an age, the table's "
        "own weights are used. {} = no age dependence.",
    )
    length: Unit = Field(
        default=_u(0.0, 1.0),
        validate_default=True,
        description="Length within the style's range (0 shortest .. 1 longest).",
    )
    density: Unit = _d(_u(0.6, 1.0))
    curl: Unit | None = None
    melanin: Unit | None = None
    redness: Unit | None = None
    grey: Unit | None = Field(None, description="Override; null = grows with age (see grey_*).")
    grey_onset_years: Years = _d(_tn(45.0, 8.0, 25.0, 80.0))
    grey_per_year: PerYear = _d(_u(0.02, 0.05))

    @field_validator("age_ramps_years")
    @classmethod
    def _ramps(cls, v: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for style, (a, b) in v.items():
            if not 1.0 <= a < b <= 90.0:
                raise ValueError(f"{style!r}: [{a:g}, {b:g}] must satisfy 1 <= a < b <= 90 (years)")
        return v

    def age_factor(self, style: str, age_years: float) -> float:
        """The ramp multiplier (0..1) of ``style``'s weight at ``age_years`` (1 when not ramped)."""
        if style not in self.age_ramps_years:
            return 1.0
        a, b = self.age_ramps_years[style]
        return min(max((age_years - a) / (b - a), 0.0), 1.0)


class FacialHairSpec(Frozen):
    """Beards. Only samples at least ``min_age_years`` old with gender >= ``min_gender`` can
    have one (a quota or force rule can still ask for any combination)."""

    probability: float = _prob(0.45, "of facial hair for those eligible")
    min_age_years: float = Field(16.0, ge=1.0, le=90.0)
    min_gender: float = Field(0.6, ge=0.0, le=1.0)
    styles: FacialHairChoice = _d(_cat({"stubble": 3, "moustache": 1, "goatee": 1.5, "full_beard": 2.5}))
    density: Unit = _d(_u(0.5, 1.0))
    match_hair: bool = Field(True, description="Colour (melanin, redness, grey) follows the scalp hair.")
    melanin: Unit | None = None
    redness: Unit | None = None


class EyebrowsSpec(Frozen):
    """Eyebrows. Where they sit, and their mean thickness, density and colour by sex and age,
    come from priors (``facefarm/compose/hair/brows.py``); these values move a brow within them."""

    thickness: Unit = Field(
        default=_tn(0.5, 0.2, 0.0, 1.0),
        validate_default=True,
        description="Brow height relative to the sex and age prior: 0 = 0.75x, 0.5 = 1x, 1 = 1.25x.",
    )
    density: Unit = Field(
        default=_u(0.6, 1.0),
        validate_default=True,
        description="Hairs per area relative to the sex and age prior (0..1).",
    )
    match_hair: bool = Field(True, description="Colour follows the scalp hair (greying at half the rate).")
    melanin: Unit | None = None


class GlassesSpec(Frozen):
    probability: float = _prob(0.3, "that an image has glasses")
    families: StrChoice = _d(_cat({f: 1 for f in GLASSES_FAMILIES}))
    frame_colors: ColorChoice = _d(
        _cat({"#111111": 4, "#5a3a22": 2, "#8c8c8c": 1, "#c9a227": 1, "#7a1f2b": 1, "#1f3a7a": 1})
    )
    thickness_mm: FrameMm = _d(_u(1.5, 5.0))
    lens_tints: ColorChoice = _d(_cat({"#ffffff": 1}))
    lens_transmission: Unit = _d(_u(0.85, 0.95))


class ClothingSpec(Frozen):
    ids: StrChoice = _d(_cat({c: 1 for c in CLOTHING_IDS}))
    colors: ColorChoice = _d(_cat({"#222222": 2, "#f2f2f2": 2, "#2b4c7e": 2, "#7e2b2b": 1, "#3d6b3d": 1, "#8a7f6a": 1}))


class HeadwearSpec(Frozen):
    probability: float = _prob(0.1, "that an image has headwear")
    ids: StrChoice = _d(_cat({h: 1 for h in HEADWEAR_IDS}))
    colors: ColorChoice = _d(_cat({"#222222": 2, "#8a7f6a": 1, "#2b4c7e": 1, "#7e2b2b": 1}))


class ExpressionSpec(Frozen):
    """Expressions: a named preset at an intensity, or a random sparse blend of the 52 units."""

    presets: StrChoice = _d(
        _cat(
            {
                "neutral": 4,
                "smile": 2,
                "big_smile": 1,
                "surprise": 1,
                "anger": 1,
                "sadness": 1,
                "disgust": 1,
                "fear": 1,
                "mouth_open": 1,
            }
        )
    )
    custom_presets: dict[str, dict[ArkitUnit, float]] = Field(
        default_factory=dict, description="Extra presets: name -> {ARKit unit: weight 0..1}."
    )
    intensity: Unit = _d(_u(0.4, 1.0))
    noise_sd: float = Field(0.05, ge=0.0, le=0.5, description="Gaussian noise on the preset's active units.")
    random_probability: float = _prob(0.1, "of a random sparse blend instead of a preset")
    random_units: UnitCount = _d({"kind": "categorical", "values": [2, 3, 4]})
    random_weight: Unit = _d(_u(0.2, 0.8))
    gaze_yaw_deg: Deg45 = _d(_tn(0.0, 8.0, -25.0, 25.0))
    gaze_pitch_deg: Deg45 = _d(_tn(0.0, 6.0, -20.0, 20.0))
    blink_probability: float = _prob(0.05, "of closed eyes")

    @field_validator("custom_presets")
    @classmethod
    def _weights_in_range(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for name, units in v.items():
            for unit, w in units.items():
                if not 0.0 <= w <= 1.0:
                    raise ValueError(f"custom preset {name!r}: {unit} = {w:g} is outside 0..1")
        return v


class HeadPoseSpec(Frozen):
    yaw_deg: Deg90 = _d(_tn(0.0, 15.0, -45.0, 45.0))
    pitch_deg: Deg90 = _d(_tn(0.0, 8.0, -30.0, 30.0))
    roll_deg: Deg90 = _d(_tn(0.0, 4.0, -15.0, 15.0))


class CameraSpec(Frozen):
    """Pinhole camera looking at the head. With ``distance_m`` null the distance frames the head:
    it spans ``head_fraction`` of the image width (from an approximate head width by age)."""

    focal_mm: FocalMm = _d(_u(35.0, 85.0))
    sensor_width_mm: SensorMm = _d(36.0)
    distance_m: DistanceM | None = None
    head_fraction: Unit = _d(_u(0.45, 0.6))
    principal_jitter_px: JitterPx = _d(_tn(0.0, 2.0, -6.0, 6.0))
    position_jitter_m: JitterM = _d(_tn(0.0, 0.01, -0.03, 0.03))
    white_balance: Unit = Field(
        default=1.0,
        validate_default=True,
        description="How far the camera's auto white balance takes the colour of the "
        "light on the face to neutral: 1 fully, 0 not at all (the "
        "HDRI's and lights' own colour shows).",
    )


class ExtraLightsSpec(Frozen):
    count: Count = _d({"kind": "categorical", "values": [0, 1, 2], "weights": [2, 2, 1]})
    kinds: LightKindChoice = _d(_cat({"area": 2, "point": 1, "spot": 1}))
    intensity_w: Watts = _d(_u(5.0, 60.0))
    azimuth_deg: Deg360 = _d(_u(-180.0, 180.0))
    elevation_deg: Deg90 = _d(_u(-10.0, 60.0))
    distance_m: DistanceM = _d(_u(0.8, 2.0))
    size_m: LightSizeM = _d(_u(0.1, 0.5))


class LightingSpec(Frozen):
    hdri: StrChoice = _d(_cat({h: 1 for h in HDRI_IDS}))
    rotation_deg: Deg360 = _d(_u(-180.0, 180.0))
    intensity: Strength = _d(_u(0.7, 1.3))
    color_temperature_k: Kelvin = Field(
        default=_u(4500.0, 7000.0), validate_default=True, description="Colour temperature of the extra lights (K)."
    )
    extra_lights: ExtraLightsSpec = Field(default_factory=ExtraLightsSpec)


class BackgroundSpec(Frozen):
    kinds: BackgroundChoice = _d("hdri")
    colors: ColorChoice = _d(_cat({"#808080": 1, "#f0f0f0": 1, "#202020": 1, "#2f5d8a": 1}))


class RenderSpec(Frozen):
    backend: BackendName = "pyrender"
    samples: int = Field(64, ge=1, le=65536, description="Cycles samples per pixel.")
    resolution: tuple[int, int] = Field((256, 256), description="Image width, height in pixels.")
    device: Literal["auto", "cpu", "cuda", "optix", "hip", "metal"] = "auto"
    denoise: bool = True
    view_transform: Literal["AgX", "Khronos PBR Neutral", "Standard"] = Field(
        "AgX",
        description="How linear light becomes 8-bit sRGB, the same in both back-ends: AgX (Blender's "
        "default: soft highlights, greys bright colours a little), Khronos PBR Neutral "
        "(keeps base colours as they are up to the highlights: skin under even light shows its "
        "albedo), Standard (the plain sRGB curve, clips at 1).",
    )
    hair_detail: float | None = Field(
        None,
        ge=0.05,
        le=16.0,
        description="Strand-count multiplier for hair, brows and beards (ribbon width grows as counts fall, "
        "so coverage stays). null = chosen from the image's pixel density and the back-end: "
        "~0.4 for the fast back-end at 256 px, ~1.2 for Cycles at 512 px. Higher is finer and slower.",
    )

    @field_validator("resolution")
    @classmethod
    def _sane_resolution(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not all(16 <= x <= 8192 for x in v):
            raise ValueError(f"width and height must be within 16..8192 px (got {v[0]} x {v[1]})")
        return v


LabelName = Literal["rgb", "segmentation", "depth", "landmarks70", "dense_landmarks", "depth_float", "landmarks_wflw98"]
FormatName = Literal["coco", "hf", "webdataset", "facesynthetics"]


ImageFormat = Literal["png", "jpeg", "webp"]
#: The image encoding a catalog gets when it names none (left out of its canonical JSON, see OutputsSpec).
DEFAULT_IMAGE_FORMAT: ImageFormat = "png"
DEFAULT_IMAGE_QUALITY = 90


class OutputsSpec(Frozen):
    labels: list[LabelName] = Field(
        default=["rgb", "segmentation", "depth", "landmarks70"],
        min_length=1,
        description="Label layers. `depth_float` adds samples/{id}_depth.npy: float32 camera-frame z in metres, "
        "0 = background, unquantised and uncapped (the PNG has 0.1 mm steps up to 6.5 m). `landmarks_wflw98` "
        "adds WFLW's 98 points to each record (`layouts.wflw98`, x-ray and contour).",
    )
    formats: list[FormatName] = Field(default=["facesynthetics"], min_length=1)
    image_format: ImageFormat = Field(
        DEFAULT_IMAGE_FORMAT,
        description="Encoding of the RGB image: png (lossless), jpeg or webp (lossy, at image_quality). "
        "Segmentation and depth are always PNG (exact class ids and uint16 depth).",
    )
    image_quality: int = Field(
        DEFAULT_IMAGE_QUALITY, ge=1, le=100, description="JPEG / WebP quality, 1..100 (not used for png)."
    )

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        # a PNG catalog dumps without the encoding fields, so catalogs written before they existed keep
        # their canonical JSON, hash and therefore their samples; a JPEG or WebP one is another catalog
        data = handler(self)
        if self.image_format == DEFAULT_IMAGE_FORMAT:
            data.pop("image_format", None)
            data.pop("image_quality", None)
        return data

    @field_validator("labels", "formats")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("an entry appears more than once; list each once")
        return v


class Catalog(Frozen):
    """A dataset description: everything a render farm needs to produce every sample."""

    catalog_version: Literal[1] = Field(description="Version of this catalog language; currently 1.")
    name: str = ""
    description: str = ""
    size: int | None = Field(None, ge=1, le=MAX_SAMPLES, description="Default number of samples (N) of the dataset.")
    identity: IdentitySpec = Field(default_factory=IdentitySpec)
    ancestry: AncestrySpec = Field(default_factory=AncestrySpec)
    age: Years = Field(default=_tn(35.0, 20.0, 1.0, 90.0), validate_default=True, description="Age in years (1..90).")
    gender: Unit = Field(
        default={"kind": "categorical", "values": [0.05, 0.15, 0.25, 0.75, 0.85, 0.95]},
        validate_default=True,
        description="Gender presentation, 0 female .. 1 male.",
    )
    muscle: Unit = _d(_tn(0.5, 0.15, 0.0, 1.0))
    weight: Unit = _d(_tn(0.5, 0.15, 0.0, 1.0))
    proportions: Unit = _d(_tn(0.5, 0.15, 0.0, 1.0))
    skin: SkinSpec = Field(default_factory=SkinSpec)
    eyes: EyesSpec = Field(default_factory=EyesSpec)
    hair: HairSpec = Field(default_factory=HairSpec)
    facial_hair: FacialHairSpec = Field(default_factory=FacialHairSpec)
    eyebrows: EyebrowsSpec = Field(default_factory=EyebrowsSpec)
    glasses: GlassesSpec = Field(default_factory=GlassesSpec)
    clothing: ClothingSpec = Field(default_factory=ClothingSpec)
    headwear: HeadwearSpec = Field(default_factory=HeadwearSpec)
    expression: ExpressionSpec = Field(default_factory=ExpressionSpec)
    head_pose: HeadPoseSpec = Field(default_factory=HeadPoseSpec)
    camera: CameraSpec = Field(default_factory=CameraSpec)
    lighting: LightingSpec = Field(default_factory=LightingSpec)
    background: BackgroundSpec = Field(default_factory=BackgroundSpec)
    render: RenderSpec = Field(default_factory=RenderSpec)
    outputs: OutputsSpec = Field(default_factory=OutputsSpec)
    sampling: SamplingSpec = Field(default_factory=SamplingSpec)

    @model_validator(mode="after")
    def _cross_field_checks(self, info: ValidationInfo) -> "Catalog":
        # load_catalog runs these itself to report each problem at its own JSON path; a direct
        # Catalog.model_validate still refuses an inconsistent catalog.
        if (info.context or {}).get("defer_cross_checks"):
            return self
        problems = cross_field_problems(self)
        if problems:
            raise ValueError("; ".join(str(p) for p in problems))
        return self
