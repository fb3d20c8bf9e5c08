"""The fast back-end's shader cache is private and checked: a planted or half-deleted cache is
rebuilt, never used (a wrong segmentation shader would corrupt every label)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from facefarm.render.pyrender.shaders import _CUSTOM, shader_dir


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEFARM_HOME", str(tmp_path))
    return tmp_path


def test_cache_is_private_and_holds_our_shaders(home):
    d = Path(shader_dir())
    assert d.is_relative_to(home) and stat.S_IMODE(d.stat().st_mode) == 0o700
    for name, text in _CUSTOM.items():
        assert (d / name).read_text() == text
    assert shader_dir() == str(d)  # a good cache is reused


@pytest.mark.parametrize("damage", ["planted", "deleted", "extra", "open_to_others", "symlinked"])
def test_a_damaged_cache_is_rebuilt(home, tmp_path, damage):
    d = Path(shader_dir())
    if damage == "planted":
        (d / "segmentation.frag").write_text("void main() { gl_FragColor = vec4(1.0); }\n")
    elif damage == "deleted":
        (d / "segmentation.frag").unlink()
    elif damage == "extra":
        (d / "evil.frag").write_text("x")
    elif damage == "open_to_others":
        os.chmod(d, 0o777)
    elif damage == "symlinked":
        fake = tmp_path / "fake.frag"
        fake.write_text(_CUSTOM["segmentation.frag"])
        (d / "segmentation.frag").unlink()
        (d / "segmentation.frag").symlink_to(fake)
    again = Path(shader_dir())
    assert again == d
    assert (again / "segmentation.frag").read_text() == _CUSTOM["segmentation.frag"]
    assert not (again / "segmentation.frag").is_symlink() and not (again / "evil.frag").exists()
    assert stat.S_IMODE(again.stat().st_mode) == 0o700
