"""Scalp hair for one identity: a :class:`ScalpStyle` plus the sample's numbers -> strands.

Each flow is a comb field over the skin (how hair lies) plus, for tied and bundled styles,
the shape hair takes once it leaves the scalp (ponytail tail, bun coil, braid and loc
ropes). Everything is in the head frame, metres; randomness comes from the caller's
generator (identity-seeded, so every image of a person has the same hair).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial import cKDTree

from facefarm.compose.hair import grow as hg
from facefarm.compose.hair.collision import HeadFrame
from facefarm.compose.hair.regions import NeutralHead, Roots, scalp_weight, smoothstep
from facefarm.compose.hair.styles import HairLibrary, ScalpStyle
from facefarm.geometry import vectors
from facefarm.scene.classes import CLASS_IDS

EX, EY, EZ = np.eye(3)
#: Chart direction of the crown whorl hair radiates from.
WHORL_AZ_EL = (180.0, 64.0)


@dataclass(frozen=True)
class ScalpRequest:
    """What one sample asks of the scalp (all 0..1 unless stated). Hair under headwear is
    combed flat to the scalp (and tucked in when the style would not fit under it)."""

    style: ScalpStyle
    length: float
    curl: float
    density: float
    age_years: float
    gender: float
    detail: float = 1.0
    under_headwear: np.ndarray | None = None  # (V,) bool head vertices a hat covers


@dataclass(frozen=True)
class StrandSet:
    """Finished strands: points (s, k, 3) float64 metres, radius (s, k) metres, head frame."""

    points: np.ndarray
    radius: np.ndarray

    @staticmethod
    def empty(k: int = 2) -> "StrandSet":
        return StrandSet(np.zeros((0, k, 3)), np.zeros((0, k)))


def lerp(r: tuple[float, float], t: float) -> float:
    return float(r[0] + (r[1] - r[0]) * np.clip(t, 0.0, 1.0))


def age_length_cap(age_years: float) -> float:
    """Longest scalp hair (m) plausible at an age: babies' hair is short and fine."""
    return float(np.interp(age_years, [0.0, 1.0, 2.0, 4.0, 8.0], [0.02, 0.04, 0.1, 0.3, 1.0]))


def age_density(age_years: float) -> float:
    """Relative scalp hair density by age (thin on babies, thinning in old age)."""
    return float(np.interp(age_years, [0.0, 1.0, 3.0, 60.0, 90.0], [0.45, 0.6, 1.0, 1.0, 0.8]))


def strand_count(base: int, density: float, detail: float) -> int:
    return int(round(base * np.clip(density, 0.05, 1.5) * max(detail, 0.05)))


#: Most points a strand gets so that its coils are drawn (see :func:`_grow_style`).
MAX_COIL_POINTS = 40


def points_per_strand(base: int, detail: float) -> int:
    return int(np.clip(round(base * np.sqrt(max(detail, 0.05))), 2, 64))


def hairline_weight(req: ScalpRequest, lib: HairLibrary, nh: NeutralHead, rng: np.random.Generator):
    """The identity's scalp region weight (neutral points -> 0..1); draws the identity's hairline
    details (bald crown size, hairline wobble) as the first draws from ``rng``."""
    st = req.style
    male_age = float(np.clip(req.gender, 0, 1) * np.clip((req.age_years - 17.0) / 35.0, 0, 1))
    crown = lerp(st.crown_bald_deg, rng.random()) if st.crown_bald_deg else 0.0
    return scalp_weight(
        nh,
        lib.hairlines[st.hairline],
        temple_recession_deg=7.0 * male_age,
        raise_deg=2.0 if req.age_years < 3 else 0.0,
        crown_bald_deg=crown,
        top_thinning=st.top_thinning,
        phase=rng.uniform(0, 2 * np.pi),
    )


def scalp_strands(
    req: ScalpRequest, lib: HairLibrary, nh: NeutralHead, frame: HeadFrame, rng: np.random.Generator
) -> StrandSet:
    """The scalp hair of one identity (an empty set for bald styles)."""
    st = req.style
    k = points_per_strand(st.points, req.detail)
    if st.bald:
        return StrandSet.empty(k)
    n = strand_count(st.strands, req.density * age_density(req.age_years), req.detail)

    # ---- where roots go -------------------------------------------------------------------
    weight = hairline_weight(req, lib, nh, rng)
    if req.under_headwear is not None and req.under_headwear.any() and st.flow in ("bun", "radial"):
        # a bun or an afro does not fit under a hat: tucked in, it lies flat like a short cut
        st = replace(
            st,
            flow="back",
            length_m=(0.02, 0.04),
            volume_m=0.0,
            lift=0.05,
            side_factor=1.0,
            back_factor=1.0,
            curl=(0.0, 0.3),
        )
        req = replace(req, style=st)
    allowed = nh.face_is_skin & (nh.face_class == CLASS_IDS["SKIN"])
    faces = nh.candidate_faces(weight, allowed)
    # the identity's style decisions (parting side, fringe) come before any draw whose count
    # depends on ``detail``, so an identity keeps them at every resolution and back-end
    side_sign, fringe_draw = float(rng.choice([-1, 1])), float(rng.random())
    roots = nh.sample(faces, weight, n, rng)
    if len(roots) == 0:
        return StrandSet.empty(k)
    area = _region_area(nh, frame.vertices, faces, weight)
    return _grow_style(
        req,
        st,
        roots,
        area,
        k,
        lib.hairlines[st.hairline],
        nh,
        frame,
        rng,
        side_sign,
        fringe_draw < st.fringe_probability,
    )


def _region_area(nh: NeutralHead, vertices: np.ndarray, faces: np.ndarray, weight) -> float:
    """Approximate area (m^2) of the weighted region on ``vertices``."""
    tri = vertices[nh.faces[faces]]
    a = 0.5 * vectors.length(vectors.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]))
    w = weight(nh.vertices[nh.faces[faces]].mean(axis=1))
    return float((a * w).sum())


def _length_factor(st: ScalpStyle, az: np.ndarray, el: np.ndarray) -> np.ndarray:
    """Per-root length multiplier from the style's side/back factors (and fade)."""
    a = np.abs(az)
    around = np.interp(a, [0, 60, 100, 140, 180], [1.0, st.side_factor, st.side_factor, st.back_factor, st.back_factor])
    lo, hi = st.fade_el if st.fade_el else (20.0, 55.0)
    top = smoothstep((el - lo) / max(hi - lo, 1e-6))
    return top + (1 - top) * around


def _grow_style(
    req: ScalpRequest,
    st: ScalpStyle,
    roots: Roots,
    area: float,
    k: int,
    hairline: np.ndarray,
    nh: NeutralHead,
    frame: HeadFrame,
    rng: np.random.Generator,
    side_sign: float,
    fringe: bool,
) -> StrandSet:
    surf = frame.surface
    pos = roots.on(frame.vertices, nh.faces)
    normal = surf.query(pos).normal
    az, el = nh.scalp_chart(roots.neutral)
    n = len(roots)

    cap = age_length_cap(req.age_years)
    top_len = min(lerp(st.length_m, req.length), cap)
    lengths = top_len * _length_factor(st, az, el) * rng.uniform(0.88, 1.0, n)
    curl_amount = lerp(st.curl, req.curl)
    curl = hg.Curl.from_amount(curl_amount) if st.flow not in ("braids", "locs") else None
    shrink = curl.shrink if curl else 1.0
    # curly hair lies in a mat rather than standing out in spikes
    lift = st.lift * (1.0 - 0.6 * curl_amount) if st.flow != "radial" else st.lift
    stiffness = st.stiffness * (1.0 - 0.4 * curl_amount) if st.flow != "radial" else st.stiffness
    hat = np.zeros(n, bool)
    if req.under_headwear is not None:
        hat = (req.under_headwear[nh.faces[roots.face]] * roots.bary).sum(axis=1) >= 0.5

    whorl, _ = frame.point(nh.surface_vertex(*WHORL_AZ_EL))
    parting_x = {"none": None, "centre": 0.0, "side": side_sign * 0.022 * frame.scale}[st.parting]
    # a parting runs from the front hairline to the crown; behind the crown hair falls from the whorl
    before_crown = pos[:, 2] > whorl[2] + 0.01 * frame.scale
    side = np.zeros(n, int) if parting_x is None else np.where(before_crown, 1 + (pos[:, 0] > parting_x), 0)
    hairline_el = np.interp(np.abs(az), hairline[:, 0], hairline[:, 1])
    in_fringe = fringe & (np.abs(az) < 42.0) & (el < hairline_el + 16.0)
    in_fringe &= ~hat
    group = side + 3 * in_fringe + 6 * hat

    layer = rng.random(n)
    offset: np.ndarray = st.volume_m * (0.25 + 0.75 * layer) * frame.scale
    if curl:
        offset = offset + curl.radius * 0.6
    offset[hat] = 0.0
    lift_at = np.where(hat, 0.02, lift)
    g_n = min(n, max(8, int(round(st.guides * np.sqrt(max(req.detail, 0.25))))))
    gi = np.arange(g_n)  # roots come in random order, so the first ones are a random subset

    comb = _comb(st, frame, whorl, parting_x, in_fringe)
    gravity_w = {"back": 0.15, "natural": 1.0, "radial": 0.05}.get(st.flow, 1.0) * (1.0 - 0.6 * st.stiffness)
    steps = int(np.clip(np.ceil(lengths.max() * shrink / 0.01), 6, 40))

    fr_level = None
    if st.flow in ("ponytail", "bun"):
        curves, cut = _tied(st, req, frame, nh, pos, normal, lengths, gi, rng)
    elif st.flow in ("braids", "locs"):
        curves, cut = _bundled(st, req, frame, pos, normal, lengths, gi, comb, steps, rng)
        curl = None
    else:
        spec = hg.GrowSpec(
            length=lengths[gi] * shrink * 1.12,
            lift=lift_at[gi],
            stiffness=stiffness,
            gravity=frame.gravity,
            gravity_weight=gravity_w,
            offset=offset[gi],
            steps=steps,
            gravity_scale=_off_the_face(frame, in_fringe[gi]),
        )
        guides = hg.grow(surf, pos[gi], normal[gi], _bind(comb, gi), spec)
        # children copy their guides' shapes and are cut to their own lengths
        curves = hg.children(pos[gi], guides, group[gi], pos, group)
        cut = np.minimum(lengths * shrink, hg.arc_length(curves)[:, -1])
        if st.ends_at:
            level = frame.chin_y + lerp(st.ends_at, req.length) * frame.scale + rng.normal(0, 0.01, n)
            cut = np.minimum(cut, hg.cut_length_at_level(curves, level))
        if fringe:
            fr_level = frame.brow_top_y + 0.008 * frame.scale + rng.uniform(0, 0.006, n)
            cut = np.where(in_fringe, np.minimum(cut, hg.cut_length_at_level(curves, fr_level)), cut)

    # ---- per-strand detail: curl, frizz, final shape ----------------------------------------
    out_len = cut
    dense_k = max(k, 24)
    dense = hg.resample(curves, dense_k, upto=cut)
    resolved = False
    if curl is not None:
        turns = out_len / curl.period
        # a turn needs ~5 points to read as one: coiled (helix) strands get them, up to
        # MAX_COIL_POINTS; suggested coils (a wander plus a wide ribbon) read as spikes and
        # straggles, while suggested waves still read as waves
        need = int(np.ceil(5 * np.percentile(turns, 90)))
        if curl.helix and k < need <= MAX_COIL_POINTS:
            # as many strand points as before, in fewer, wider strands (curls clump into
            # ringlets): roots come in random order, so a prefix is a random subset
            n = max(1, int(round(n * np.sqrt(k / need))))
            dense, out_len, turns, hat, offset = dense[:n], out_len[:n], turns[:n], hat[:n], offset[:n]
            in_fringe = in_fringe[:n]
            fr_level = None if fr_level is None else fr_level[:n]
            k = need
        resolved = k >= need
        if resolved:
            dense = hg.resample(dense, max(dense_k, int(np.ceil(8 * turns.max())) + 2))
            dense = hg.apply_curl(dense, curl, rng.uniform(0, 2 * np.pi, n), hg.unit(dense - frame.centre))
        else:
            # too few points for the turns: keep the low-frequency wander a curl gives and let
            # a wider ribbon stand for the coil's envelope
            dense = dense + hg.smooth_noise(
                dense, np.where(hat, 0.0, curl.radius * 1.5), max(curl.period * 4, 0.02), rng
            )
    frizz = (0.0015 + 0.002 * curl_amount) * np.clip(out_len / 0.05, 0, 1) * ~hat
    dense = dense + hg.smooth_noise(dense, frizz, 0.04, rng)
    if fr_level is not None:
        # curl and frizz wander a few mm: cut the fringe at its level again, on its final shape
        again = hg.cut_length_at_level(dense, fr_level)
        dense = np.where(in_fringe[:, None, None], hg.resample(dense, dense.shape[1], upto=again), dense)
    pts = hg.resample(dense, k)
    # final collision: the shell rises from the root (on the skin) to part of the strand's volume
    shell = hg.MIN_OFFSET_M + 0.3 * offset[:, None] * hg.rise(hg.arc_length(pts))
    pts = hg.settle(surf, pts, shell)

    # ---- ribbon radius: enough strands x width to cover the scalp a few times ---------------
    mean_len = max(float(np.mean(out_len)), 0.003)
    r0 = st.coverage * area / (2.0 * n * mean_len)
    if curl is not None and not resolved:
        r0 += 0.25 * curl.radius
    # never thinner than a real hair (35 um); at low detail each strand stands for a lock
    r_min = max(3.5e-5, 1.0e-4 / np.sqrt(max(req.detail, 1e-3)))
    r0 = float(np.clip(r0, r_min, 1.5e-3))
    if req.age_years < 2:
        r0 *= 0.7
    taper = np.linspace(1.0, 0.45, k)
    radius = r0 * rng.uniform(0.8, 1.2, (n, 1)) * taper[None, :]
    if st.flow == "braids":
        radius = radius * 1.3
    # under a hat a camera-facing ribbon must not stand out through it
    radius[hat] = np.minimum(radius[hat], 6e-4)
    return StrandSet(pts, radius)


def _off_the_face(frame: HeadFrame, fringe: np.ndarray):
    """Gravity scale for strands (a bool (g,) fringe flag each): none over the face, so hair
    combed back or aside stays there; fringe strands fall as they like."""

    def scale(p: np.ndarray) -> np.ndarray:
        s = frame.scale
        # in front of the ears, over the face: gravity's forward pull would drape hair onto it
        ahead = smoothstep((p[:, 2] - (frame.centre[2] + 0.015 * s)) / (0.02 * s))
        within = smoothstep((0.06 * s - np.abs(p[:, 0])) / (0.015 * s))
        above_chin = p[:, 1] > frame.chin_y
        return np.where(fringe, 1.0, 1.0 - ahead * within * above_chin)

    return scale


def _bind(comb, idx):
    """A comb field for the subset ``idx`` of strands (comb fields carry per-strand flags)."""
    return lambda p, nr, s: comb(p, nr, s, idx)


def _comb(st: ScalpStyle, frame: HeadFrame, whorl: np.ndarray, parting_x: float | None, fringe: np.ndarray):
    """The comb field of a flow: f(points (m, 3), nearest, s (m,), strand ids (m,)) -> (m, 3)."""
    c = frame.centre

    def natural(p, nr, s, idx, side_w=1.0, back_w=0.45):
        front = smoothstep((p[:, 2] - whorl[2] - 0.015) / 0.05)[:, None]
        if parting_x is None:
            side = 0.6 * np.tanh(p[:, 0] / 0.03)  # no parting: combed back, spreading a little
        else:
            side = np.tanh((p[:, 0] - parting_x) / 0.004)
        v_front = side[:, None] * EX * side_w - EZ * back_w
        v_back = hg.unit(p - whorl) - EY * 0.6
        v = front * v_front + (1 - front) * v_back
        fr = fringe[idx][:, None]
        return np.where(fr, EZ * 0.45 - EY, v)

    if st.flow == "natural":
        return natural
    if st.flow in ("back", "braids", "locs"):
        return lambda p, nr, s, idx: natural(p, nr, s, idx, side_w=0.25, back_w=1.0)
    if st.flow == "radial":
        up = c + EY * 0.025 * frame.scale
        return lambda p, nr, s, idx: hg.unit(p - up) + 0.5 * nr.normal
    if st.flow in ("ponytail", "bun"):
        return None
    raise ValueError(f"unknown flow {st.flow!r}")


# ---- tied styles: ponytail and bun ---------------------------------------------------------


def _tied(
    st: ScalpStyle,
    req: ScalpRequest,
    frame: HeadFrame,
    nh: NeutralHead,
    pos: np.ndarray,
    normal: np.ndarray,
    lengths: np.ndarray,
    gi: np.ndarray,
    rng: np.random.Generator,
):
    """Hair combed tight to a tie, then a tail (ponytail) or a coil (bun).

    pos, normal (n, 3) roots · lengths (n,) tail lengths · gi guide ids. Returns the
    (n, m, 3) polylines (scalp part, then tail) and (n,) their lengths."""
    surf = frame.surface
    n = len(pos)
    gz = st.gather
    assert gz is not None, "a tied style names where it gathers"
    tie_base, tie_n = frame.point(nh.surface_vertex(float(gz["az"]), float(gz["el"])))
    tie = tie_base + tie_n * 0.004
    r_tie = float(gz.get("radius_m", 0.008)) * frame.scale

    def toward_tie(p, nr, s, idx=None):
        return tie - p

    scalp_len = vectors.length(pos - tie) * 1.6 + 0.02
    steps = int(np.clip(np.ceil(scalp_len.max() / 0.01), 8, 36))
    spec = hg.GrowSpec(
        length=scalp_len[gi],
        lift=0.05,
        stiffness=0.2,
        gravity=np.zeros(3),
        gravity_weight=0.0,
        offset=np.full(len(gi), 0.0015),
        steps=steps,
        stop_at=tie,
        stop_radius=r_tie * 0.5,
    )
    guides = hg.grow(surf, pos[gi], normal[gi], toward_tie, spec)
    # children follow their guides and close in on the tie as the guide does
    scalp = hg.children(pos[gi], guides, np.zeros(len(gi), int), pos, np.zeros(n, int))
    d_root = vectors.length(scalp[:, :1] - tie)
    d_now = vectors.length(scalp - tie)
    pull = np.clip(1.0 - d_now / np.maximum(d_root, 1e-6), 0.0, 1.0)[..., None]
    at_tie = tie + hg.unit(scalp - tie) * np.minimum(d_now, r_tie)[..., None]
    scalp = scalp * (1 - pull**3) + at_tie * pull**3

    # where each strand enters the tie, as an angle around the tie's normal
    e1 = hg.unit(np.cross(tie_n, EY if abs(tie_n[1]) < 0.9 else EX))
    e2 = np.cross(tie_n, e1)
    rel = pos - tie
    phi = np.arctan2(rel @ e2, rel @ e1)
    rho = np.sqrt(rng.random(n))
    tail_len = lengths * rng.uniform(0.85, 1.0, n)
    n_t = 24
    s = np.linspace(0.0, 1.0, n_t)[None, :] * tail_len[:, None]  # (n, n_t)
    if st.flow == "ponytail":
        axis = _tail_axis(surf, tie, tie_n, frame.gravity, float(tail_len.max()), n_t * 2)
        a_cum = hg.arc_length(axis[None])[0]
        A = np.stack([np.interp(s, a_cum, axis[:, d]) for d in range(3)], axis=-1)  # (n, n_t, 3)
        _, u, v = hg.frames(A, tie_n)
        r = r_tie + (0.02 * frame.scale - r_tie) * smoothstep(s / 0.05) * (1 - 0.35 * s / tail_len.max())
        r = r * np.sqrt(np.clip(req.density, 0.3, 1.2))
        tail = A + (r * rho[:, None])[..., None] * (np.cos(phi)[:, None, None] * u + np.sin(phi)[:, None, None] * v)
    else:
        R = lerp(st.bun_radius_m, req.length) * frame.scale
        B = tie + tie_n * R * 0.8
        R_i = R * (0.35 + 0.65 * np.sqrt(rng.random(n)))
        a_i = R * 0.6 * (2 * rng.random(n) - 1) * np.sqrt(1 - (R_i / R) ** 2 * 0.8)
        turns = rng.uniform(1.2, 2.0, n)
        theta = phi[:, None] + np.linspace(0, 1, n_t)[None, :] * (2 * np.pi * turns)[:, None]
        coil = (
            B
            + a_i[:, None, None] * tie_n
            + R_i[:, None, None] * (np.cos(theta)[..., None] * e1 + np.sin(theta)[..., None] * e2)
        )
        blend = smoothstep(np.linspace(0, 1, n_t) / 0.25)[None, :, None]
        tail = tie * (1 - blend) + coil * blend
    curves = np.concatenate([scalp, tail], axis=1)
    return curves, hg.arc_length(curves)[:, -1]


def _tail_axis(surf, tie, tie_n, gravity, length, steps) -> np.ndarray:
    """(steps + 1, 3) centre line of a ponytail: out of the tie, then falling with gravity."""
    h = length / steps
    p = tie.copy()
    d = hg.unit(tie_n + 0.8 * gravity)
    out = [p]
    for _ in range(steps):
        d = hg.unit(d + (gravity - d) * min(1.0, h / 0.03))
        p = surf.push_out((p + h * d)[None], 0.02)[0]
        out.append(p)
    return np.stack(out)


# ---- bundled styles: braids and locs --------------------------------------------------------


def _bundled(
    st: ScalpStyle,
    req: ScalpRequest,
    frame: HeadFrame,
    pos: np.ndarray,
    normal: np.ndarray,
    lengths: np.ndarray,
    gi: np.ndarray,
    comb,
    steps: int,
    rng: np.random.Generator,
):
    """Box braids / locs: guides are the ropes; every strand joins its nearest rope's root.

    Returns the (n, m, 3) polylines and (n,) the lengths to cut them at (a rope's strands end
    together)."""
    surf = frame.surface
    n = len(pos)
    rb = st.bundle_radius_m * np.sqrt(np.clip(req.density, 0.4, 1.2))
    spec = hg.GrowSpec(
        length=lengths[gi],
        lift=st.lift,
        stiffness=st.stiffness,
        gravity=frame.gravity,
        gravity_weight=1.0,
        offset=np.full(len(gi), rb + 0.0015),
        steps=steps,
    )
    guides = hg.grow(surf, pos[gi], normal[gi], _bind(comb, gi), spec)
    _, rope = cKDTree(pos[gi]).query(pos)
    axis = guides[rope]  # (n, m, 3)
    s = hg.arc_length(axis)
    _, u, v = hg.frames(axis, hg.unit(axis - frame.centre))
    if st.flow == "braids":
        ply = rng.integers(0, 3, n)
        psi = 2 * np.pi * s / st.bundle_pitch_m + (2 * np.pi * ply / 3)[:, None]
        a, b = rb * np.cos(psi), 0.5 * rb * np.sin(2 * psi)
        jit = 0.3 * rb * rng.normal(size=(n, 1, 2))
        off = (a[..., None] + jit[..., :1]) * u + (b[..., None] + jit[..., 1:]) * v
    else:
        rho = 0.9 * rb * np.sqrt(rng.random(n))[:, None]
        phi = rng.uniform(0, 2 * np.pi, n)[:, None] + 2 * np.pi * s / st.bundle_pitch_m
        off = rho[..., None] * (np.cos(phi)[..., None] * u + np.sin(phi)[..., None] * v)
    join = smoothstep(s / (0.012 * frame.scale))[..., None]
    curves = axis + (pos - pos[gi][rope])[:, None, :] * (1 - join) + off * join
    rope_cut = hg.arc_length(guides)[:, -1]
    if st.ends_at:
        level = frame.chin_y + lerp(st.ends_at, req.length) * frame.scale + rng.normal(0, 0.01, len(gi))
        rope_cut = np.minimum(rope_cut, hg.cut_length_at_level(guides, level))
    cut = rope_cut[rope] * rng.uniform(0.97, 1.0, n)
    return curves, cut
