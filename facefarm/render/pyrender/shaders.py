"""GLSL for the fast back-end's lit pass, fed to pyrender through its shader-directory mechanism.

pyrender compiles shaders by file name from one folder (``ShaderProgramCache(shader_dir)``),
so :func:`shader_dir` writes ours (``mesh.*`` for colour, ``segmentation.*`` for the
class/depth passes) next to unmodified copies of pyrender's other shaders into a
content-addressed folder and returns it.

Shading model (linear RGB, display-encoded by a view-transform table, see
:mod:`facefarm.render.pyrender.view`), evaluated **per vertex** for both faces of
the surface: head triangles are a few pixels wide, and on llvmpipe
with 4x MSAA every fragment-shader instruction costs far more than the same work
per vertex (llvmpipe also runs both sides of a branch on a uniform, so variants are
separate programs, not ``if``s):

* diffuse = albedo / pi * irradiance; irradiance = environment SH (rotated into the
  map frame) + directional / point / spot lights; skin softens both with a
  per-channel wrap / SH band blur standing in for subsurface scattering;
* shadows: every light with a shadow map (:mod:`facefarm.render.pyrender.shadows`: the
  environment's suns and the scene's lights) is scaled by its visibility, looked up once per
  vertex (per fragment in the smooth-material variant) with a normal offset growing towards
  grazing light and a bilinear-compared PCF tap; the SH
  irradiance is scaled by the sky's visibility from maps of a few sky directions
  (``sky_vis``); the reflections are not shadowed;
* specular = GGX for every light + the HDRI looked up along the reflection at a mip
  level matching the GGX lobe, weighted by an analytic split-sum approximation
  (Lazarov / Karis), with a horizon fade.

Program variants, chosen through the vertex attributes pyrender turns into defines:

* no ``normal`` attribute (``NORMAL_LOC`` undefined): the environment backdrop, one
  lookup per pixel ray;
* a ``texcoord_1`` attribute (``TEXCOORD_1_LOC``): smooth materials (eyes, glasses:
  roughness below ``SHARP_ROUGHNESS``) whose light highlights are smaller than a
  triangle get them per fragment; the attribute itself is unused;
* a ``texcoord_0`` attribute (``TEXCOORD_0_LOC``): its x is the share of light that reaches
  the vertex (the inside of the mouth, :mod:`facefarm.compose.cavity`); the shading is scaled by it;
* a ``weights_0`` attribute (``WEIGHTS_0_LOC``): lash cards; its x, y are the strand
  coordinate and coverage (:mod:`facefarm.compose.skin_detail`), cut per fragment into
  partly transparent strands (drawn blended, after the opaque meshes); with a ``tangent``
  as well, hair cards (:class:`facefarm.render.pyrender.geometry.Card`): x across the card in
  strands, y along it, z its seed, cut per fragment into strands of their own lightness and
  length with soft edges, roots and tips (``card_cut``), their alpha turned into multisample
  coverage (alpha to coverage: no sorting, depth written where they cover);
* a ``joints_0`` attribute (``JOINTS_0_LOC``): a surface with texture maps (skin,
  :class:`~facefarm.scene.model.SurfaceMaps`), its UVs in ``joints_0.xy``. The vertex shades as
  usual but keeps the diffuse (albedo from the vertex colour) and the specular apart; each
  fragment multiplies the diffuse by the albedo map, and scales the specular by the specular
  map and by how the map's normal (pore relief, tangent frame from the UVs' screen derivatives)
  and roughness change the GGX lobe towards the vertex's key light (``key_dir``: its lights and the
  environment's brightest direction, weighted), then display-encodes;
* a ``tangent`` attribute (``TANGENT_LOC``): hair ribbons
  (:func:`facefarm.render.pyrender.geometry.ribbons`). Their light highlights are
  Kajiya-Kay cones around the strand tangent (``tangent.xyz``, root -> tip) with two
  lobes shifted along the strand as in Marschner's model: R (untinted, towards the root)
  and a broader TRT tinted by the albedo (towards the tip), tilted further per strand by
  ``tangent.w`` radians; the per-vertex ``color_0`` multiplies the albedo. Still per
  vertex: the lobes vary along the strand, not across a ribbon a pixel wide.

Every per-light sum (diffuse irradiance, GGX, strand lobes) is written by
:func:`_sum_over_lights`, the one place the three light kinds are told apart.
pyrender's loader rewrites ``#ifdef NAME`` to ``#if 1`` / ``#if 0`` and substitutes the
names, so variants nest ``#ifdef`` blocks (``#if defined(...)`` would not compile).

Custom uniforms (set by the renderer's hook, not by pyrender): ``sh[9]``, ``env_rot``,
``env_intensity``, ``env_map``, ``bg_map``, ``env_width``, ``env_max_lod``,
``two_sided``, ``bg_is_hdri``, ``bg_color``, ``sss_amount``, ``sss_radius``,
``spec_level``, ``sheen``, ``strand_share``, ``view_lut``, ``lut_size``, ``lut_range``, ``white_balance``,
``shadow_maps``, ``shadow_mat``, ``shadow_offset``, ``directional_shadow``,
``point_shadow``, ``spot_shadow``, ``n_sky``, ``sky_layer``, ``sky_dirs``, ``open_dirs``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

from facefarm import paths
from facefarm.render.pyrender.geometry import (
    CARD_EDGE,
    CARD_GAP,
    CARD_ROOT_FADE,
    CARD_STRAND_JITTER,
    CARD_TIP_FADE,
    CARD_TIP_SPREAD,
)

#: Materials smoother than this get their light highlights per fragment.
SHARP_ROUGHNESS = 0.25
#: Fixed texture units of our samplers (bound in the shader, so two sampler types never
#: share unit 0 when pyrender validates a program); pyrender's own textures count up from 0.
ENV_UNIT, BG_UNIT, LUT_UNIT, CLASS_UNIT, SHADOW_UNIT = 13, 14, 15, 12, 11
SKIN_ALBEDO_UNIT, SKIN_NORMAL_UNIT, SKIN_SPEC_UNIT = 8, 9, 10
#: The skin maps go up as 8-bit textures (a quarter of the upload and mip-mapping of floats, which
#: was most of a new identity's render cost): albedo multiplier = ALBEDO_MAP_OFFSET +
#: ALBEDO_MAP_SCALE x texel (steps of 0.4 %), normal = 2 x texel - 1, roughness = texel,
#: specular multiplier = SPEC_MAP_SCALE x texel.
ALBEDO_MAP_OFFSET, ALBEDO_MAP_SCALE, SPEC_MAP_SCALE = 0.25, 1.1, 2.0
#: Most a fragment's map normal and roughness may raise the specular over the vertex's (the ratio
#: of GGX lobes is unbounded near a sharp peak).
MAX_SPEC_GAIN = 4.0
#: Shadow maps the lit pass reads at most: one per shadowed light (MAX_LIGHT_SHADOWS of them) and
#: one per sky direction (MAX_SKY) of the environment's occlusion.
MAX_LIGHT_SHADOWS, MAX_SKY = 4, 4
MAX_SHADOWS = MAX_LIGHT_SHADOWS + MAX_SKY
#: Directions standing for the rest of the sphere in the environment's occlusion (no maps).
N_OPEN = 6
#: Share of a light's irradiance that reaches a hair strand's diffuse term on average (the rest
#: is shadowed by other strands). Measured on a long-haired head under one directional light:
#: median hair colour Cycles / fast 0.32 without it, 0.58-0.96 with it (skin, also unshadowed
#: here, is 0.64-0.71); scaling the strand highlights as well made dark hair too dark.
STRAND_LIGHT_SHARE = 0.35
#: Share of the light that reaches brow and beard strands, on top of STRAND_LIGHT_SHARE: they lie
#: on the skin, which hides half of the sky from them and shadows them, and they shadow each
#: other more densely than scalp hair (whose albedo fit absorbs its own share). Measured over six
#: bearded default samples under a uniform world: median Cycles / fast 0.70 for beards (0.57-0.87)
#: and 0.85 for brows (0.45-0.95) without it, where skin is 0.93.
FACE_HAIR_SHARE = 0.8
#: Fabric sheen (Principled "Sheen Weight" 1, untinted, roughness 0.5) as the share of the light a
#: surface seen at n.v reflects by sheen: SHEEN_AT_NORMAL + SHEEN_AT_GRAZING * (1 - n.v)^2, and
#: the layer under it gets the rest. Fitted to Cycles (black and grey spheres under a uniform
#: world, 256 spp): 0.019 at n.v = 1 rising to 0.28 at n.v = 0.31; the grey sphere's sheen is
#: 0.7 of the black one's, as layering predicts.
SHEEN_AT_NORMAL, SHEEN_AT_GRAZING = 0.02, 0.55
#: Metres a two-sided (thin) surface's shadow lookup moves towards the light: hair lying on the
#: scalp, cloth on the body and glasses frames are not shadowed by what they touch.
THIN_SHADOW_LIFT = 0.005
#: Texels a row of the segmentation pass's face-class texture.
CLASS_WIDTH = 4096
#: A face-class texel that makes the segmentation pass discard the face (nothing drawn, no depth).
NOT_DRAWN = 0xFFFFFFFF


_LIGHT_LOCALS = ("to_light", "dist2", "l", "cd", "att", "i")


def _sum_over_lights(acc: str, term: str) -> str:
    """GLSL that adds ``radiance * (term)`` of every scene light to ``acc``, at position ``p``.

    ``term`` (float or vec3 GLSL) sees ``l``, the unit direction from ``p`` towards the light;
    radiance is intensity x colour, over distance squared for point and spot lights, times the
    spot cone falloff, times the light's shadow visibility (``vis_*[i]``, set by ``shadows_at``).
    The one place light kinds are told apart: every per-light sum uses it.
    Its locals (``to_light``, ``dist2``, ``l``, ``cd``, ``att``) must not be ``acc``'s name: a
    local of that name would shadow the sum (it once did: ``d``, the diffuse irradiance).
    """
    if acc in _LIGHT_LOCALS:
        raise ValueError(f"the sum {acc!r} would be shadowed by a local of the light loop")
    return f"""
    for (int i = 0; i < n_directional_lights; i++) {{
        vec3 l = -normalize(directional_lights[i].direction);
        {acc} += vis_directional[i] * directional_lights[i].intensity * directional_lights[i].color * ({term});
    }}
    for (int i = 0; i < n_point_lights; i++) {{
        vec3 to_light = point_lights[i].position - p;
        float dist2 = max(dot(to_light, to_light), 1e-6);
        vec3 l = to_light * inversesqrt(dist2);
        {acc} += vis_point[i] * point_lights[i].intensity * point_lights[i].color / dist2 * ({term});
    }}
    for (int i = 0; i < n_spot_lights; i++) {{
        vec3 to_light = spot_lights[i].position - p;
        float dist2 = max(dot(to_light, to_light), 1e-6);
        vec3 l = to_light * inversesqrt(dist2);
        float cd = clamp(dot(spot_lights[i].direction, -l), 0.0, 1.0);
        float att = clamp(cd * spot_lights[i].light_angle_scale + spot_lights[i].light_angle_offset, 0.0, 1.0);
        {acc} += vis_spot[i] * att * att * spot_lights[i].intensity * spot_lights[i].color / dist2 * ({term});
    }}"""


_COMMON = (
    r"""
const float PI = 3.141592653589793;
struct Material {
    vec3 emissive_factor;
    vec4 base_color_factor;
    float metallic_factor;
    float roughness_factor;
};
struct DirectionalLight { vec3 color; float intensity; vec3 direction; };
struct PointLight { vec3 color; float intensity; float range; vec3 position; };
struct SpotLight { vec3 color; float intensity; float range; vec3 position; vec3 direction;
                   float light_angle_scale; float light_angle_offset; };

uniform Material material;
uniform vec3 cam_pos;
uniform DirectionalLight directional_lights[MAX_DIRECTIONAL_LIGHTS];
uniform int n_directional_lights;
uniform PointLight point_lights[MAX_POINT_LIGHTS];
uniform int n_point_lights;
uniform SpotLight spot_lights[MAX_SPOT_LIGHTS];
uniform int n_spot_lights;
uniform mat3 env_rot;
uniform float env_intensity;
layout(binding = ENV_UNIT) uniform sampler2D env_map;
uniform float spec_level;
uniform float sheen;
uniform float strand_share;
layout(binding = LUT_UNIT) uniform sampler3D view_lut;
uniform float lut_size;
uniform vec2 lut_range;
uniform vec3 white_balance;

// shadow maps: layer k of shadow_maps is the depth seen from one light; <kind>_shadow[i] is
// 1 + the layer of that kind's light i, 0 for an unshadowed light
layout(binding = SHADOW_UNIT) uniform sampler2DArrayShadow shadow_maps;
uniform mat4 shadow_mat[MAX_SHADOWS];      // world -> (u, v, depth) of layer k, projective
uniform float shadow_offset[MAX_SHADOWS];  // world normal offset against self-shadowing
uniform int directional_shadow[MAX_DIRECTIONAL_LIGHTS];
uniform int point_shadow[MAX_POINT_LIGHTS];
uniform int spot_shadow[MAX_SPOT_LIGHTS];
float vis_directional[MAX_DIRECTIONAL_LIGHTS];
float vis_point[MAX_POINT_LIGHTS];
float vis_spot[MAX_SPOT_LIGHTS];
// the environment's occlusion: maps from a few sky directions (layers sky_layer + k), each
// direction xyz with its weight w (the sky's irradiance there)
uniform int n_sky;
uniform int sky_layer;
uniform vec4 sky_dirs[MAX_SKY];
// the rest of the sphere, taken as open: directions (xyz) and weights (w), as sky_dirs
uniform vec4 open_dirs[N_OPEN];
float sky_vis;

// PCF lookup of map k at t = (u, v, depth): one bilinear-compared tap (2x2 PCF; per vertex, the
// interpolation over the triangle filters further)
float shadow_lookup(int k, vec3 t);

// the share of a light that reaches p (normal n) past the shadow casters;
// thin: n may face either way (turned towards the light)
float shadow_visibility(int slot, vec3 p, vec3 n, vec3 l, bool thin) {
    if (slot <= 0) {
        return 1.0;
    }
    int k = slot - 1;
    float nl = dot(n, l);
    if (thin) {
        // sheets and strands (hair, cloth, frames, brims) lie on or wrap other surfaces closer
        // than a normal offset clears: look up a little towards the light as well
        p += l * THIN_SHADOW_LIFT;
        if (nl < 0.0) {
            n = -n;
            nl = -nl;
        }
    }
    // normal offset, growing towards grazing light (slope-scaled): no acne on lit faces
    float sin_nl = sqrt(max(1.0 - nl * nl, 0.0));
    vec4 c = shadow_mat[k] * vec4(p + n * shadow_offset[k] * (1.0 + 2.0 * sin_nl), 1.0);
    vec3 t = c.xyz / c.w;
    if (c.w <= 0.0 || any(lessThan(t, vec3(0.0))) || any(greaterThan(t, vec3(1.0)))) {
        return 1.0;
    }
    float v = shadow_lookup(k, t);
    // a closed surface turning away from the light is shadowed by itself in the map; what light
    // reaches it there is the wrapped (subsurface) term, which already fades: do not cut it
    return thin ? v : mix(1.0, v, smoothstep(-0.2, 0.05, nl));
}

// every light's and the sky's shadowing kept by a share k (0: unshadowed)
void shadows_faded(float k) {
    for (int i = 0; i < n_directional_lights; i++) {
        vis_directional[i] = mix(1.0, vis_directional[i], k);
    }
    for (int i = 0; i < n_point_lights; i++) {
        vis_point[i] = mix(1.0, vis_point[i], k);
    }
    for (int i = 0; i < n_spot_lights; i++) {
        vis_spot[i] = mix(1.0, vis_spot[i], k);
    }
    sky_vis = mix(1.0, sky_vis, k);
}

// fill vis_* for the lights at p (front normal n), and sky_vis
void shadows_at(vec3 p, vec3 n, bool thin, bool sky) {
    float num = 0.0;
    float den = 0.0;
    for (int k = 0; k < (sky ? n_sky : 0); k++) {
        vec3 d = sky_dirs[k].xyz;
        float nd = dot(n, d);
        float w = sky_dirs[k].w * max(thin ? abs(nd) : nd, 0.0);
        // grazing directions are the surface's own silhouette in their map: they count for
        // little in the irradiance, and are taken as open
        float v = shadow_visibility(sky_layer + k + 1, p, n, d, thin);
        num += w * mix(1.0, v, smoothstep(0.1, 0.35, thin ? abs(nd) : nd));
        den += w;
    }
    for (int k = 0; k < (sky && n_sky > 0 ? N_OPEN : 0); k++) {
        float nd = dot(n, open_dirs[k].xyz);
        float w = open_dirs[k].w * max(thin ? abs(nd) : nd, 0.0);
        num += w;
        den += w;
    }
    sky_vis = den > 0.0 ? num / den : 1.0;
    for (int i = 0; i < n_directional_lights; i++) {
        vis_directional[i] = shadow_visibility(directional_shadow[i], p, n,
                                               -normalize(directional_lights[i].direction), thin);
    }
    for (int i = 0; i < n_point_lights; i++) {
        vis_point[i] = shadow_visibility(point_shadow[i], p, n, normalize(point_lights[i].position - p), thin);
    }
    for (int i = 0; i < n_spot_lights; i++) {
        vis_spot[i] = shadow_visibility(spot_shadow[i], p, n, normalize(spot_lights[i].position - p), thin);
    }
}

// the camera's white balance, then the view transform (scene-linear -> display sRGB), a 3-D
// table over log2-encoded channels (see facefarm.render.pyrender.view)
vec3 display(vec3 c) {
    c *= white_balance;
    vec3 t = clamp((log2(max(c, vec3(1e-30))) - lut_range.x) / (lut_range.y - lut_range.x), 0.0, 1.0);
    return textureLod(view_lut, (t * (lut_size - 1.0) + 0.5) / lut_size, 0.0).rgb;
}

vec2 equirect(vec3 d) {
    vec3 m = normalize(env_rot * d);
    return vec2(0.5 + atan(m.z, m.x) / (2.0 * PI), acos(clamp(m.y, -1.0, 1.0)) / PI);
}

float roughness() { return clamp(material.roughness_factor, 0.03, 1.0); }

// GGX normal distribution at n.h for alpha = roughness^2
float ggx_d(float nh, float alpha) {
    float a2 = alpha * alpha;
    float dn = max(nh, 0.0) * max(nh, 0.0) * (a2 - 1.0) + 1.0;
    return a2 / (PI * dn * dn);
}

// GGX specular lobe times n.l, for unit incoming radiance
float ggx(vec3 n, vec3 v, vec3 l, float alpha) {
    vec3 h = normalize(l + v);
    float nl = max(dot(n, l), 0.0);
    float nv = max(dot(n, v), 1e-3);
    float nh = max(dot(n, h), 0.0);
    float a2 = alpha * alpha;
    float dn = nh * nh * (a2 - 1.0) + 1.0;
    float D = a2 / (PI * dn * dn);
    float k = alpha * 0.5;
    float G = nl / (nl * (1.0 - k) + k) * nv / (nv * (1.0 - k) + k);
    return D * G / (4.0 * nv + 1e-4);
}

// sum over the scene's lights of radiance x GGX, at position p
vec3 light_specular(vec3 p, vec3 n, vec3 v, float alpha) {
    vec3 spec = vec3(0.0);"""
    + _sum_over_lights("spec", "ggx(n, v, l, alpha)")
    + r"""
    return spec;
}

// Schlick Fresnel with the roughness-aware grazing limit
vec3 fresnel(vec3 f0, float nv, float rough) {
    return f0 + (max(vec3(1.0 - rough), f0) - f0) * pow(1.0 - nv, 5.0);
}

vec3 base_f0(vec3 albedo) {
    return mix(vec3(0.08 * spec_level), albedo, clamp(material.metallic_factor, 0.0, 1.0));
}
"""
)

MESH_VERT = (
    r"""#version 330 core
#extension GL_ARB_shading_language_420pack : require
layout(location = 0) in vec3 position;
#ifdef NORMAL_LOC
layout(location = NORMAL_LOC) in vec3 normal;
#endif
#ifdef TANGENT_LOC
layout(location = TANGENT_LOC) in vec4 tangent;
#endif
#ifdef COLOR_0_LOC
layout(location = COLOR_0_LOC) in vec4 color_0;
#endif
#ifdef TEXCOORD_0_LOC
layout(location = TEXCOORD_0_LOC) in vec2 texcoord_0;
#endif
#ifdef WEIGHTS_0_LOC
layout(location = WEIGHTS_0_LOC) in vec4 weights_0;
out vec4 cut;  // what the fragment shader cuts a card by: lash or hair card coordinates
#endif
#ifdef JOINTS_0_LOC
layout(location = JOINTS_0_LOC) in vec4 joints_0;
out vec2 frag_uv;
out vec3 spec_front;
out vec3 key_dir;
#endif
layout(location = INST_M_LOC) in mat4 inst_m;

uniform mat4 M;
uniform mat4 V;
uniform mat4 P;
uniform vec3 sh[9];
uniform float env_width;
uniform float env_max_lod;
uniform float sss_amount;
uniform vec3 sss_radius;
uniform int two_sided;
"""
    + _COMMON
    + r"""
out vec3 frag_position;
out vec3 frag_normal;
out vec3 color_front;

float shadow_lookup(int k, vec3 t) {
    return texture(shadow_maps, vec4(t.xy, float(k), t.z));
}

out vec3 color_back;
out float frag_alpha;

vec3 sh_irradiance(vec3 n, vec3 a1, vec3 a2) {
    vec3 m = env_rot * n;
    vec3 e = 0.282095 * sh[0];
    e += a1 * (0.488603 * (m.y * sh[1] + m.z * sh[2] + m.x * sh[3]));
    e += a2 * (1.092548 * (m.x * m.y * sh[4] + m.y * m.z * sh[5] + m.x * m.z * sh[7])
               + 0.315392 * (3.0 * m.z * m.z - 1.0) * sh[6]
               + 0.546274 * (m.x * m.x - m.y * m.y) * sh[8]);
    return max(e, vec3(0.0)) * env_intensity;
}

// Lambert with a per-channel wrap (w = 0 is plain Lambert); keeps the integral over
// the sphere roughly constant, as light that scattered under the skin does.
vec3 wrapped(float nl, vec3 w) {
    return max((vec3(nl) + w) / (1.0 + w), vec3(0.0));
}

vec3 irradiance(vec3 p, vec3 n) {
    // subsurface stand-in: blur the irradiance more in the channels that scatter further
    vec3 s = sss_amount * sss_radius;
    vec3 w = 0.6 * s;
    vec3 e = sh_irradiance(n, exp(-s), exp(-3.0 * s)) * sky_vis;
    vec3 d = vec3(0.0);"""
    + _sum_over_lights("d", "wrapped(dot(n, l), w)")
    + r"""
#ifdef TANGENT_LOC
    // hair shadows itself: most strands lie under others and see little of a light (there are
    // no shadows here); the share a strand gets on average was measured against Cycles
    d *= STRAND_LIGHT_SHARE;
#endif
    return e + d;
}

#ifdef TANGENT_LOC
// Hair strands: Kajiya-Kay cones around the strand with Marschner's lobe shifts. Two lobes
// per light: R (reflection off the cuticle, untinted, tilted towards the root by the scales)
// and TRT (through the fibre and back, tinted by the albedo, broader, towards the tip).
// Widths follow the roughness (R: sigma = rough / 2 radians, TRT twice that).
vec3 strand_t;       // unit tangent, root -> tip
float strand_shift;  // this strand's extra tilt, radians

// a normalised Gaussian-like lobe in the angle between h and the cone of a tangent tilted by shift
float strand_lobe(vec3 t, vec3 n, vec3 h, float shift, float e) {
    float th = dot(normalize(t + shift * n), h);
    return pow(max(1.0 - th * th, 1e-6), 0.5 * e) * sqrt(e / (2.0 * PI));
}

vec3 strand_term(vec3 l, vec3 n, vec3 v, vec3 f0, vec3 albedo, float e) {
    vec3 t = strand_t;
    vec3 h = normalize(l + v);
    float tl = dot(t, l);
    // azimuth between light and view around the strand: R fades when lit from behind
    vec3 lp = l - tl * t;
    vec3 vp = v - dot(t, v) * t;
    float cos_phi = dot(lp, vp) * inversesqrt(max(dot(lp, lp) * dot(vp, vp), 1e-8));
    float cos_half_phi = sqrt(clamp(0.5 + 0.5 * cos_phi, 0.0, 1.0));
    vec3 f = fresnel(f0, sqrt(clamp(0.5 + 0.5 * dot(l, v), 0.0, 1.0)), 0.0);
    vec3 r = f * (0.25 * cos_half_phi) * strand_lobe(t, n, h, 0.07 + strand_shift, e);
    vec3 trt = albedo * (1.0 - f) * (1.0 - f) * 0.25 * strand_lobe(t, n, h, -0.14 + strand_shift, 0.25 * e);
    // irradiance on the fibre (cos of the angle to its normal plane), and a soft self-shadow
    // from the side of the hair mass facing away from the light
    float lit = sqrt(max(1.0 - tl * tl, 0.0)) * clamp(0.6 + dot(n, l), 0.0, 1.0);
    return (r + trt) * lit;
}

vec3 strand_specular(vec3 p, vec3 n, vec3 v, vec3 f0, vec3 albedo) {
    float sigma = 0.5 * roughness();
    float e = 1.0 / (sigma * sigma);
    vec3 spec = vec3(0.0);"""
    + _sum_over_lights("spec", "strand_term(l, n, v, f0, albedo, e)")
    + r"""
    return spec;
}
#endif

// the specular part of the last shade() (lights and environment), for the mapped variant
vec3 shade_spec;

#ifdef JOINTS_0_LOC
// where the light at p comes from, weighted by luminance: the lights facing n, and the
// environment's linear SH band (its brightest direction)
vec3 key_direction(vec3 p, vec3 n) {
    const vec3 LUM = vec3(0.2126, 0.7152, 0.0722);
    vec3 k = vec3(0.0);
    for (int i = 0; i < n_directional_lights; i++) {
        vec3 l = -normalize(directional_lights[i].direction);
        k += vis_directional[i] * directional_lights[i].intensity * dot(directional_lights[i].color, LUM)
             * max(dot(n, l), 0.0) * l;
    }
    for (int i = 0; i < n_point_lights; i++) {
        vec3 to_light = point_lights[i].position - p;
        float dist2 = max(dot(to_light, to_light), 1e-6);
        vec3 l = to_light * inversesqrt(dist2);
        k += vis_point[i] * point_lights[i].intensity * dot(point_lights[i].color, LUM) / dist2 * max(dot(n, l), 0.0) * l;
    }
    for (int i = 0; i < n_spot_lights; i++) {
        vec3 to_light = spot_lights[i].position - p;
        float dist2 = max(dot(to_light, to_light), 1e-6);
        vec3 l = to_light * inversesqrt(dist2);
        k += vis_spot[i] * spot_lights[i].intensity * dot(spot_lights[i].color, LUM) / dist2 * max(dot(n, l), 0.0) * l;
    }
    vec3 band = vec3(dot(sh[3], LUM), dot(sh[1], LUM), dot(sh[2], LUM));
    return k + transpose(env_rot) * band * (0.488603 * env_intensity * sky_vis);
}
#endif

// Outgoing linear radiance towards the camera for one side of the surface.
vec3 shade(vec3 p, vec3 n, vec3 v, vec4 base) {
    float rough = roughness();
    float alpha = rough * rough;
    float metallic = clamp(material.metallic_factor, 0.0, 1.0);
    float nv = max(dot(n, v), 1e-3);
    vec3 f0 = base_f0(base.rgb);
    vec3 fres = fresnel(f0, nv, rough);
    vec3 irr = irradiance(p, n);
    vec3 diffuse = (1.0 - metallic) * base.rgb / PI * irr;
    // fabric sheen: untinted light off the fibres, strongest at grazing view; the layer under it
    // gets what it leaves
    float sh = sheen * (SHEEN_AT_NORMAL + SHEEN_AT_GRAZING * (1.0 - nv) * (1.0 - nv));
    diffuse = diffuse * (1.0 - sh) + sh * irr / PI;

    // environment reflection: prefiltered radiance along the mirror direction
    vec3 r = reflect(-v, n);
    float lod = clamp(log2(max(alpha * env_width / PI, 1.0)), 0.0, env_max_lod);
    // reflections from below the surface are blocked, and grazing ones mostly hit nearby
    // geometry (the jaw sees the neck): without occlusion they would draw bright rims
    float horizon = clamp(1.0 + dot(r, n), 0.0, 1.0);
    float grazing = smoothstep(0.0, 0.35, nv);
    vec3 pre = textureLod(env_map, equirect(r), lod).rgb * env_intensity * horizon * horizon * grazing;
    const vec4 c0 = vec4(-1.0, -0.0275, -0.572, 0.022);
    const vec4 c1 = vec4(1.0, 0.0425, 1.04, -0.04);
    vec4 rr = rough * c0 + c1;
    float a004 = min(rr.x * rr.x, exp2(-9.28 * nv)) * rr.x + rr.y;
    vec2 ab = vec2(-1.04, 1.04) * a004 + rr.zw;
    vec3 env_spec = pre * (f0 * ab.x + ab.y);

#ifdef TANGENT_LOC
    vec3 spec = strand_specular(p, n, v, f0, base.rgb);
#else
  #ifdef TEXCOORD_1_LOC
    vec3 spec = vec3(0.0);  // added per fragment
  #else
    vec3 spec = light_specular(p, n, v, alpha) * fres;
  #endif
#endif
    shade_spec = spec + env_spec;
    vec3 color = diffuse * (1.0 - 0.5 * fres) + spec + env_spec + material.emissive_factor;
    if (base.a < 1.0) {
        // transparent layers (glasses lenses): keep the reflection at full strength after blending
        color = (diffuse * base.a + spec + env_spec) / max(base.a, 0.05);
    }
#ifdef TANGENT_LOC
    color *= strand_share;
#endif
    return color;
}

void main()
{
    vec4 world = M * inst_m * vec4(position, 1.0);
    gl_Position = P * V * world;
    frag_position = world.xyz;
#ifdef WEIGHTS_0_LOC
    cut = weights_0;
#endif
#ifdef NORMAL_LOC
    vec3 n = normalize(mat3(M * inst_m) * normal);
    frag_normal = n;
  #ifdef TANGENT_LOC
    strand_t = normalize(mat3(M * inst_m) * tangent.xyz);
    strand_shift = tangent.w;
  #endif
  #ifdef COLOR_0_LOC
    vec4 base = material.base_color_factor * color_0;
  #else
    vec4 base = material.base_color_factor;
  #endif
    frag_alpha = base.a;
    vec3 v = normalize(cam_pos - world.xyz);
    shadows_at(world.xyz, n, two_sided == 1, true);
  #ifdef TEXCOORD_0_LOC
    // inside the mouth the compositor's share of light reaching in (below) stands for the
    // shadows: both would count the lips and teeth twice (the mouth went ~3x darker than in
    // Cycles); where all of it reaches (the rest of the head), the maps count in full
    shadows_faded(texcoord_0.x);
  #endif
    color_front = shade(world.xyz, n, v, base);
    color_back = two_sided == 1 ? shade(world.xyz, -n, v, base) : color_front;
  #ifdef JOINTS_0_LOC
    // the mapped variant: diffuse and specular apart, both finished per fragment
    frag_uv = joints_0.xy;
    spec_front = shade_spec;
    color_front -= shade_spec;
    color_back = color_front;
    key_dir = key_direction(world.xyz, n);
  #endif
  #ifdef TEXCOORD_0_LOC
    // the share of light that reaches into a cavity (the mouth), from the compositor
    color_front *= texcoord_0.x;
    color_back *= texcoord_0.x;
    #ifdef JOINTS_0_LOC
    spec_front *= texcoord_0.x;
    #endif
  #endif
  #ifdef JOINTS_0_LOC
  #else
   #ifndef TEXCOORD_1_LOC
    // display-encode per vertex: interpolating display values over triangles a few
    // pixels wide is invisible, a table lookup per fragment is not free
    color_front = display(color_front);
    color_back = display(color_back);
   #endif
  #endif
#else
    // the environment backdrop: shaded per fragment
    frag_normal = vec3(0.0);
    frag_alpha = 1.0;
    color_front = vec3(0.0);
    color_back = vec3(0.0);
#endif
}
"""
)

MESH_FRAG = (
    r"""#version 330 core
#extension GL_ARB_shading_language_420pack : require
layout(binding = BG_UNIT) uniform sampler2D bg_map;
uniform int bg_is_hdri;
uniform vec3 bg_color;
"""
    + _COMMON
    + r"""
in vec3 frag_position;
in vec3 frag_normal;
in vec3 color_front;
in vec3 color_back;
in float frag_alpha;
out vec4 frag_color;
#ifdef JOINTS_0_LOC
in vec2 frag_uv;
in vec3 spec_front;
in vec3 key_dir;
layout(binding = SKIN_ALBEDO_UNIT) uniform sampler2D skin_albedo;
layout(binding = SKIN_NORMAL_UNIT) uniform sampler2D skin_normal;
layout(binding = SKIN_SPEC_UNIT) uniform sampler2D skin_spec;

// the mapped variant's fragment: the vertex's diffuse light times the albedo map, its specular
// times the specular map and the change of the GGX lobe towards the key light that the map's
// normal and roughness make; display-encoded
vec3 mapped(vec3 diffuse) {
    vec3 n = normalize(frag_normal);
    // tangent frame of the UVs from screen derivatives (Schueler, "Normal mapping without
    // precomputed tangents"): no tangent attribute, seams need none
    vec3 dp1 = dFdx(frag_position);
    vec3 dp2 = dFdy(frag_position);
    vec2 du1 = dFdx(frag_uv);
    vec2 du2 = dFdy(frag_uv);
    vec3 p2 = cross(dp2, n);
    vec3 p1 = cross(n, dp1);
    vec3 t = p2 * du1.x + p1 * du2.x;
    vec3 b = p2 * du1.y + p1 * du2.y;
    float s = inversesqrt(max(max(dot(t, t), dot(b, b)), 1e-30));
    vec3 tn = 2.0 * texture(skin_normal, frag_uv).xyz - 1.0;
    vec3 np = normalize(mat3(t * s, b * s, n) * tn);
    vec2 rs = texture(skin_spec, frag_uv).rg * vec2(1.0, SPEC_MAP_SCALE);  // roughness, specular multiplier
    vec3 v = normalize(cam_pos - frag_position);
    float gain = rs.y;
    float kl = length(key_dir);
    if (kl > 1e-8) {
        vec3 l = key_dir / kl;
        vec3 h = normalize(l + v);
        float r0 = roughness();
        float r1 = clamp(rs.x, 0.03, 1.0);
        gain *= min(ggx_d(dot(np, h), r1 * r1) / max(ggx_d(dot(n, h), r0 * r0), 1e-6), MAX_SPEC_GAIN);
        // the relief's own shading towards the key light (a fraction: the rest of the light is diffuse)
        diffuse *= clamp(1.0 + 0.5 * dot(np - n, l), 0.75, 1.25);
    }
    vec3 albedo = ALBEDO_MAP_OFFSET + ALBEDO_MAP_SCALE * texture(skin_albedo, frag_uv).rgb;
    return display(diffuse * albedo + spec_front * gain);
}
#endif
#ifdef WEIGHTS_0_LOC
in vec4 cut;

float cut_hash(float a) {
    return fract(sin(a * 12.9898) * 43758.5453);
}
  #ifdef TANGENT_LOC
// a hair card cut into its strands (facefarm.render.pyrender.geometry.Card): c.x across the card
// in strands (0..c.w), c.y along it (root 0, tip 1), c.z the card's seed. Returns (coverage,
// lightness factor of the display value). Each strand has its own lightness and ends at its own
// length; the outer strands fade out at the card's edges and a little light passes between
// strands. Where strands are finer than a pixel, their mean (one evaluation per pixel would alias).
vec2 card_cut(vec4 c) {
    float fw = max(fwidth(c.x), 1e-6);  // strands per pixel
    float j = clamp(floor(c.x), 0.0, c.w - 1.0);
    float d = abs(c.x - j - 0.5);  // 0 on a strand's axis .. 0.5 between two
    float h_len = cut_hash(c.z * 131.0 + j * 7.31);
    float h_light = cut_hash(c.z * 71.0 + j * 3.17 + 0.37);
    float end = 1.0 - CARD_TIP_SPREAD * h_len;
    float tip = 1.0 - smoothstep(end - CARD_TIP_FADE, end, c.y);
    // roots: each strand comes out of the skin over its own first stretch (a hairline of fine
    // roots, not a blunt edge)
    float root = smoothstep(0.0, CARD_ROOT_FADE * (0.5 + h_len), c.y);
    float fine = clamp(2.0 * fw - 0.5, 0.0, 1.0);
    // the mean of smoothstep(0.25, 0.5, d) over a strand is 1/4
    float core = mix(1.0 - CARD_GAP * smoothstep(0.25, 0.5, d), 1.0 - 0.25 * CARD_GAP, fine);
    float edge = mix(clamp(min(c.x, c.w - c.x) / CARD_EDGE, 0.0, 1.0), 1.0, clamp(fw / CARD_EDGE - 0.5, 0.0, 1.0));
    // uniform log-lightness with sigma CARD_STRAND_JITTER (half-range sqrt(3) sigma), partly kept
    // where strands are finer than a pixel (a pixel shows the strand at its centre, the same all
    // along a strand running with the pixel grid: streaks, as hair shows; across the grid, the
    // picks alias into glitter, so less of it); the darker groove between strands is averaged there
    float groove = mix(1.0 - 0.15 * smoothstep(0.2, 0.5, d), 1.0 - 0.0375, fine);
    float light = exp(CARD_STRAND_JITTER * (1.0 - 0.6 * fine) * 3.4641 * (h_light - 0.5)) * groove;
    return vec2(edge * core * tip * root, light);
}
  #else
// a lash card cut into strands, as the Cycles lash shader cuts it: a wave across the strand
// coordinate l.x (each strand's phase jittered) passing the card's coverage l.y; where the
// strands are finer than a pixel, their mean coverage (one evaluation per pixel would alias)
float lash_coverage(vec2 l) {
    float jitter = cut_hash(floor(l.x));
    float wave = cos(6.2831853 * (l.x + 0.25 * jitter));
    float edge = 1.0 - 2.6 * l.y;
    float sharp = clamp((wave - edge) / 0.15, 0.0, 1.0);
    float mean = acos(clamp(edge, -1.0, 1.0)) / 3.14159265;
    return mix(sharp, mean, clamp(2.0 * fwidth(l.x) - 0.5, 0.0, 1.0));
}
  #endif
#endif

float shadow_lookup(int k, vec3 t) {
    // one bilinear-compared tap, as per vertex: four cost ~15 ms a 256 px sample (lens fragments)
    return texture(shadow_maps, vec4(t.xy, float(k), t.z));
}

void main()
{
#ifndef NORMAL_LOC
    // the environment backdrop (the one primitive drawn without normals), per pixel ray
    vec3 bg = bg_color;
    if (bg_is_hdri == 1) {
        bg = textureLod(bg_map, equirect(frag_position - cam_pos), 0.0).rgb * env_intensity;
    }
    frag_color = vec4(display(bg), 1.0);
#else
    vec3 color = gl_FrontFacing ? color_front : color_back;  // display-encoded but for the variant below
  #ifdef TEXCOORD_1_LOC
    // smooth materials: light highlights smaller than a triangle, per fragment
    // (the f0 of a dielectric does not need the per-vertex albedo)
    vec3 n = normalize(gl_FrontFacing ? frag_normal : -frag_normal);
    vec3 v = normalize(cam_pos - frag_position);
    float rough = roughness();
    vec3 f0 = base_f0(material.base_color_factor.rgb);
    shadows_at(frag_position, n, true, false);
    vec3 spec = light_specular(frag_position, n, v, rough * rough)
                * fresnel(f0, max(dot(n, v), 1e-3), rough);
    color = display(color + spec / max(frag_alpha, 0.05));
  #endif
  #ifdef JOINTS_0_LOC
    color = mapped(color);
  #endif
    frag_color = vec4(color, frag_alpha);
  #ifdef WEIGHTS_0_LOC
    #ifdef TANGENT_LOC
    // hair cards: the coverage goes to the multisample mask (alpha to coverage)
    vec2 card = card_cut(cut);
    frag_color = vec4(frag_color.rgb * card.y, frag_color.a * card.x);
    #else
    frag_color.a *= lash_coverage(cut.xy);
    #endif
  #endif
#endif
}
"""
)

# Segmentation pass (RenderFlags.SEG: no lighting, no multisampling). Every face's value sits in
# one integer texture (row-major, CLASS_WIDTH texels a row, all seg nodes' faces in turn); a node's
# pyrender colour carries the index of its first face there as three bytes (pyrender divides them
# by 255), and gl_PrimitiveID, the face's index within the draw, finds the rest. The value goes
# out as three bytes, low byte in red: a class id (< 256) in red alone, or (the face-index pass of
# the normals) a face's index + 1 across all three. NOT_DRAWN discards the face, depth and all (the
# amodal passes draw one layer with the head). Meshes are drawn indexed, as welded as the colour
# pass's: no triangle soups.
SEG_VERT = r"""#version 330 core
layout(location = 0) in vec3 position;
layout(location = INST_M_LOC) in mat4 inst_m;
uniform mat4 P;
uniform mat4 V;
uniform mat4 M;
void main()
{
    gl_Position = P * V * M * inst_m * vec4(position, 1.0);
}
"""

SEG_FRAG = r"""#version 330 core
#extension GL_ARB_shading_language_420pack : require
layout(binding = CLASS_UNIT) uniform usampler2D face_class;
uniform vec3 color;
out vec4 frag_color;
void main()
{
    ivec3 b = ivec3(round(color * 255.0));
    int i = b.r * 65536 + b.g * 256 + b.b + gl_PrimitiveID;
    uint k = texelFetch(face_class, ivec2(i % CLASS_WIDTH, i / CLASS_WIDTH), 0).r;
    if (k == NOT_DRAWNu) discard;
    frag_color = vec4(float(k & 255u), float((k >> 8) & 255u), float((k >> 16) & 255u), 255.0) / 255.0;
}
"""


def _units(src: str) -> str:
    return (
        src.replace("ENV_UNIT", str(ENV_UNIT))
        .replace("BG_UNIT", str(BG_UNIT))
        .replace("LUT_UNIT", str(LUT_UNIT))
        .replace("CLASS_UNIT", str(CLASS_UNIT))
        .replace("SHADOW_UNIT", str(SHADOW_UNIT))
        .replace("SKIN_ALBEDO_UNIT", str(SKIN_ALBEDO_UNIT))
        .replace("SKIN_NORMAL_UNIT", str(SKIN_NORMAL_UNIT))
        .replace("SKIN_SPEC_UNIT", str(SKIN_SPEC_UNIT))
        .replace("MAX_SPEC_GAIN", repr(MAX_SPEC_GAIN))
        .replace("ALBEDO_MAP_OFFSET", repr(ALBEDO_MAP_OFFSET))
        .replace("ALBEDO_MAP_SCALE", repr(ALBEDO_MAP_SCALE))
        .replace("SPEC_MAP_SCALE", repr(SPEC_MAP_SCALE))
        .replace("MAX_SHADOWS", str(MAX_SHADOWS))
        .replace("MAX_SKY", str(MAX_SKY))
        .replace("N_OPEN", str(N_OPEN))
        .replace("THIN_SHADOW_LIFT", repr(THIN_SHADOW_LIFT))
        .replace("CLASS_WIDTH", str(CLASS_WIDTH))
        .replace("NOT_DRAWN", str(NOT_DRAWN))
        .replace("STRAND_LIGHT_SHARE", repr(STRAND_LIGHT_SHARE))
        .replace("SHEEN_AT_NORMAL", repr(SHEEN_AT_NORMAL))
        .replace("SHEEN_AT_GRAZING", repr(SHEEN_AT_GRAZING))
        .replace("CARD_EDGE", repr(CARD_EDGE))
        .replace("CARD_TIP_SPREAD", repr(CARD_TIP_SPREAD))
        .replace("CARD_TIP_FADE", repr(CARD_TIP_FADE))
        .replace("CARD_ROOT_FADE", repr(CARD_ROOT_FADE))
        .replace("CARD_GAP", repr(CARD_GAP))
        .replace("CARD_STRAND_JITTER", repr(CARD_STRAND_JITTER))
    )


MESH_VERT, MESH_FRAG, SEG_FRAG = _units(MESH_VERT), _units(MESH_FRAG), _units(SEG_FRAG)

_CUSTOM = {"mesh.vert": MESH_VERT, "mesh.frag": MESH_FRAG, "segmentation.vert": SEG_VERT, "segmentation.frag": SEG_FRAG}


def _trusted(folder: Path, files: dict[str, str]) -> bool:
    """Whether ``folder`` holds exactly ``files``: a real folder of this user that no one else can
    write, the same names, the same bytes. Anything else (a planted or half-deleted cache) is not
    used: a wrong segmentation shader would corrupt every label."""
    try:
        st = folder.lstat()
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
            return False
        if {p.name for p in folder.iterdir()} != set(files):
            return False
        return all(not (folder / n).is_symlink() and (folder / n).read_text() == t for n, t in files.items())
    except (OSError, UnicodeDecodeError):
        return False


def shader_dir() -> str:
    """A folder holding our lit-pass shaders plus pyrender's own for every other pass.

    Cached in the user's facefarm folder under a hash of the sources, private (0700), and
    checked against the sources at every start; a cache that does not match is rebuilt.
    """
    import pyrender

    stock = Path(pyrender.__file__).parent / "shaders"
    files = {p.name: p.read_text() for p in sorted(stock.iterdir()) if p.is_file()}
    files.update(_CUSTOM)
    digest = hashlib.sha256("".join(f"{k}\0{v}\0" for k, v in sorted(files.items())).encode()).hexdigest()[:16]
    root = paths.home() / "shaders"
    out = root / digest
    if _trusted(out, files):
        return str(out)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=root))  # 0700
    for name, text in files.items():
        (tmp / name).write_text(text)
    if out.is_symlink() or out.exists():
        stale = Path(tempfile.mkdtemp(prefix=".stale-", dir=root))
        try:
            os.rename(out, stale / "old")
        except OSError:
            pass  # another process replaced it first
        shutil.rmtree(stale, ignore_errors=True)
    try:
        os.rename(tmp, out)  # atomic; another process may have won the race with the same bytes
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    if not _trusted(out, files):
        raise RuntimeError(f"cannot make a trustworthy shader cache in {root}: check its owner and permissions")
    return str(out)
