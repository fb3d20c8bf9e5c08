"""geometry.vectors: the component-wise dot, length and cross products give numpy's own results,
bit for bit (compose's scenes stayed byte-identical when it switched to them)."""

import numpy as np
import pytest

from facefarm.geometry import vectors


@pytest.mark.parametrize("shape", [(1000, 3), (40, 24, 3), (500, 2), (7, 5, 2)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dot_and_length_match_numpy_bit_for_bit(shape, dtype):
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=shape).astype(dtype), rng.normal(size=shape).astype(dtype)
    assert np.array_equal(vectors.dot(a, b), (a * b).sum(-1))
    assert np.array_equal(vectors.dot(a, b, keepdims=True), (a * b).sum(-1, keepdims=True))
    assert np.array_equal(vectors.length(a), np.linalg.norm(a, axis=-1))
    assert np.array_equal(vectors.length(a[::2], keepdims=True), np.linalg.norm(a[::2], axis=-1, keepdims=True))
    assert np.array_equal(vectors.unit(a), a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-20))
    # broadcasting one vector against many
    assert np.array_equal(vectors.dot(a, b[(0,) * (len(shape) - 1)]), (a * b[(0,) * (len(shape) - 1)]).sum(-1))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_matches_numpy_bit_for_bit(dtype):
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(300, 6, 3)).astype(dtype), rng.normal(size=(300, 6, 3)).astype(dtype)
    assert np.array_equal(vectors.cross(a, b), np.cross(a, b))
    assert np.array_equal(vectors.cross(a, b[0, 0]), np.cross(a, b[0, 0]))
    assert vectors.cross(a, b).dtype == dtype


def test_long_or_mismatched_axes_are_refused():
    with pytest.raises(ValueError, match="small vectors"):
        vectors.dot(np.zeros((4, 8)), np.zeros((4, 8)))
    with pytest.raises(ValueError, match="small vectors"):
        vectors.dot(np.zeros((4, 3)), np.zeros((4, 2)))
