"""The compositor: a resolved sample plus the head model -> a renderer-agnostic :class:`Scene`.

Pure: numpy in, dataclasses out, no renderer imports and no IO beyond the cached
head asset. Both back-ends render exactly what this returns, and the labels are
computed from the same Scene, so they cannot disagree about geometry.

Frames: the head model's frame (metres, +y up, +z out of the face, +x subject's
left) is shifted so the neck pivot sits at the world origin, then rotated by the
head pose (yaw about +y, pitch about +x, roll about +z). The camera sits in front
(+z) of the *unposed* face centre and looks at the posed one, so the face stays
centred whatever the pose.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from facefarm.catalog.colors import srgb_to_linear, srgb_to_linear_rgb
from facefarm.compose import cavity, contour, eyes, layouts, skin, skin_detail, skin_maps, teeth
from facefarm.compose.attachments import attachments
from facefarm.compose.hair import brows
from facefarm.compose.hair.base import light_under_hair, paint_under_hair
from facefarm.compose.hair.strands import hair_cover
from facefarm.compose.hair.styles import scalp_style_ids
from facefarm.compose.posed_head import PosedHead
from facefarm.geometry import vectors
from facefarm.geometry.camera import Camera, intrinsics, look_at
from facefarm.geometry.triangles import vertex_normals
from facefarm.head.model import HeadModel, IdentityParams
from facefarm.head.surface_uv import surface_uvs
from facefarm.scene import white_balance
from facefarm.scene.classes import CLASS_IDS, layout, layout_outline
from facefarm.scene.environment import hdri_path
from facefarm.scene.lighting import direction_pose, kelvin_to_linear_rgb
from facefarm.scene.model import (
    OCCLUSION_ATTRIBUTE,
    RASTER_STRANDS,
    Environment,
    Eyes,
    Landmarks,
    LayoutPoints,
    Light,
    Mesh,
    Scene,
    StrandDensity,
)

#: The 300-W brow points (17-26) of the 70-point layout.
BROW_POINTS = slice(17, 27)

# Units that move the eyeballs: we drive gaze by rotating our own eyeballs instead,
# and keep only the lid motion that follows gaze (see _gaze_units).
_EYE_LOOK = ("eyeLookUp", "eyeLookDown", "eyeLookIn", "eyeLookOut")


def _gaze_units(units: dict[str, float], yaw: float, pitch: float, blink: float) -> dict[str, float]:
    """Final expression weights: eyeball units removed, lids follow gaze and blink."""
    out = {k: v for k, v in units.items() if not any(k.startswith(e) for e in _EYE_LOOK)}
    down = float(np.clip(-pitch / 30.0, 0, 1))
    up = float(np.clip(pitch / 30.0, 0, 1))
    # the lid part of the eyeLook units is what makes a downward gaze look natural
    for side in ("Left", "Right"):
        out[f"eyeBlink{side}"] = float(max(out.get(f"eyeBlink{side}", 0.0), blink, 0.35 * down))
        out[f"eyeWide{side}"] = float(max(out.get(f"eyeWide{side}", 0.0), 0.4 * up))
    return out


def identity_params(sample) -> IdentityParams:
    return IdentityParams(
        age_years=float(sample.age_years),
        gender=float(sample.gender),
        ancestry=dict(sample.ancestry_weights),
        muscle=float(sample.muscle),
        weight=float(sample.weight),
        proportions=float(sample.proportions),
        details=dict(sample.shape_details),
    )


def compose(
    sample, head: HeadModel | None = None, strands: StrandDensity = RASTER_STRANDS, layouts: tuple[str, ...] = ()
) -> Scene:
    """Build the Scene for one resolved sample (a ``facefarm.catalog`` ResolvedSample).

    ``layouts``: other landmark layouts to place (names of :data:`facefarm.scene.classes.LAYOUTS`;
    ~20 ms each).

    ``strands``: how many hair strands the renderer needs per pixel of face (the back-end's own,
    :attr:`facefarm.render.backends.Backend.strands`; default the rasteriser's). It only sets how
    finely hair is made (unless the catalog fixes ``render.hair_detail``); the scene is otherwise
    the same for every back-end.
    """
    head = head or HeadModel.load()
    ex = sample.expression
    rest = head.shape(identity_params(sample)).astype(np.float64)
    units = _gaze_units(dict(ex.units), ex.gaze_yaw_deg, ex.gaze_pitch_deg, ex.blink)
    verts = rest + head.expression_offsets(rest, units)
    verts = _apply_gaze(head, verts, ex.gaze_yaw_deg, ex.gaze_pitch_deg)

    # --- head frame -> world: once, for the head and every fitter ---------------------------
    posed = PosedHead.pose(sample, head, verts, rest)
    geo, head_pose, to_world = posed.face, posed.head_to_world, posed.to_world

    camera = _camera(sample.camera, geo.face_centre - geo.pivot, to_world(geo.face_centre))
    # as fine a surface as the image resolves; landmarks are placed on the one rendered
    px_per_m = camera.K[0, 0] / sample.camera.distance_m
    surface = head.surface_for(px_per_m)
    brow_rows = brows.landmark_rows(posed.brow, head, surface)  # 17-26 follow this identity's brow
    lm_rows = _landmark_rows(head, surface, brow_rows)
    lm = lm_rows @ np.asarray(verts, np.float64)
    meshes = list(_head_meshes(posed, surface, to_world, lm, px_per_m))
    detail = sample.render.hair_detail or strands.detail(px_per_m)
    extra_meshes, curves = attachments(posed, hair_detail=detail)
    meshes += extra_meshes

    dense = np.asarray(head.dense_points(verts, surface), np.float64)
    names = tuple(head.landmark_names) + tuple(f"dense_{i:04d}" for i in range(len(dense)))
    normals = _landmark_normals(head, verts, surface, len(dense), brow_rows) @ posed.rotation.T
    sparse = to_world(lm)
    outline = sparse.copy()  # the annotators' convention: the jaw on the outline of this view
    skin_mesh = next(m for m in meshes if m.name == "skin")
    outline[contour.JAW] = contour.on_outline(
        skin_mesh.vertices, contour.paths_for(head, surface), sparse[contour.JAW], posed.rotation, camera
    )
    outline[contour.LIPS] = contour.on_outline(
        skin_mesh.vertices, contour.lip_paths_for(head, surface), sparse[contour.LIPS], posed.rotation, camera
    )
    landmarks = Landmarks(
        points=np.vstack([sparse, to_world(dense)]), names=names, n_sparse=70, normals=normals, contour=outline
    )
    placed = tuple(
        _layout_points(name, head, surface, posed, verts, lm_rows, landmarks, skin_mesh.vertices, camera)
        for name in layouts
    )

    aperture = _lid_apertures(lm)
    # the lid points sit on the lids' skin, a little off their margins: closed lids keep ~2 mm
    # between them, so openness runs from this identity's closed lids (0) to its lids at rest (1)
    closed = rest + head.expression_offsets(rest, {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0})
    at_rest, shut = (_lid_apertures(head.landmark_points(v, surface)) for v in (rest, closed))
    eye_state = Eyes(
        centres=to_world(np.asarray(head.eye_centres(verts), np.float64)),
        axes=normals[68:70].copy(),
        aperture_m=aperture,
        openness=np.maximum(aperture - shut, 0.0) / np.maximum(at_rest - shut, 1e-9),
    )

    face = to_world(geo.face_centre)
    environment, lights = _lighting(sample, face)
    wb = white_balance.gains(
        white_balance.illuminant(environment, lights, face, camera.camera_to_world[:3, 3] - face),
        sample.camera.white_balance,
    )
    meta = {"sample_id": sample.sample_id, "head_scale": geo.scale, "hair_detail": detail}
    return Scene(
        meshes=tuple(meshes),
        camera=camera,
        environment=environment,
        landmarks=landmarks,
        head_pose=head_pose,
        lights=tuple(lights),
        curves=tuple(curves),
        meta=meta,
        white_balance=wb,
        eyes=eye_state,
        layouts=placed,
    )


def _landmark_rows(head: HeadModel, surface, brow_rows: sp.csr_matrix) -> sp.csr_matrix:
    """(70, V) CSR over the coarse vertices: the 70 points of this sample on ``surface`` (the
    brow points 17-26 on this identity's brow, ``brow_rows``; the pupils at the eyeballs' front poles)."""
    rows = surface.point_operator("landmark").tolil()
    rows[BROW_POINTS] = brow_rows.tolil()
    for i, eye in ((68, 0), (69, 1)):  # the pupil centre is the front pole of the eyeball
        rows[i] = 0.0
        rows[i, head.eyes_slice(eye).start] = 1.0
    return rows.tocsr()


def _layout_points(
    name: str, head: HeadModel, surface, posed: PosedHead, verts, lm_rows, landmarks: Landmarks, skin_world, camera
) -> LayoutPoints:
    """The points of layout ``name`` (:mod:`facefarm.compose.layouts`): those it shares with the 70
    exactly as theirs (points, normals, outline), the others on the same surface."""
    spec = layout(name)
    rows = layouts.layout_rows(name, head, surface, posed.brow, lm_rows)
    v = np.asarray(verts, np.float64)
    points_head = rows @ v
    normals_head = vectors.unit(rows @ vertex_normals(verts, head.faces))
    rim, rim_points, rim_normals = layouts.limbus_points(head, v, name)
    points_head[rim], normals_head[rim] = rim_points, rim_normals
    points = posed.to_world(points_head)
    normals = normals_head @ posed.rotation.T
    shared = [(i, p["from70"]) for i, p in enumerate(spec["points"]) if "from70" in p]
    if shared:
        mine, theirs = (np.array(x, int) for x in zip(*shared))
        points[mine] = landmarks.points[theirs]
        if landmarks.normals is not None:
            normals[mine] = landmarks.normals[theirs]
    outline = points.copy()
    if shared and landmarks.contour is not None:  # the shared points (the mouth) as the 70's outline has them
        outline[mine] = landmarks.contour[theirs]
    on = layout_outline(name)
    paths = layouts.jaw_paths(head, surface, name, rows)
    outline[on] = contour.on_outline(skin_world, paths, points[on], posed.rotation, camera)
    return LayoutPoints(name=name, points=points, normals=normals, contour=outline)


#: iBUG points of the upper and lower lid margins, the subject's right eye then the left
_LIDS = (((37, 38), (41, 40)), ((43, 44), (47, 46)))


def _lid_apertures(points: np.ndarray) -> np.ndarray:
    """(2,) distance between the midpoints of the upper and lower lid margins of each eye
    (right, left) of the 68-point ``points`` (k >= 48, 3); metres when they are."""
    p = np.asarray(points, np.float64)
    return np.array([np.linalg.norm(p[list(up)].mean(axis=0) - p[list(lo)].mean(axis=0)) for up, lo in _LIDS])


def _landmark_normals(head: HeadModel, verts: np.ndarray, surface, n_dense: int, brow_rows) -> np.ndarray:
    """(70 + n_dense, 3) unit outward normals (head frame) at the landmark and dense points: the
    coarse mesh's vertex normals carried by the points' own operators (smooth, so a point on a fold
    or a lip edge gets the facing of its neighbourhood, not of one fine triangle; ``brow_rows``
    those of the brow points); the pupils get their eye's gaze axis."""
    vn = vertex_normals(verts, head.faces)
    n = surface.point_operator("landmark") @ vn
    n[BROW_POINTS] = brow_rows @ vn
    n[68:70] = head.eye_axes(verts)
    if n_dense:
        n = np.vstack([n, surface.point_operator("dense") @ vn])
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def _apply_gaze(head: HeadModel, verts: np.ndarray, yaw: float, pitch: float) -> np.ndarray:
    """Rotate both eyeballs rigidly about their centres so they look along (yaw, pitch)."""
    if yaw == 0 and pitch == 0:
        return verts
    out = verts.copy()
    g = eyes.gaze_rotation(yaw, pitch)
    for e, c in enumerate(head.eye_centres(verts)):
        sl = head.eyes_slice(e)
        out[sl] = (verts[sl] - c) @ g.T + c
    return out


def _head_meshes(posed: PosedHead, surface, to_world, landmarks, px_per_m: float):
    """One Mesh per head part (skin with per-face classes and albedo, eyes, lashes, teeth, tongue).
    ``landmarks``: the (70, 3) landmark points of the posed vertices on ``surface`` (head frame);
    ``to_world`` places the head frame in the world; ``px_per_m`` the image's pixels per metre
    at the face (the skin maps' resolution).

    The skin carries UVs and its identity's texture maps (:mod:`facefarm.compose.skin_maps`):
    its vertices are the render vertices of the skin, in order, then a copy of each vertex on a
    seam of the UV layout (:mod:`facefarm.head.surface_uv`), with the normals of the unsplit
    surface, so the seam neither shows nor moves a label.

    Colours are computed on the coarse mesh and carried, with the positions, through the same
    operator that makes the render ``surface`` (:class:`~facefarm.head.model.RenderSurface`);
    the brow is painted, and its skin labelled, on the render surface itself.
    """
    sample, head, rest, verts, geo = posed.sample, posed.head, posed.rest, posed.vertices, posed.face
    cap = _hair_cap(sample, head)
    colours = skin.skin_vertex_colors(sample, rest, head.vertex_class, head.faces, geo, scalp=cap)
    colours = paint_under_hair(sample, head, colours, cap)  # soft hairline, beard shadow
    iris = skin.iris_linear_rgb(sample)
    eye_centres, eye_axes = head.eye_centres(rest), head.eye_axes(rest)
    in_cap = np.zeros((len(rest), 1))
    if cap is not None:
        in_cap[cap] = 1.0
    hair_shade = light_under_hair(sample, head, cap)  # (V,) the light hair leaves the skin under it
    # one sparse product for all five: positions posed and at rest, skin colours, the painted
    # cap and the hair's shade
    fine = surface.vertices(np.hstack([verts, rest, colours, in_cap, hair_shade[:, None]]))
    fine_verts, fine_rest, fine_colours, fine_cap = fine[:, :3], fine[:, 3:6], fine[:, 6:9], fine[:, 9]
    fine_shade = np.clip(fine[:, 10], 0.0, 1.0)
    detail = skin_detail.surface_detail(sample, head, surface)  # wrinkles, blemishes at render resolution
    fine_colours = np.clip(fine_colours * detail.albedo_scale, 0.0, 1.0)
    fine_colours = skin.paint_brow(sample, fine_colours, brows.surface_weight(posed.brow, head, surface), posed.brow)
    mouth_class = CLASS_IDS["MOUTH_INTERIOR"]
    for pi, part in enumerate(head.part_names):
        vidx, faces, sel = surface.part(pi)
        if len(faces) == 0:
            continue
        material = skin.material_for(part, sample)
        part_verts = fine_verts[vidx]
        normals = None  # the back-end's from the faces
        face_class = surface.face_class[sel].copy()
        vc = None
        if material.kind == "skin":
            vc = fine_colours[vidx]
        elif material.kind == "eye":
            e = 0 if part == "eye_r" else 1
            part_verts, faces, source, normals, vc = eyes.painted_eyeball(
                part_verts, faces, fine_rest[vidx], eye_centres[e], eye_axes[e], iris
            )
            face_class = face_class[source]
        elif material.kind == "teeth":
            part_verts, faces, part_rest, normals = teeth.subdivide(part_verts, faces, fine_rest[vidx])
            face_class = np.repeat(face_class, 4**teeth.LEVELS)
            vc = teeth.tooth_albedo(part_rest, upper=part.endswith("upper"), age_years=sample.age_years)
        if part == "skin":
            face_class = brows.brow_face_class(posed.brow, head, surface, sel, face_class)
        bare_class = None
        if part == "skin" and cap is not None:
            bare_class = face_class.copy()
            face_class[_cap_faces(surface.faces[sel], face_class, fine_cap)] = CLASS_IDS["HAIR"]
        attributes = detail.for_part(material.kind, vidx)
        mouth_faces = faces if material.kind in ("teeth", "tongue") else faces[face_class == mouth_class]
        if len(mouth_faces):
            inside = np.unique(mouth_faces)
            light = np.ones(len(part_verts), np.float32)
            # light reaching into the mouth, for a back-end without shadows (head frame: the face looks along +z)
            light[inside] = cavity.mouth_light(
                part_verts[inside],
                (vertex_normals(part_verts, mouth_faces) if normals is None else normals)[inside],
                landmarks,
                np.array([0.0, 0.0, 1.0]),
            )
            attributes = {**(attributes or {}), OCCLUSION_ATTRIBUTE: light}
        if part == "skin" and hair_shade.min() < 1.0:
            # skin under scalp hair and beards lies in the hair's shade, which the fast back-end
            # casts no shadow for: its shading (specular included) scaled down there, or it
            # shines through
            light = np.asarray((attributes or {}).get(OCCLUSION_ATTRIBUTE, np.ones(len(part_verts))), np.float32)
            attributes = {**(attributes or {}), OCCLUSION_ATTRIBUTE: (light * fine_shade[vidx]).astype(np.float32)}
        uvs = None
        if material.kind == "skin":
            # UVs with the layout's seams split: copies appended, so ids below len(vidx) keep their
            # meaning; every copy gets its vertex's normal, colour and attributes
            normals = vertex_normals(part_verts, faces)
            layout = surface_uvs(head, surface)
            rows, faces, uvs = layout.part(vidx, sel)
            back = np.concatenate([np.arange(len(vidx)), np.searchsorted(vidx, layout.source[rows[len(vidx) :]])])
            part_verts, normals = part_verts[back], normals[back]
            vc = None if vc is None else vc[back]
            attributes = None if attributes is None else {k: v[back] for k, v in attributes.items()}
            material = replace(material, maps=skin_maps.skin_maps(sample, head, px_per_m))
        yield Mesh(
            name=part,
            vertices=to_world(part_verts).astype(np.float32),
            normals=None if normals is None else (normals @ posed.rotation.T).astype(np.float32),
            uvs=uvs,
            faces=faces,
            face_class=face_class.astype(np.uint8),
            bare_class=None if bare_class is None else bare_class.astype(np.uint8),
            material=material,
            vertex_colors=None if vc is None else vc.astype(np.float32),
            # lashes are thin cards over the lid margin: the eyelid landmarks count as visible
            occludes_landmarks=material.kind != "lash",
            attributes=attributes,
        )


def _hair_cap(sample, head) -> np.ndarray | None:
    """(S,) coarse head vertex ids painted as close-cropped hair and labelled HAIR (None: none).

    Follows the identity's own hairline (:func:`facefarm.compose.hair.strands.hair_cover`): the
    vertices where the hairline weight, ``hair_cover / density``, is above 0.5, so a bald
    style, the forehead under a receding hairline and a balding crown stay skin. Dividing by
    the density keeps the edge on the hairline of sparse hair as well; hair thinner than
    5 % gets no cap at all. Style ids outside the hair library (user hair assets) keep the
    fixed ``head.scalp`` region.
    """
    density = float(np.clip(getattr(sample.hair, "density", 1.0), 0.0, 1.0))
    style = str(getattr(sample.hair, "style", "bald"))
    if style in ("bald", "none") or density <= 0.05:
        return None
    if style not in scalp_style_ids():  # a user hair asset: no hairline of ours, the fixed scalp
        return head.scalp
    cap = np.flatnonzero(hair_cover(sample, head) > 0.5 * density)
    return cap if len(cap) else None


def _cap_faces(faces: np.ndarray, face_class: np.ndarray, fine_cap: np.ndarray) -> np.ndarray:
    """(m,) bool: SKIN faces of a part (``faces`` (m, 3) render vertex ids, ``face_class`` (m,))
    that are mostly hair cap, i.e. the painted cap fraction ``fine_cap`` (V_r,) averages over 0.5
    at their corners: the label edge sits where the paint turns from skin to hair colour."""
    return (face_class == CLASS_IDS["SKIN"]) & (fine_cap[faces].mean(axis=1) > 0.5)


def _camera(cam, face_offset: np.ndarray, target_world: np.ndarray) -> Camera:
    """Camera at ``distance_m`` in front of the unposed face centre, looking at the posed one."""
    jitter = np.asarray(cam.position_jitter_m, float)
    eye = face_offset + np.array([0.0, 0.0, cam.distance_m]) + jitter
    K = intrinsics(cam.focal_mm, cam.sensor_width_mm, cam.width, cam.height, tuple(cam.principal_offset_px))
    return Camera(
        K=K,
        world_to_camera=look_at(eye, target_world),
        width=int(cam.width),
        height=int(cam.height),
        near=0.02,
        far=20.0,
    )


def _lighting(sample, target):
    lt = sample.lighting
    env = Environment(
        hdri=hdri_path(lt.hdri) if lt.hdri else None,
        rotation_deg=float(lt.rotation_deg),
        intensity=float(lt.intensity),
        background=_background(sample),
    )
    lights = []
    for extra in lt.extra_lights:
        tint = np.asarray(kelvin_to_linear_rgb(extra.color_temperature_k))
        tint = tint * np.asarray([srgb_to_linear(c) for c in extra.color_rgb])
        lights.append(
            Light(
                kind=extra.kind,
                color=tuple(float(c) for c in tint / max(tint.max(), 1e-6)),
                intensity=float(extra.intensity_w),
                pose=direction_pose(extra.azimuth_deg, extra.elevation_deg, extra.distance_m, target),
                size=float(extra.size_m),
            )
        )
    return env, lights


def _background(sample):
    bg = sample.background
    if bg.kind == "hdri":
        return "hdri"
    return srgb_to_linear_rgb(bg.color_rgb)
