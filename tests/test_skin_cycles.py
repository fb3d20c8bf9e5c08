"""Cycles shades the skin's fold depth as relief and cuts lash cards into see-through strands."""

from __future__ import annotations

import numpy as np
import pytest

from facefarm.geometry.camera import Camera, intrinsics, look_at
from facefarm.scene.lighting import direction_pose
from facefarm.scene.model import (
    LASH_COVER_ATTRIBUTE,
    LASH_STRAND_ATTRIBUTE,
    WRINKLE_ATTRIBUTE,
    Environment,
    Landmarks,
    Light,
    Material,
    Mesh,
    Scene,
)

pytestmark = pytest.mark.blender
W = H = 64


def _grid(size: float, n: int, z: float = 0.0):
    """(n*n, 3) vertices and (2(n-1)^2, 3) faces of a square facing +z, centred on the axis."""
    t = np.linspace(-size / 2, size / 2, n)
    x, y = np.meshgrid(t, t)
    v = np.stack([x.ravel(), y.ravel(), np.full(n * n, z)], 1).astype(np.float32)
    i = np.arange(n * n).reshape(n, n)
    a, b, c, d = i[:-1, :-1].ravel(), i[:-1, 1:].ravel(), i[1:, 1:].ravel(), i[1:, :-1].ravel()
    f = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)]).astype(np.int32)
    return v, f


def _scene(meshes, lights=(), background=(0.0, 0.0, 0.0)) -> Scene:
    cam = Camera(intrinsics(50.0, 36.0, W, H), look_at(np.array([0.0, 0.0, 0.12]), np.zeros(3)), W, H)
    env = Environment(None, intensity=0.05, color=(1.0, 1.0, 1.0), background=background)
    return Scene(
        meshes=tuple(meshes),
        camera=cam,
        environment=env,
        lights=tuple(lights),
        landmarks=Landmarks(np.zeros((0, 3)), ()),
        head_pose=np.eye(4),
    )


def test_wrinkle_attribute_shades_folds(cycles_renderer):
    v, f = _grid(0.1, 81)
    skin = Material("skin", "skin", base_color=(0.6, 0.45, 0.4), subsurface=0.0)
    # grooves 16 mm apart running along x, lit from above at a grazing angle
    grooves = (0.5 + 0.5 * np.cos(2 * np.pi * v[:, 1] / 0.016)) ** 4
    light = Light("directional", (1.0, 1.0, 1.0), 4.0, direction_pose(0.0, 70.0))
    imgs = []
    for depth in (np.zeros(len(v)), grooves):
        mesh = Mesh(
            "skin", v, f, np.ones(len(f), np.uint8), skin, attributes={WRINKLE_ATTRIBUTE: depth.astype(np.float32)}
        )
        imgs.append(cycles_renderer.render(_scene([mesh], [light])).rgb.astype(float).mean(-1))
    diff = imgs[1] - imgs[0]
    across, along = diff.mean(axis=1), diff.mean(axis=0)  # rows cross the grooves, columns follow them
    assert across.std() > 4.0, across.std()
    assert across.std() > 4 * along.std(), (across.std(), along.std())


def test_lash_cards_are_partly_transparent_strands(cycles_renderer):
    back_v, back_f = _grid(0.2, 2, z=-0.02)
    card_v, card_f = _grid(0.1, 41)
    white = Mesh(
        "wall",
        back_v,
        back_f,
        np.ones(len(back_f), np.uint8),
        Material("wall", "marker", base_color=(1.0, 1.0, 1.0), emission=1.0),
    )
    lash = Material("lash", "lash", base_color=(0.01, 0.01, 0.01), roughness=0.6)
    means = {}
    for cover in (1.0, 0.5):
        attrs = {
            LASH_STRAND_ATTRIBUTE: (card_v[:, 0] / 0.005).astype(np.float32),  # strands 5 mm apart
            LASH_COVER_ATTRIBUTE: np.full(len(card_v), cover, np.float32),
        }
        card = Mesh("lash", card_v, card_f, np.full(len(card_f), 3, np.uint8), lash, attributes=attrs)
        rgb = cycles_renderer.render(_scene([white, card])).rgb.astype(float).mean(-1)
        means[cover] = rgb
    full, half = means[1.0].mean(), means[0.5]
    assert full < 40, full  # a fully covered card hides the wall
    assert 0.25 * 255 < half.mean() < 0.75 * 255, half.mean()  # half covered: see-through gaps
    cols = half[H // 4 : 3 * H // 4].mean(axis=0)
    assert cols.max() - cols.min() > 100  # in strands across x, not a uniform veil
