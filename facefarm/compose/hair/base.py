"""Colour painted on the skin under grown hair, so that skin shows only where a real head's would.

The skin paints the scalp under the identity's hair in the hair's colour (the cap,
:func:`facefarm.compose.skin.skin_vertex_colors`, labelled HAIR). Here, on the same coarse
head vertices (the render surface interpolates them):

* a soft hairline: the cap's colour fading into the skin over the band just outside it, where
  the hairline weight falls from 1/2 (the cap's edge) to HAIRLINE_FADE[0]: fine baby hairs
  and the roots of the first strands darken the skin there in photographs;
* the beard's shadow: skin under facial hair tinted towards the beard's colour (the hairs
  lying on the skin, the ones too fine to draw, and the follicles under it), by style and
  density, with a soft edge.

and the share of light that reaches the skin under the cap and under a beard
(:func:`light_under_hair`: hair shades it, and the fast back-end casts no shadow from hair),
for the skin's occlusion attribute.

Labels do not change: these vertices stay SKIN (HAIR on the scalp comes from the cap's
faces, BEARD from the strands).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from facefarm.compose.hair.colour import hair_albedo_linear
from facefarm.compose.hair.regions import polygon_weight, smoothstep
from facefarm.compose.hair.strands import neutral_head
from facefarm.compose.hair.styles import facial_style, library, scalp_style_ids
from facefarm.scene.classes import CLASS_IDS

#: Metres outside the painted cap over which its colour fades into the skin, and the opacity it
#: fades from (at the cap's edge).
HAIRLINE_BAND_M = 0.015
HAIRLINE_OPACITY = 0.75
#: Opacity of the beard's colour over the skin under a beard of full density, by style.
BEARD_SHADOW = {"stubble": 0.6, "moustache": 0.65, "goatee": 0.65, "full_beard": 0.75}
#: Metres over which the beard's shadow fades in at the edge of its regions (the strands' own
#: edge is 2-3 mm: the shadow reaches a little further, as the fine hairs do).
BEARD_SOFT_M = 0.008


#: Share of the light that reaches the scalp under hair of full density (below the strands' own
#: STRAND_LIGHT_SHARE of the fast back-end, 0.35: the scalp lies under all of them), and the
#: skin under a full beard of full density.
SCALP_LIGHT = 0.3
BEARD_LIGHT = 0.5


def light_under_hair(sample, head, cap: np.ndarray | None) -> np.ndarray:
    """(V,) float64 0..1: the share of light that reaches each coarse head vertex past the hair
    lying over it: the scalp under the cap (``cap`` vertex ids, or None) and skin under a beard;
    1 elsewhere."""
    out = np.ones(len(neutral_head(head).vertices))
    if cap is not None:
        density = float(np.clip(getattr(sample.hair, "density", 1.0), 0.0, 1.0))
        out[cap] = 1.0 - (1.0 - SCALP_LIGHT) * density
    beard = sample.facial_hair
    if str(getattr(beard, "style", "none")) != "none":
        share = beard_shadow_amount(beard) / BEARD_SHADOW["full_beard"]
        out *= 1.0 - (1.0 - BEARD_LIGHT) * np.clip(share, 0.0, 1.0) * beard_cover(sample, head)
    return out


def beard_shadow_amount(beard) -> float:
    """Opacity of the beard's colour painted under a beard (BEARD_SHADOW by style, x density)."""
    return BEARD_SHADOW.get(beard.style, 0.5) * float(np.clip(0.4 + 0.7 * beard.density, 0.0, 1.0))


def beard_cover(sample, head) -> np.ndarray:
    """(V,) float64 0..1, read-only: where facial hair grows on the head's coarse vertices
    (soft-edged union of the style's face-chart regions, on skin and neck; cached per style);
    zeros without facial hair."""
    nh = neutral_head(head)
    out = np.zeros(len(nh.vertices))
    style_id = str(getattr(sample.facial_hair, "style", "none"))
    if style_id == "none":
        return out
    key = ("beard_cover", style_id)
    if key not in nh.cache:  # the same for every identity: the regions live on the neutral head
        st = facial_style(style_id)
        if st.regions:
            weight = polygon_weight(nh, [library().facial_regions[r] for r in st.regions], BEARD_SOFT_M)
            faces = nh.faces[nh.face_is_skin & np.isin(nh.face_class, [CLASS_IDS["SKIN"], CLASS_IDS["NECK"]])]
            on = np.unique(faces)
            out[on] = weight(nh.vertices[on])
        out.flags.writeable = False
        nh.cache[key] = out
    return nh.cache[key]


def hairline_fade(head, cap: np.ndarray) -> np.ndarray:
    """(V,) float64 0..HAIRLINE_OPACITY: opacity of the hair colour painted on the skin around the
    cap (``cap``: its coarse vertex ids, which get 0: the skin paints them), falling with the
    distance (neutral head, metres) from the nearest cap vertex over HAIRLINE_BAND_M."""
    nh = neutral_head(head)
    out = np.zeros(len(nh.vertices))
    skin = np.unique(nh.faces[nh.face_is_skin & (nh.face_class == CLASS_IDS["SKIN"])])
    d, _ = cKDTree(nh.vertices[cap]).query(nh.vertices[skin], distance_upper_bound=HAIRLINE_BAND_M)
    out[skin] = HAIRLINE_OPACITY * (1.0 - smoothstep(np.minimum(d, HAIRLINE_BAND_M) / HAIRLINE_BAND_M))
    out[cap] = 0.0
    return out


def paint_under_hair(sample, head, colours: np.ndarray, cap: np.ndarray | None) -> np.ndarray:
    """(V, 3) float32 linear albedo: ``colours`` (V, 3) with the soft hairline outside ``cap``
    (the painted cap's vertex ids, or None) and the beard's shadow painted in."""
    out = np.asarray(colours, np.float64).copy()
    hair = sample.hair
    density = float(np.clip(getattr(hair, "density", 1.0), 0.0, 1.0))
    if cap is not None and len(cap) and str(getattr(hair, "style", "")) in scalp_style_ids() and density > 0.05:
        o = hairline_fade(head, cap)
        out += o[:, None] * (hair_albedo_linear(hair.melanin, hair.redness, hair.grey) - out)
    beard = sample.facial_hair
    if str(getattr(beard, "style", "none")) != "none":
        o = beard_shadow_amount(beard) * beard_cover(sample, head)
        out += o[:, None] * (hair_albedo_linear(beard.melanin, beard.redness, beard.grey) - out)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
