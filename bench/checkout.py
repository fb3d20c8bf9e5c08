"""What the benches share about the facefarm checkout they measure (``--repo``)."""

from __future__ import annotations

import sys
from pathlib import Path


def import_repo(repo: Path):
    """Import facefarm from ``repo`` (first on sys.path), checking that it is that one."""
    sys.path.insert(0, str(repo))
    import facefarm

    got = Path(facefarm.__file__).resolve().parent.parent
    if got != repo.resolve():
        raise SystemExit(f"facefarm imported from {got}, not {repo}: put {repo} first on PYTHONPATH")
    return facefarm


def merge_spec(base: dict, over: dict) -> dict:
    """``over`` merged into the catalog spec ``base`` (nested objects key by key; keys starting
    with ``_`` are comments and left out)."""
    out = dict(base)
    for k, v in over.items():
        if k.startswith("_"):
            continue
        out[k] = merge_spec(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
