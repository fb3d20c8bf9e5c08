"""tools/identity_probe.py: its regions are where the landmarks say, and its swaps cover the identity."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
probe = pytest.importorskip("tools.identity_probe")


def test_hull_mask_covers_its_points_and_grows():
    pts = np.array([[40.0, 40.0], [60.0, 40.0], [60.0, 50.0], [40.0, 50.0]])
    tight = probe._hull_mask((100, 100), pts, 0)
    grown = probe._hull_mask((100, 100), pts, 5)
    assert tight[45, 50] and not tight[45, 30] and not tight[20, 50]
    assert grown[tight].all() and grown.sum() > tight.sum() + 4 * 20  # grown on every side
    assert grown[45, 36] and not grown[45, 30]


@pytest.mark.slow  # renders four images
def test_swapping_every_group_makes_the_other_identity():
    """The swap table is only meaningful if its groups are the whole identity: A with every group of B
    is B, image for image (the same descriptor), and a re-render of A is A."""
    pytest.importorskip("dlib")
    p = probe.Probe(seed=0, resolution=96)
    try:
        a, b = p.identity(0), p.identity(1)
        da, db = p.embed(a), p.embed(b)
        all_of_b = a.model_copy(update={f: getattr(b, f) for fields in probe.GROUPS.values() for f in fields})
        assert np.linalg.norm(p.embed(all_of_b) - db) < 1e-6
        assert np.linalg.norm(p.embed(a) - da) < 1e-6
        assert np.linalg.norm(da - db) > 0.1  # two identities are not one
    finally:
        p.close()
