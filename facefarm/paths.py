"""Where facefarm's files live: the assets shipped inside the package, and the cache for what it builds.

``ASSETS`` is package data (schemas, landmark definitions, catalogs, hair styles, glasses families,
the example user asset): it is read, never written. What facefarm downloads or compiles (the pinned
CC0 template-head wheel, the compiled head asset) goes to ``HOME``: ``$FACEFARM_HOME`` when set,
else the per-user cache directory (``~/.cache/facefarm`` on Linux). A checkout's Makefile sets
``FACEFARM_HOME=build`` so a development tree keeps its builds beside it.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

#: The installed package (the folder holding this file).
PACKAGE = Path(__file__).resolve().parent
#: Hand-authored assets shipped with the package (schemas, landmark definitions, catalogs, manifest).
ASSETS = PACKAGE / "assets"
#: Shipped example catalogs (``facefarm catalog example NAME`` prints one).
CATALOGS = ASSETS / "catalogs"


def home() -> Path:
    """The folder for downloads and compiled assets: ``$FACEFARM_HOME`` (``$FACEFARM_BUILD``, its
    older name, is honoured too), else the user's cache directory. Read at each call, so a test or
    a worker can point it elsewhere."""
    for var in ("FACEFARM_HOME", "FACEFARM_BUILD"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser().resolve()
    return Path(platformdirs.user_cache_dir("facefarm", appauthor=False))
