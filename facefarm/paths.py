"""Where the project's files live: committed assets, the build cache, downloads."""

from __future__ import annotations

import os
from pathlib import Path

#: Repository root (the folder holding ``assets/``).
ROOT = Path(__file__).resolve().parent.parent
#: Committed, hand-authored assets (schemas, landmark definitions, catalogs, manifest).
ASSETS = ROOT / "assets"
#: Git-ignored folder for compiled assets and downloads; override with FACEFARM_BUILD.
BUILD = Path(os.environ.get("FACEFARM_BUILD", ROOT / "build"))
