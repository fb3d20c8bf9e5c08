"""``ResolvedSample``: every concrete value of one sample, frozen and JSON-serialisable.

Units: years, degrees, mm, metres, kelvin, pixels. Colours (``*_rgb``) are **sRGB** in 0..1
(convert with :func:`facefarm.catalog.colors.srgb_to_linear` for shading). Left/right are the
subject's. Angles are plain numbers; the compositor (pipeline) owns and documents their
rotation conventions.
"""

from __future__ import annotations

from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from facefarm.catalog.vocabulary import BackendName

RGB = tuple[float, float, float]
StratumValue = Union[bool, str, list[str], list[float]]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SkinSample(_Out):
    melanin: float = Field(description="0..1; Monk tone k covers [(k-1)/10, k/10).")
    haemoglobin: float
    monk_tone: int = Field(ge=1, le=10)
    albedo_rgb: RGB = Field(description="Diffuse albedo (sRGB) from skin_tone.skin_albedo_srgb.")
    freckles: float
    moles: float
    wrinkles: float
    blemishes: float


class EyesSample(_Out):
    color_family: str
    iris_melanin: float
    iris_rgb: RGB


class HairSample(_Out):
    style: str
    length: float
    curl: float
    density: float
    melanin: float
    redness: float
    grey: float


class FacialHairSample(_Out):
    style: str = Field(description='"none", "stubble", "moustache", "goatee" or "full_beard".')
    density: float
    melanin: float
    redness: float
    grey: float


class EyebrowsSample(_Out):
    thickness: float
    density: float
    melanin: float
    redness: float
    grey: float


class GlassesSample(_Out):
    present: bool
    family: str | None = None
    color_rgb: RGB | None = None
    thickness_mm: float | None = None
    lens_tint_rgb: RGB | None = None
    lens_transmission: float | None = None


class ItemSample(_Out):
    id: str = Field(description='Asset id, or "none".')
    color_rgb: RGB | None = None


class ExpressionSample(_Out):
    preset: str = Field(description='Preset name, or "random" for a random sparse blend.')
    intensity: float
    units: dict[str, float] = Field(description="All 52 ARKit unit weights (0..1), blink included.")
    gaze_yaw_deg: float
    gaze_pitch_deg: float
    blink: float


class HeadPoseSample(_Out):
    yaw_deg: float
    pitch_deg: float
    roll_deg: float


class CameraSample(_Out):
    focal_mm: float
    sensor_width_mm: float
    distance_m: float
    head_fraction: float | None = Field(
        None,
        description="Framing the distance was derived from (head width / image width), or null "
        "when the catalog fixed distance_m.",
    )
    width: int
    height: int
    principal_offset_px: tuple[float, float]
    position_jitter_m: tuple[float, float, float]
    white_balance: float = Field(
        1.0, description="Share of the light's colour the camera's white balance takes out (0..1)."
    )


class LightSample(_Out):
    kind: Literal["point", "area", "spot", "directional"]
    azimuth_deg: float
    elevation_deg: float
    distance_m: float
    size_m: float
    intensity_w: float
    color_temperature_k: float
    color_rgb: RGB


class LightingSample(_Out):
    hdri: str
    rotation_deg: float
    intensity: float
    color_temperature_k: float
    extra_lights: tuple[LightSample, ...] = ()


class BackgroundSample(_Out):
    kind: Literal["hdri", "solid"]
    color_rgb: RGB | None = None


class RenderSample(_Out):
    backend: BackendName
    samples: int
    device: str
    denoise: bool
    hair_detail: float | None = None
    view_transform: str = "AgX"


class ResolvedSample(_Out):
    """Every concrete value of one sample; ``model_dump(mode="json")`` gives its JSON."""

    sample_id: str
    index: int
    seed: int
    catalog_hash: str
    sampler_version: int
    identity_id: str
    identity_index: int
    ancestry_labels: dict[str, float] = Field(description="User taxonomy labels -> weights (sum 1).")
    ancestry_weights: dict[str, float] = Field(description="african/asian/caucasian shape bases (sum 1).")
    age_years: float
    gender: float
    muscle: float
    weight: float
    proportions: float
    shape_details: dict[str, float] = Field(description="Head model detail target -> signed weight -1..1.")
    skin: SkinSample
    eyes: EyesSample
    hair: HairSample
    facial_hair: FacialHairSample
    eyebrows: EyebrowsSample
    glasses: GlassesSample
    clothing: ItemSample
    headwear: ItemSample
    expression: ExpressionSample
    head_pose: HeadPoseSample
    camera: CameraSample
    lighting: LightingSample
    background: BackgroundSample
    render: RenderSample
    stratum: dict[str, StratumValue] | None = Field(
        None, description="Levels the sampling plan forced on this sample (strata cell and/or quota)."
    )
    quota: int | None = Field(None, description="Index of the sampling.quotas row this sample fills.")
