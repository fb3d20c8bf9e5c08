"""The fast back-end draws the same pixels on a busy machine.

llvmpipe runs part of its work on rasteriser threads; when the CPU is shared (two workers, or
anything else running), their timing changes. A sample's image must not. Two processes that do
nothing but spin keep both cores busy while fresh renderers draw real samples in every HDRI
(each its first render there, when the HDRI's textures are uploaded).
"""

from __future__ import annotations

import os
import subprocess
import sys

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from facefarm.catalog import Catalog, resolve  # noqa: E402
from facefarm.catalog.vocabulary import HDRI_IDS  # noqa: E402
from facefarm.compose.compositor import compose
from facefarm.scene.model import RASTER_STRANDS  # noqa: E402

pytestmark = pytest.mark.slow

RUNS = 4


@pytest.fixture
def busy_cpu():
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)]
    yield
    for h in hogs:
        h.kill()
        h.wait()


def test_first_renders_in_each_hdri_are_the_same_on_a_busy_machine(head, busy_cpu):
    from facefarm.render.pyrender.renderer import PyrenderRenderer

    scenes = []
    for k, hdri in enumerate(HDRI_IDS):
        cat = Catalog.model_validate(
            {
                "catalog_version": 1,
                "render": {"resolution": [96, 96]},
                "lighting": {"hdri": {"kind": "categorical", "weights": {hdri: 1}}},
            }
        )
        scenes.append(compose(resolve(cat, seed=7, index=k), head, RASTER_STRANDS))
    runs = []
    for _ in range(RUNS):
        with PyrenderRenderer() as r:
            runs.append([r.render(sc).rgb for sc in scenes])
    differ = [
        (hdri, run)
        for run in range(1, RUNS)
        for hdri, a, b in zip(HDRI_IDS, runs[0], runs[run])
        if not np.array_equal(a, b)
    ]
    assert differ == [], f"(hdri, run) whose image differs from the first run's: {differ}"
