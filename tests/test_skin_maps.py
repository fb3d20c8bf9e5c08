"""Skin in texture space: UVs carried onto the render surface, per-identity maps, and both
back-ends reading them without moving a label."""

from __future__ import annotations

import os
from dataclasses import replace

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")  # before pyrender / PyOpenGL are imported

import numpy as np
import pytest

from facefarm.catalog import load_catalog, resolve
from facefarm.compose import skin_maps
from facefarm.compose.compositor import compose
from facefarm.head.surface_uv import surface_uvs
from facefarm.scene.model import SurfaceMaps

CATALOG = "facefarm/assets/catalogs/default.json"


@pytest.fixture(scope="module")
def samples():
    cat = load_catalog(CATALOG)
    return [resolve(cat, 0, i) for i in range(3)]


def _small(sample, size=96):
    return sample.model_copy(update={"camera": sample.camera.model_copy(update={"width": size, "height": size})})


# ----------------------------------------------------------------------------- UVs on the render surface
@pytest.mark.parametrize("level", [0, 1])
def test_render_surface_uvs_match_the_coarse_layout_at_coarse_vertices(head, level):
    """A render-face corner that is a coarse vertex (subdivision keeps their ids first; the cut
    keeps fine ids) has one of that vertex's coarse UVs, as linear face-varying subdivision says."""
    surface = next(s for s in head.surfaces if s.level == level)
    uv = surface_uvs(head, surface)
    cut = surface.cut.tocsr()
    single = np.diff(cut.indptr) == 1
    fine_of = np.full(cut.shape[0], -1)
    fine_of[single] = cut.indices[cut.indptr[:-1][single]]
    corner_fine = fine_of[surface.faces]  # (F, 3) fine id of corners that are fine vertices
    coarse = (corner_fine >= 0) & (corner_fine < head.n_vertices)
    coarse &= head.vertex_part[np.clip(corner_fine, 0, head.n_vertices - 1)] == head.part_names.index("skin")
    f, k = np.nonzero(coarse)
    assert len(f) > 1000
    quads, quad_uv = head.quads, head.quad_uvs
    got = uv.corner_uvs[f, k]
    v = corner_fine[f, k]
    # every UV the coarse layout gives each of those vertices
    by_vertex: dict[int, list] = {}
    for q, corner in zip(*np.nonzero(np.isin(quads, v))):
        by_vertex.setdefault(int(quads[q, corner]), []).append(head.uvs[quad_uv[q, corner]])
    err = np.array([np.min(np.linalg.norm(np.asarray(by_vertex[int(j)]) - g, axis=1)) for j, g in zip(v, got)])
    assert err.max() < 1e-5


def test_seam_split_keeps_every_face_on_its_render_vertices(head):
    """Splitting the seams appends copies; each face still joins the same render vertices."""
    for surface in head.surfaces:
        uv = surface_uvs(head, surface)
        assert np.array_equal(uv.source[uv.faces], surface.faces)
        assert np.array_equal(uv.source[: uv.n_render], np.arange(surface.n_vertices))
        vidx, faces, sel = surface.part(head.part_names.index("skin"))
        rows, local, uvs = uv.part(vidx, sel)
        assert np.array_equal(rows[: len(vidx)], vidx)
        assert np.array_equal(uv.source[rows][local], surface.faces[sel])
        # a seam gets copies, and only a few vertices are on one
        assert 0 < len(rows) - len(vidx) < 0.05 * len(vidx)
        # the copies are real seams: a face-varying UV that differs from the vertex's first
        assert np.allclose(uvs[local], uv.corner_uvs[sel], atol=1e-5)
        assert uvs.min() >= 0.0 and uvs.max() <= 1.0


# ----------------------------------------------------------------------------- the maps
def test_map_size_follows_pixel_density():
    sizes = [skin_maps.map_size(p, 0.92) for p in (50.0, 400.0, 800.0, 1600.0, 1e5)]
    assert sizes == sorted(sizes)
    assert sizes[0] == skin_maps.MIN_SIZE and sizes[-1] == skin_maps.MAX_SIZE
    assert all(s & (s - 1) == 0 for s in sizes)
    assert skin_maps.map_size(800.0, 0.92) == 1024


def test_maps_are_deterministic_per_identity_and_differ_between_identities(head, samples):
    a = skin_maps.skin_maps(samples[0], head, 400.0)
    skin_maps._MAPS.clear()
    again = skin_maps.skin_maps(samples[0], head, 400.0)
    assert again is not a  # built anew
    for name in ("albedo", "normal", "roughness", "specular"):
        assert np.array_equal(getattr(a, name), getattr(again, name)), name
    b = skin_maps.skin_maps(samples[1], head, 400.0)
    covered = skin_maps.ndimage.zoom(skin_maps.layout(head).covered, a.size / skin_maps.MASK_SIZE, order=0) > 0
    assert np.abs(a.albedo - b.albedo)[covered].mean() > 0.01
    assert a.key != b.key


def test_maps_have_their_stated_resolution_and_ranges(head, samples):
    m = skin_maps.skin_maps(samples[2], head, 400.0)
    n = skin_maps.map_size(400.0, skin_maps.layout(head).uv_per_m)
    assert m.size == n and m.albedo.shape == (n, n, 3) and m.normal.shape == (n, n, 3)
    assert m.roughness.shape == (n, n) and m.specular.shape == (n, n)
    assert all(x.dtype == np.float32 for x in (m.albedo, m.normal, m.roughness, m.specular))
    assert np.allclose(np.linalg.norm(m.normal, axis=2), 1.0, atol=1e-5) and m.normal[..., 2].min() > 0.5
    assert 0.3 <= m.albedo.min() and m.albedo.max() <= 1.3 and 0.9 < np.median(m.albedo) < 1.05
    assert 0.15 <= m.roughness.min() and m.roughness.max() <= 0.85
    # the T-zone is glossier than the cheeks
    lay = skin_maps.layout(head)
    up = n // skin_maps.MASK_SIZE
    tz = np.kron(lay.masks["tzone"] > 0.6, np.ones((up, up), bool))
    ch = np.kron((lay.masks["cheeks"] > 0.6) & (lay.masks["tzone"] < 0.2), np.ones((up, up), bool))
    assert m.roughness[tz].mean() < m.roughness[ch].mean()
    assert m.specular[tz].mean() > m.specular[ch].mean()


def test_freckles_are_texel_spots_on_the_face(head, samples):
    s = samples[0]
    plain = s.model_copy(update={"skin": s.skin.model_copy(update={"freckles": 0.0})})
    speckled = s.model_copy(update={"skin": s.skin.model_copy(update={"freckles": 1.0})})
    a = skin_maps.skin_maps(plain, head, 400.0).albedo.mean(axis=2)
    b = skin_maps.skin_maps(speckled, head, 400.0).albedo.mean(axis=2)
    darker = b < a - 0.05
    assert 0 < darker.sum() < 0.01 * darker.size  # small spots, not a tint
    face = np.kron(skin_maps.layout(head).masks["face"] > 0.1, np.ones((a.shape[0] // skin_maps.MASK_SIZE,) * 2, bool))
    assert face[darker].mean() > 0.95


# ----------------------------------------------------------------------------- the scene and the back-ends
def test_the_skin_mesh_carries_uvs_and_its_identitys_maps(head, samples):
    scene = compose(_small(samples[0]), head)
    skin = next(m for m in scene.meshes if m.name == "skin")
    assert skin.uvs is not None and skin.uvs.shape == (len(skin.vertices), 2)
    assert skin.normals is not None and skin.vertex_colors.shape[0] == len(skin.vertices)
    assert isinstance(skin.material.maps, SurfaceMaps)
    for name, values in (skin.attributes or {}).items():
        assert len(values) == len(skin.vertices), name
    assert int(skin.faces.max()) + 1 == len(skin.vertices)  # every copy is used by a face


def _flat(maps: SurfaceMaps, roughness: float) -> SurfaceMaps:
    n = maps.size
    normal = np.zeros((n, n, 3), np.float32)
    normal[..., 2] = 1.0
    return SurfaceMaps(
        albedo=np.ones((n, n, 3), np.float32),
        normal=normal,
        roughness=np.full((n, n), roughness, np.float32),
        specular=np.ones((n, n), np.float32),
        key="flat",
    )


def _with_skin_maps(scene, maps):
    meshes = tuple(
        replace(m, material=replace(m.material, maps=maps(m.material))) if m.name == "skin" else m for m in scene.meshes
    )
    return replace(scene, meshes=meshes)


@pytest.mark.slow
def test_the_fast_back_end_shades_with_the_maps_and_keeps_the_labels(head, samples):
    pytest.importorskip("pyrender")
    from facefarm.render.pyrender.renderer import PyrenderRenderer

    scene = compose(_small(samples[0], 128), head)
    flat = _with_skin_maps(scene, lambda mat: _flat(mat.maps, mat.roughness))
    none = replace(
        scene,
        meshes=tuple(replace(m, uvs=None) if m.name == "skin" else m for m in scene.meshes),
    )
    r = PyrenderRenderer()
    try:
        detailed, plain, unmapped = r.render(scene), r.render(flat), r.render(none)
    finally:
        r.close()
    for other in (plain, unmapped):
        assert np.array_equal(detailed.segmentation, other.segmentation)
        assert np.array_equal(detailed.depth, other.depth)
    skin = detailed.segmentation == 1
    assert skin.sum() > 500
    diff = np.abs(detailed.rgb.astype(int) - plain.rgb.astype(int)).sum(axis=2)
    assert (diff[skin] > 3).mean() > 0.2  # the maps change most skin pixels
    # flat maps shade as the unmapped variant does (per-fragment display of the same light)
    close = np.abs(plain.rgb.astype(int) - unmapped.rgb.astype(int))
    assert np.median(close[skin]) <= 1 and close[skin].mean() < 2.0


@pytest.mark.blender
def test_cycles_shades_with_the_maps_and_keeps_the_labels(head, samples, cycles_renderer):
    scene = compose(_small(samples[0], 64), head)
    flat = _with_skin_maps(scene, lambda mat: _flat(mat.maps, mat.roughness))
    detailed, plain = cycles_renderer.render(scene), cycles_renderer.render(flat)
    assert np.array_equal(detailed.segmentation, plain.segmentation)
    skin = detailed.segmentation == 1
    diff = np.abs(detailed.rgb.astype(int) - plain.rgb.astype(int)).sum(axis=2)
    assert diff[skin].mean() > 2.0
