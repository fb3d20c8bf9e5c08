"""Names the catalog knows by default: asset ids, style families, eye colours, detail targets.

Asset ids here are only *defaults*: the render side passes the ids it can actually build to
:func:`facefarm.catalog.validate_asset_ids`, and a catalog may use any id that list knows.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal, get_args

#: The render back-ends a catalog can name (``render.backend``); ``facefarm.render.backends``
#: holds one entry for each.
BackendName = Literal["pyrender", "cycles"]
BACKEND_NAMES: tuple[str, ...] = get_args(BackendName)

#: The most samples one dataset (one catalog, seed and output) may hold: ten times DigiFace-1M.
#: The plan of a run is held in memory (~100 bytes a sample); split larger sets by seed.
MAX_SAMPLES = 10_000_000

#: The id of sample ``index`` in a dataset (its file stem under ``samples/``).
SAMPLE_ID_FORMAT = "{index:06d}"


def sample_id(index: int) -> str:
    """The id of sample ``index``: six digits, zero-padded (``000042``)."""
    return SAMPLE_ID_FORMAT.format(index=int(index))


#: The 8 CC0 HDRIs shipped inside the bpy wheel (bpy/5.0/datafiles/studiolights/world/).
HDRI_IDS: tuple[str, ...] = ("city", "courtyard", "forest", "interior", "night", "studio", "sunrise", "sunset")

#: Scalp hair styles, in the order of ``facefarm/assets/hair/styles.json`` (the pipeline's style library;
#: tests/test_catalog_vocabulary.py keeps the two equal). ``receding`` and ``balding`` are short
#: cuts on a receding hairline / thinning crown; ``bald`` has no scalp hair.
HAIR_STYLES: tuple[str, ...] = (
    "bald",
    "buzz",
    "short",
    "fade",
    "bob",
    "medium",
    "long",
    "wavy",
    "curly",
    "afro",
    "braids",
    "locs",
    "ponytail",
    "bun",
    "receding",
    "balding",
)

GLASSES_FAMILIES: tuple[str, ...] = (
    "round",
    "rectangular",
    "square",
    "oval",
    "aviator",
    "cat-eye",
    "browline",
    "rimless",
)

#: Clothing the pipeline builds (facefarm/compose/garments/clothing.py): ``tshirt`` (crew neck), ``shirt``
#: (collar), ``sweater``, ``hoodie``, ``jacket``, ``scarf`` (a scarf over a t-shirt).
CLOTHING_IDS: tuple[str, ...] = ("tshirt", "shirt", "sweater", "hoodie", "jacket", "scarf")

HEADWEAR_IDS: tuple[str, ...] = ("cap", "beanie", "wide_brim_hat", "headscarf", "kerchief")

#: Facial hair families the pipeline grows procedurally (plus "none" in resolved samples).
FACIAL_HAIR_STYLES: tuple[str, ...] = ("stubble", "moustache", "goatee", "full_beard")

#: Eye colour family -> (iris melanin 0..1, typical iris sRGB hex). Iris melanin follows the
#: same 0..1 convention as hair melanin (Principled Hair BSDF): more melanin = darker, browner.
EYE_COLORS = MappingProxyType(
    {
        "dark_brown": (0.95, "#3b2314"),
        "brown": (0.8, "#5e3a1e"),
        "amber": (0.6, "#8f5b1f"),
        "hazel": (0.5, "#7a6a3a"),
        "green": (0.3, "#5d7a48"),
        "grey": (0.15, "#7c8a94"),
        "blue": (0.1, "#5a7fa8"),
    }
)

#: Default identity detail parameters: signed -1..1 weights for the head model's paired
#: MakeHuman targets, named after the pair without its suffixes ("nose-hump" = nose-hump-decr
#: at -1 .. nose-hump-incr at +1). Unsided (whole-face) targets only, so a weight never
#: makes the face asymmetric. A catalog can give its own list (identity.detail_names).
DEFAULT_DETAIL_NAMES: tuple[str, ...] = (
    "head-fat",
    "head-scale-vert",
    "head-scale-horiz",
    "head-scale-depth",
    "head-back-scale-depth",
    "nose-hump",
    "nose-flaring",
    "nose-scale-vert",
    "nose-scale-horiz",
    "nose-scale-depth",
    "nose-point-width",
    "nose-nostrils-width",
    "nose-width1",
    "nose-width2",
    "nose-width3",
    "nose-septumangle",
    "nose-volume",
    "nose-greek",
    "chin-prominent",
    "chin-width",
    "chin-height",
    "chin-bones",
    "chin-jaw-drop",
    "chin-cleft",
    "chin-prognathism",
    "mouth-scale-horiz",
    "mouth-scale-vert",
    "mouth-scale-depth",
    "mouth-lowerlip-height",
    "mouth-upperlip-height",
    "mouth-lowerlip-volume",
    "mouth-upperlip-volume",
    "mouth-lowerlip-width",
    "mouth-upperlip-width",
    "mouth-cupidsbow",
    "mouth-cupidsbow-width",
    "mouth-philtrum-volume",
    "forehead-temple",
    "forehead-scale-vert",
    "forehead-nubian",
    "neck-scale-horiz",
    "neck-double",
)

#: Asset kind -> ids known without any asset library; what ``validate_asset_ids`` checks
#: against when the caller has nothing better.
DEFAULT_KNOWN_ASSETS = MappingProxyType(
    {
        "hdri": frozenset(HDRI_IDS),
        "hair_style": frozenset(HAIR_STYLES),
        "glasses": frozenset(GLASSES_FAMILIES),
        "clothing": frozenset(CLOTHING_IDS),
        "headwear": frozenset(HEADWEAR_IDS),
    }
)

#: Approximate head width (m, ear to ear) of an adult; children scale by :func:`head_width_m`.
ADULT_HEAD_WIDTH_M = 0.155


def head_width_m(age_years: float) -> float:
    """Rough head width (m) at an age: ~78 % of adult at 1 year, growing linearly to adult at 15.

    Only used to turn a *framing* (head_fraction of the image width) into a camera distance
    before any mesh exists; the compositor may refine it from the real mesh.
    """
    t = min(max((age_years - 1.0) / 14.0, 0.0), 1.0)
    return ADULT_HEAD_WIDTH_M * (0.78 + 0.22 * t)
