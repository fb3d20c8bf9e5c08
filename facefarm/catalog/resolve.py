"""``resolve(catalog, seed, index, n_total)``: the concrete values of one sample.

Pure and order-independent: the result depends only on the arguments (and SAMPLER_VERSION);
any sample can be computed alone, in any process.

* Per **identity** (streams keyed by ``index // images_per_identity``, shared by all its
  images): ancestry, age, gender, muscle, weight, proportions, shape details, skin, eyes,
  hair, facial hair, eyebrows.
* Per **image** (streams keyed by ``index``): glasses, clothing, headwear, expression (gaze,
  blink), head pose, camera, lighting, background.
 Each attribute has its own stream (see
:mod:`facefarm.catalog.rng`), so forcing one attribute (a stratum, a quota, a force rule)
leaves the others as they were.

Exclude rules are met by re-drawing: attempt ``a`` uses streams with ``attempt=a`` (identity
rules re-draw the identity, rules that name image attributes re-draw the image).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from facefarm.catalog.attributes import ATTRIBUTES, BoolLevel, ChoiceLevel, Level, RangeLevel, all_presets, to_level
from facefarm.catalog.checks import detail_names, exclude_rules
from facefarm.catalog.colors import hex_to_srgb, kelvin_to_srgb, rgb
from facefarm.catalog.distributions import choice_weights, draw, draw_choice, draw_from_weights, draw_in_band
from facefarm.catalog.expressions import ARKIT_UNITS, GAZE_UNITS
from facefarm.catalog.load import catalog_hash
from facefarm.catalog.resolved import (
    BackgroundSample,
    CameraSample,
    ExpressionSample,
    EyebrowsSample,
    EyesSample,
    FacialHairSample,
    GlassesSample,
    HairSample,
    HeadPoseSample,
    ItemSample,
    LightingSample,
    LightSample,
    RenderSample,
    ResolvedSample,
    SkinSample,
)
from facefarm.catalog.rng import SAMPLER_VERSION, hash_words, stream
from facefarm.catalog.skin_tone import melanin_range, monk_tone, skin_albedo_srgb
from facefarm.catalog.strata import FREE, Assignment, needs_plan, plan
from facefarm.catalog.taxonomy import (
    blend_eye_colors,
    blend_number,
    blend_number_in_band,
    blend_shape_bases,
    dirichlet_mix,
)
from facefarm.catalog.vocabulary import EYE_COLORS, head_width_m, sample_id

if TYPE_CHECKING:
    from facefarm.catalog.spec import Catalog

#: Re-draws tried to satisfy the exclude rules before giving up.
MAX_ATTEMPTS = 200


class ResolveError(ValueError):
    """A sample cannot be resolved (bad arguments, or rules that cannot be met)."""


@dataclass
class _Context:
    """Per-catalog derived data: the hash, rule levels, and caches of plans and identities."""

    catalog: Any
    catalog_hash: str
    words: tuple[int, ...]
    excludes: list[dict[str, Level]]
    forces: list[tuple[dict[str, Level], dict[str, Level]]]
    plans: OrderedDict = field(default_factory=OrderedDict)
    identities: OrderedDict = field(default_factory=OrderedDict)


_CONTEXTS: OrderedDict[int, _Context] = OrderedDict()


def _context(cat: "Catalog") -> _Context:
    # Keyed by object identity; the cache holds the catalog, so the id cannot be reused.
    ctx = _CONTEXTS.get(id(cat))
    if ctx is not None and ctx.catalog is cat:
        _CONTEXTS.move_to_end(id(cat))
        return ctx

    h = catalog_hash(cat)
    forces: list[tuple[dict[str, Level], dict[str, Level]]] = []
    for c in cat.sampling.constraints:
        if c.force is not None:
            forces.append(
                (
                    {a: to_level(cat, a, v) for a, v in c.force.when.items()},
                    {a: to_level(cat, a, v) for a, v in c.force.then.items()},
                )
            )
    ctx = _Context(cat, h, hash_words(h), [r for _, r in exclude_rules(cat)], forces)
    _CONTEXTS[id(cat)] = ctx
    while len(_CONTEXTS) > 8:
        _CONTEXTS.popitem(last=False)
    return ctx


def _plan_of(ctx: _Context, seed: int, n: int) -> tuple[list[Assignment], np.ndarray]:
    key = (seed, n)
    if key not in ctx.plans:
        ctx.plans[key] = plan(ctx.catalog, ctx.words, seed, n)
        while len(ctx.plans) > 4:
            ctx.plans.popitem(last=False)
    return ctx.plans[key]


def _assignment(ctx: _Context, seed: int, index: int, n_total: int | None) -> Assignment:
    cat = ctx.catalog
    if not needs_plan(cat):
        return FREE
    n = n_total if n_total is not None else cat.size
    if n is None:
        raise ResolveError('this catalog stratifies or has quotas: pass n_total (or set "size" in the catalog)')
    if not 0 <= index < n:
        raise ResolveError(f"index {index} is outside 0..{n - 1} (n_total = {n})")
    assignments, codes = _plan_of(ctx, seed, n)
    return assignments[int(codes[index])]


def sample_plan(catalog: "Catalog", seed: int, n_total: int) -> tuple[list[Assignment], np.ndarray] | None:
    """What the plan forces on each of the ``n_total`` samples: ``(assignments, codes)`` as
    :func:`facefarm.catalog.strata.plan` returns them (cached with resolve's), or None when the
    catalog has no plan (independent sampling without quotas: every sample is a free draw)."""
    if not needs_plan(catalog):
        return None
    if n_total < 1:
        raise ResolveError(f"n_total must be >= 1 (got {n_total})")
    return _plan_of(_context(catalog), int(seed), int(n_total))


# --------------------------------------------------------------------------- helpers


def _num(dist: Any, rng: np.random.Generator, level: Level | None = None) -> float:
    if isinstance(level, RangeLevel):
        return float(draw_in_band(dist, rng, level.lo, level.hi, level.closed))
    return float(draw(dist, rng))


def _restricted(weights: dict[str, float], level: Level | None, rng: np.random.Generator) -> str:
    """A label from ``weights`` restricted to a forced ChoiceLevel (uniform if it has no mass there)."""
    if isinstance(level, ChoiceLevel):
        w = {k: weights.get(k, 0.0) for k in level.labels}
        if sum(w.values()) <= 0:
            w = dict.fromkeys(level.labels, 1.0)
        return draw_from_weights(w, rng)
    return draw_from_weights(weights, rng)


def _aged(hair: Any, weights: dict[str, float], age: float) -> dict[str, float]:
    """Style weights times their age ramps (``hair.age_ramps_years``); unchanged if all would vanish."""
    out = {k: w * hair.age_factor(k, age) for k, w in weights.items()}
    return out if sum(out.values()) > 0 else weights


def _rgb(hex_color: str) -> tuple[float, float, float]:
    return hex_to_srgb(hex_color)


def _r(x: float) -> float:
    # Plain Python floats keep the JSON free of numpy types.
    return float(x)


def _matches(rule: dict[str, Level], values: dict[str, Any]) -> bool:
    return all(a in values and lv.matches(values[a]) for a, lv in rule.items())


# --------------------------------------------------------------------------- identity


def iris_variation(rgb: tuple[float, float, float], jitter: np.ndarray) -> np.ndarray:
    """The family's sRGB iris colour varied by three normal draws of sd ``eyes.iris_jitter``: the
    first scales its brightness (by exp(3 x), ~12 % at the default 0.04), the other two shift
    its channels by a quarter of that, so hue moves little. An offset added to each channel
    alone turned dark irises red or purple (dark brown #3b2314 came out as #2d130c)."""
    c = np.asarray(rgb, np.float64)
    j = np.asarray(jitter, np.float64)
    tint = 0.25 * (j - j.mean())
    return np.clip(c * np.exp(3.0 * (j[0] + tint)), 0.0, 1.0)


def _draw_identity(ctx: _Context, seed: int, j: int, forced: dict[str, Level], attempt: int) -> dict:
    cat = ctx.catalog
    tax = cat.ancestry.taxonomy

    def rng(name: str) -> np.random.Generator:
        return stream(ctx.words, seed, "identity", j, name, attempt)

    # Ancestry: one label, or a Dirichlet mix of several.
    anc = cat.ancestry
    pop = {k: float(v) for k, v in (anc.labels or dict.fromkeys(tax.labels, 1.0)).items()}
    total = sum(pop.values())
    can_mix = anc.mixed_probability > 0 and len(pop) > 1
    p_mix = anc.mixed_probability if can_mix else 0.0
    options = {k: (1.0 - p_mix) * v / total for k, v in pop.items()}
    if can_mix:
        options["mixed"] = p_mix
    g = rng("ancestry")
    which = _restricted(options, forced.get("ancestry"), g)
    if which == "mixed":
        labels = sorted(pop)
        k = int(g.integers(2, min(anc.mixed_max_labels, len(labels)) + 1))
        p = np.array([pop[x] for x in labels]) / total
        chosen = sorted(labels[int(i)] for i in g.choice(len(labels), size=k, replace=False, p=p))
        mix = dirichlet_mix(chosen, g, anc.mixed_concentration)
    else:
        mix = {which: 1.0}

    age = _num(cat.age, rng("age"), forced.get("age"))
    gender = _num(cat.gender, rng("gender"), forced.get("gender"))
    muscle = _num(cat.muscle, rng("muscle"), forced.get("muscle"))
    weight = _num(cat.weight, rng("weight"), forced.get("weight"))
    proportions = _num(cat.proportions, rng("proportions"))

    # Skin: melanin from the blended ancestry priors (or the catalog's override).
    skin = cat.skin
    g = rng("skin.melanin")
    tone = forced.get("monk_tone")
    band = None
    if isinstance(tone, ChoiceLevel):
        band = melanin_range(int(draw_from_weights(dict.fromkeys(tone.labels, 1.0), g)))
    if skin.melanin is not None:
        melanin = _num(skin.melanin, g, RangeLevel(band[0], band[1], None, band[1] >= 1.0) if band else None)
    elif band:
        lo, hi = band
        melanin = blend_number_in_band(tax, mix, "skin_melanin", g.random(), lo, hi if hi >= 1.0 else hi - 1e-9)
    else:
        melanin = blend_number(tax, mix, "skin_melanin", g.random())
    g = rng("skin.haemoglobin")
    haemo = (
        _num(skin.haemoglobin, g)
        if skin.haemoglobin is not None
        else blend_number(tax, mix, "skin_haemoglobin", g.random())
    )
    g = rng("skin.wrinkles")
    if skin.wrinkles is not None:
        wrinkles = _num(skin.wrinkles, g)
    else:
        onset, rate = _num(skin.wrinkles_onset_years, g), _num(skin.wrinkles_per_year, g)
        wrinkles = min(max((age - onset) * rate, 0.0), 1.0)
    skin_s = SkinSample(
        melanin=_r(melanin),
        haemoglobin=_r(haemo),
        monk_tone=monk_tone(melanin),
        albedo_rgb=skin_albedo_srgb(melanin, haemo),
        freckles=_num(skin.freckles, rng("skin.freckles")),
        moles=_num(skin.moles, rng("skin.moles")),
        wrinkles=_r(wrinkles),
        blemishes=_num(skin.blemishes, rng("skin.blemishes")),
    )

    # Eyes.
    g = rng("eyes")
    eye_w = choice_weights(cat.eyes.colors) if cat.eyes.colors is not None else blend_eye_colors(tax, mix)
    family = _restricted(eye_w, forced.get("eye_color"), g)
    iris_melanin, iris_hex = EYE_COLORS[family]
    jitter = g.normal(0.0, cat.eyes.iris_jitter, 3) if cat.eyes.iris_jitter > 0 else np.zeros(3)
    eyes_s = EyesSample(
        color_family=family,
        iris_melanin=iris_melanin,
        iris_rgb=rgb(_r(c) for c in iris_variation(_rgb(iris_hex), jitter)),
    )

    # Hair.
    hair = cat.hair
    table = hair.styles_male if (gender >= 0.5 and hair.styles_male is not None) else hair.styles
    weights = _aged(hair, choice_weights(table), age)
    style_level = forced.get("hair_style")
    if isinstance(style_level, ChoiceLevel) and not any(weights.get(s, 0) for s in style_level.labels):
        other = hair.styles if table is not hair.styles else hair.styles_male
        weights = _aged(hair, choice_weights(other), age) if other is not None else weights
    style = _restricted(weights, forced.get("hair_style"), rng("hair.style"))

    def prior(override: Any, name: str, fld: str) -> float:
        g = rng(name)
        return _num(override, g) if override is not None else blend_number(tax, mix, fld, g.random())

    h_mel = prior(hair.melanin, "hair.melanin", "hair_melanin")
    h_red = prior(hair.redness, "hair.redness", "hair_redness")
    curl = prior(hair.curl, "hair.curl", "hair_curl")
    g = rng("hair.grey")
    if hair.grey is not None:
        grey = _num(hair.grey, g)
    else:
        onset, rate = _num(hair.grey_onset_years, g), _num(hair.grey_per_year, g)
        grey = min(max((age - onset) * rate, 0.0), 1.0)
    hair_s = HairSample(
        style=style,
        length=_num(hair.length, rng("hair.length")),
        curl=_r(curl),
        density=_num(hair.density, rng("hair.density")),
        melanin=_r(h_mel),
        redness=_r(h_red),
        grey=_r(grey),
    )

    # Facial hair: only eligible faces have a chance, unless forced.
    fh = cat.facial_hair
    eligible = age >= fh.min_age_years and gender >= fh.min_gender
    p_beard = fh.probability if eligible else 0.0
    fw = {"none": 1.0 - p_beard, **{s: p_beard * w for s, w in choice_weights(fh.styles).items()}}
    fh_style = _restricted(fw, forced.get("facial_hair"), rng("facial_hair.style"))
    if fh.match_hair:
        fh_mel, fh_red, fh_grey = h_mel, min(h_red + 0.05, 1.0), min(grey * 1.2, 1.0)
    else:
        fh_mel = prior(fh.melanin, "facial_hair.melanin", "hair_melanin")
        fh_red = prior(fh.redness, "facial_hair.redness", "hair_redness")
        fh_grey = grey
    facial_s = FacialHairSample(
        style=fh_style,
        density=_num(fh.density, rng("facial_hair.density")),
        melanin=_r(fh_mel),
        redness=_r(fh_red),
        grey=_r(fh_grey),
    )

    eb = cat.eyebrows
    eb_mel = h_mel if eb.match_hair else prior(eb.melanin, "eyebrows.melanin", "hair_melanin")
    brows_s = EyebrowsSample(
        thickness=_num(eb.thickness, rng("eyebrows.thickness")),
        density=_num(eb.density, rng("eyebrows.density")),
        melanin=_r(eb_mel),
        redness=_r(h_red),
        grey=_r(grey * 0.5),
    )

    # Shape details: a subset of names (or all), each a signed weight, plus the overrides.
    ident = cat.identity
    names = detail_names(cat)
    g = rng("details")
    if ident.details_per_identity is None:
        picked = list(range(len(names)))
    else:
        picked = sorted(int(i) for i in g.choice(len(names), size=ident.details_per_identity, replace=False))
    details = {}
    for i in picked:
        if names[i] not in ident.detail_overrides:
            details[names[i]] = min(max(draw(ident.detail_dist, g) * ident.detail_scale, -1.0), 1.0)
    for name in sorted(ident.detail_overrides):
        details[name] = _num(ident.detail_overrides[name], rng(f"details.{name}"))

    values = {
        "ancestry": which,
        "age": age,
        "gender": gender,
        "muscle": muscle,
        "weight": weight,
        "monk_tone": str(skin_s.monk_tone),
        "eye_color": family,
        "hair_style": style,
        "facial_hair": fh_style,
    }
    return {
        "values": values,
        "ancestry_labels": {k: _r(mix[k]) for k in sorted(mix)},
        "ancestry_weights": {k: _r(v) for k, v in blend_shape_bases(tax, mix).items()},
        "age_years": _r(age),
        "gender": _r(gender),
        "muscle": _r(muscle),
        "weight": _r(weight),
        "proportions": _r(proportions),
        "shape_details": {k: _r(details[k]) for k in sorted(details)},
        "skin": skin_s,
        "eyes": eyes_s,
        "hair": hair_s,
        "facial_hair": facial_s,
        "eyebrows": brows_s,
    }


def _apply_forces(ctx: _Context, values: dict, forced: dict[str, Level], scope: str) -> dict[str, Level] | None:
    """Levels that force rules add for these values (None if nothing new)."""
    new = dict(forced)
    for when, then in ctx.forces:
        if _matches(when, values):
            for a, lv in then.items():
                if ATTRIBUTES[a].scope == scope and a not in new:
                    new[a] = lv
    return new if new != forced else None


def _identity(ctx: _Context, seed: int, j: int, forced: dict[str, Level]) -> tuple[dict, dict[str, Level]]:
    """The identity's draws (cached) and the image-level levels its force rules add."""
    key = (seed, j, tuple(sorted(forced.items(), key=lambda kv: kv[0])))
    hit = ctx.identities.get(key)
    if hit is not None:
        return hit
    id_rules = [r for r in ctx.excludes if all(ATTRIBUTES[a].scope == "identity" for a in r)]
    for attempt in range(MAX_ATTEMPTS):
        f = dict(forced)
        for _ in range(len(ctx.forces) + 1):
            ident = _draw_identity(ctx, seed, j, f, attempt)
            more = _apply_forces(ctx, ident["values"], f, "identity")
            if more is None:
                break
            f = more
        if not any(_matches(r, ident["values"]) for r in id_rules):
            img_forced: dict[str, Level] = {}
            for when, then in ctx.forces:
                if _matches(when, ident["values"]):
                    img_forced.update({a: lv for a, lv in then.items() if ATTRIBUTES[a].scope == "image"})
            result = (ident, img_forced)
            ctx.identities[key] = result
            while len(ctx.identities) > 256:
                ctx.identities.popitem(last=False)
            return result
    raise ResolveError(
        f"identity {j}: no draw in {MAX_ATTEMPTS} attempts avoids the exclude rules; "
        f"the rules and the forced levels {sorted(forced)} contradict each other"
    )


# --------------------------------------------------------------------------- image


def _draw_image(ctx: _Context, seed: int, i: int, ident: dict, forced: dict[str, Level], attempt: int) -> dict:
    cat = ctx.catalog

    def rng(name: str) -> np.random.Generator:
        return stream(ctx.words, seed, "image", i, name, attempt)

    # Glasses.
    gl = cat.glasses
    g = rng("glasses")
    fam_level = forced.get("glasses_family")
    u = g.random()
    glasses_level = forced.get("glasses")
    if isinstance(glasses_level, BoolLevel):
        present = glasses_level.value
    elif isinstance(fam_level, ChoiceLevel):
        present = ("none" not in fam_level.labels) or (len(fam_level.labels) > 1 and u < gl.probability)
    else:
        present = u < gl.probability
    fam_w = choice_weights(gl.families)
    if isinstance(fam_level, ChoiceLevel) and fam_level.labels - {"none"}:
        family = _restricted(fam_w, ChoiceLevel(fam_level.labels - {"none"}), g)
    else:
        family = draw_from_weights(fam_w, g)
    frame = _rgb(draw_choice(gl.frame_colors, g))
    thickness = draw(gl.thickness_mm, g)
    tint = _rgb(draw_choice(gl.lens_tints, g))
    transmission = draw(gl.lens_transmission, g)
    glasses_s = (
        GlassesSample(
            present=True,
            family=family,
            color_rgb=frame,
            thickness_mm=_r(thickness),
            lens_tint_rgb=tint,
            lens_transmission=_r(transmission),
        )
        if present
        else GlassesSample(present=False)
    )

    g = rng("clothing")
    clothing_s = ItemSample(id=draw_choice(cat.clothing.ids, g), color_rgb=_rgb(draw_choice(cat.clothing.colors, g)))

    hw = cat.headwear
    g = rng("headwear")
    hw_w = {"none": 1.0 - hw.probability, **{k: hw.probability * w for k, w in choice_weights(hw.ids).items()}}
    hw_id = _restricted(hw_w, forced.get("headwear"), g)
    hw_color = _rgb(draw_choice(hw.colors, g))
    headwear_s = ItemSample(id=hw_id, color_rgb=None if hw_id == "none" else hw_color)

    # Expression: a preset at an intensity, or a random sparse blend; then blink.
    ex = cat.expression
    g = rng("expression")
    ex_w = {k: (1.0 - ex.random_probability) * w for k, w in choice_weights(ex.presets).items()}
    if ex.random_probability > 0:
        ex_w["random"] = ex.random_probability
    preset = _restricted(ex_w, forced.get("expression"), g)
    units = dict.fromkeys(ARKIT_UNITS, 0.0)
    if preset == "random":
        intensity = 1.0
        k = int(round(draw(ex.random_units, g)))
        pool = [u for u in ARKIT_UNITS if u not in GAZE_UNITS]
        for idx in sorted(int(x) for x in g.choice(len(pool), size=min(k, len(pool)), replace=False)):
            units[pool[idx]] = draw(ex.random_weight, g)
    else:
        intensity = draw(ex.intensity, g)
        table = all_presets(cat)[preset]
        for unit in sorted(table):
            noise = g.normal(0.0, ex.noise_sd) if ex.noise_sd > 0 else 0.0
            units[unit] = min(max(table[unit] * intensity + noise, 0.0), 1.0)
    g = rng("blink")
    blink = float(g.uniform(0.8, 1.0)) if g.random() < ex.blink_probability else 0.0
    for unit in ("eyeBlinkLeft", "eyeBlinkRight"):
        units[unit] = max(units[unit], blink)
    expression_s = ExpressionSample(
        preset=preset,
        intensity=_r(intensity),
        units={k: _r(v) for k, v in units.items()},
        gaze_yaw_deg=_num(ex.gaze_yaw_deg, rng("gaze.yaw")),
        gaze_pitch_deg=_num(ex.gaze_pitch_deg, rng("gaze.pitch")),
        blink=_r(blink),
    )

    hp = cat.head_pose
    pose_s = HeadPoseSample(
        yaw_deg=_num(hp.yaw_deg, rng("pose.yaw"), forced.get("head_yaw")),
        pitch_deg=_num(hp.pitch_deg, rng("pose.pitch"), forced.get("head_pitch")),
        roll_deg=_num(hp.roll_deg, rng("pose.roll")),
    )

    cam = cat.camera
    g = rng("camera")
    focal, sensor = draw(cam.focal_mm, g), draw(cam.sensor_width_mm, g)
    fraction = draw(cam.head_fraction, g)
    if cam.distance_m is not None:
        distance, fraction_out = draw(cam.distance_m, g), None
    else:
        distance = min(max(focal / sensor * head_width_m(ident["age_years"]) / max(fraction, 0.05), 0.1), 10.0)
        fraction_out = _r(fraction)
    width, height = cat.render.resolution
    camera_s = CameraSample(
        focal_mm=_r(focal),
        sensor_width_mm=_r(sensor),
        distance_m=_r(distance),
        head_fraction=fraction_out,
        width=int(width),
        height=int(height),
        principal_offset_px=(_r(draw(cam.principal_jitter_px, g)), _r(draw(cam.principal_jitter_px, g))),
        position_jitter_m=tuple(_r(draw(cam.position_jitter_m, g)) for _ in range(3)),
        white_balance=_r(draw(cam.white_balance, rng("camera.white_balance"))),
    )

    li = cat.lighting
    g = rng("lighting")
    hdri = _restricted(choice_weights(li.hdri), forced.get("hdri"), g)
    kelvin = draw(li.color_temperature_k, g)
    color = kelvin_to_srgb(kelvin)
    ex_l = li.extra_lights
    lights = []
    for n in range(int(round(draw(ex_l.count, g)))):
        gl_ = rng(f"light.{n}")
        lights.append(
            LightSample(
                kind=draw_choice(ex_l.kinds, gl_),
                azimuth_deg=_r(draw(ex_l.azimuth_deg, gl_)),
                elevation_deg=_r(draw(ex_l.elevation_deg, gl_)),
                distance_m=_r(draw(ex_l.distance_m, gl_)),
                size_m=_r(draw(ex_l.size_m, gl_)),
                intensity_w=_r(draw(ex_l.intensity_w, gl_)),
                color_temperature_k=_r(kelvin),
                color_rgb=color,
            )
        )
    lighting_s = LightingSample(
        hdri=hdri,
        rotation_deg=_num(li.rotation_deg, rng("lighting.rotation")),
        intensity=_num(li.intensity, rng("lighting.intensity")),
        color_temperature_k=_r(kelvin),
        extra_lights=tuple(lights),
    )

    g = rng("background")
    bg_kind = _restricted(choice_weights(cat.background.kinds), forced.get("background"), g)
    bg_color = _rgb(draw_choice(cat.background.colors, g))
    background_s = BackgroundSample(kind=bg_kind, color_rgb=bg_color if bg_kind == "solid" else None)

    values = {
        "glasses": present,
        "glasses_family": family if present else "none",
        "expression": preset,
        "hdri": hdri,
        "headwear": hw_id,
        "background": bg_kind,
        "head_yaw": pose_s.yaw_deg,
        "head_pitch": pose_s.pitch_deg,
    }
    return {
        "values": values,
        "glasses": glasses_s,
        "clothing": clothing_s,
        "headwear": headwear_s,
        "expression": expression_s,
        "head_pose": pose_s,
        "camera": camera_s,
        "lighting": lighting_s,
        "background": background_s,
    }


def resolve(catalog: "Catalog", seed: int, index: int, n_total: int | None = None) -> ResolvedSample:
    """Every concrete value of sample ``index`` of the dataset (``catalog``, ``seed``).

    ``n_total`` (N) is needed when the catalog stratifies or has quotas (defaults to the
    catalog's ``size``): sample ``index``'s stratum depends on (catalog, seed, index, N).
    Raises :class:`ResolveError` for bad arguments or contradictory rules.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ResolveError(f"seed must be an integer >= 0 (got {seed!r})")
    if not isinstance(index, (int, np.integer)) or index < 0:
        raise ResolveError(f"index must be an integer >= 0 (got {index!r})")
    if n_total is not None and n_total < 1:
        raise ResolveError(f"n_total must be >= 1 (got {n_total})")
    seed, index = int(seed), int(index)
    ctx = _context(catalog)
    a = _assignment(ctx, seed, index, n_total)
    ipi = catalog.identity.images_per_identity
    j = index // ipi
    ident, img_forced_by_rules = _identity(ctx, seed, j, a.forced("identity"))

    img_forced = {**img_forced_by_rules, **a.forced("image")}
    img_rules = [r for r in ctx.excludes if any(ATTRIBUTES[x].scope == "image" for x in r)]
    for attempt in range(MAX_ATTEMPTS):
        f = dict(img_forced)
        for _ in range(len(ctx.forces) + 1):
            img = _draw_image(ctx, seed, index, ident, f, attempt)
            values = {**ident["values"], **img["values"]}
            more = _apply_forces(ctx, values, f, "image")
            if more is None:
                break
            f = more
        if not any(_matches(r, values) for r in img_rules):
            break
    else:
        raise ResolveError(
            f"sample {index}: no draw in {MAX_ATTEMPTS} attempts avoids the exclude rules; the "
            f"constraints (or the forced levels {sorted(img_forced)}) contradict each other or "
            f"exclude almost everything"
        )

    r = catalog.render
    return ResolvedSample(
        sample_id=sample_id(index),
        index=index,
        seed=seed,
        catalog_hash=ctx.catalog_hash,
        sampler_version=SAMPLER_VERSION,
        identity_id=f"{ctx.catalog_hash[:8]}-s{seed}-{j:06d}",
        identity_index=j,
        ancestry_labels=ident["ancestry_labels"],
        ancestry_weights=ident["ancestry_weights"],
        age_years=ident["age_years"],
        gender=ident["gender"],
        muscle=ident["muscle"],
        weight=ident["weight"],
        proportions=ident["proportions"],
        shape_details=ident["shape_details"],
        skin=ident["skin"],
        eyes=ident["eyes"],
        hair=ident["hair"],
        facial_hair=ident["facial_hair"],
        eyebrows=ident["eyebrows"],
        glasses=img["glasses"],
        clothing=img["clothing"],
        headwear=img["headwear"],
        expression=img["expression"],
        head_pose=img["head_pose"],
        camera=img["camera"],
        lighting=img["lighting"],
        background=img["background"],
        render=RenderSample(
            backend=r.backend,
            samples=r.samples,
            device=r.device,
            denoise=r.denoise,
            hair_detail=r.hair_detail,
            view_transform=r.view_transform,
        ),
        stratum=a.stratum_json(),
        quota=a.quota,
    )


def attribute_value(sample: ResolvedSample, attribute: str) -> Any:
    """The value of a stratifiable attribute (see :mod:`facefarm.catalog.attributes`) in a sample."""
    get = ATTRIBUTES[attribute].value
    if get is None:
        raise KeyError(f"attribute {attribute!r} has no value getter")
    return get(sample)
