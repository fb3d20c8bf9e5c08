"""Fixtures of the robustness tests: a tiny finished render (one per session) and private copies of it."""

from __future__ import annotations

import pytest
from robust_support import base_render, copy_of


@pytest.fixture
def spec(tmp_path_factory, head_asset):
    return base_render(tmp_path_factory)[0]


@pytest.fixture
def dataset(tmp_path_factory, tmp_path, head_asset):
    """A private copy of the session's tiny render, safe to damage."""
    return copy_of(base_render(tmp_path_factory)[1], tmp_path / "dataset")
