"""Shared fixtures: the compiled head asset (built once per session) and a small Cycles renderer."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def head_asset():
    """Path of the compiled head .npz for the current inputs (downloads the pinned wheel once)."""
    from facefarm.head.build.compiler import build

    return build()


@pytest.fixture(scope="session")
def head(head_asset):
    """The loaded :class:`~facefarm.head.model.HeadModel`."""
    from facefarm.head.model import HeadModel

    return HeadModel.load(head_asset)


@pytest.fixture(scope="module")
def cycles_renderer():
    """A Cycles renderer for small test images: CPU, 8 samples, no denoiser, the plain sRGB view
    (so pixel values can be checked against radiometry); one per test module."""
    pytest.importorskip("bpy")
    from facefarm.render.cycles.renderer import CyclesRenderer

    r = CyclesRenderer(device="cpu", samples=8, denoise=False, view_transform="Standard")
    yield r
    r.close()


def pytest_sessionfinish(session, exitstatus):
    """`make test-fast` promises no Blender and no Ray: hold it to that (FACEFARM_TEST_FAST=1)."""
    import os
    import sys

    if os.environ.get("FACEFARM_TEST_FAST") == "1" and exitstatus == 0:
        heavy = [m for m in ("bpy", "ray") if m in sys.modules]
        if heavy:
            print(
                f"\nmake test-fast imported {', '.join(heavy)}: mark the test that needs it slow or blender",
                file=sys.stderr,
            )
            session.exitstatus = 1
