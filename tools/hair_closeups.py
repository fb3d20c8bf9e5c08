"""Close-ups of hair: the first default samples of a few hair types, rendered at 512 px in a row.

    PYTHONPATH=CHECKOUT python tools/hair_closeups.py out.png [--size 512] [--max-index 400] [--indices I ...]

Resolves default-catalog samples (seed 0) until it has one of each kind below, then renders
them with the fast back-end of the facefarm on ``PYTHONPATH`` (so the same command run against
two checkouts gives a before/after pair). Prints the sample indices it chose.
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

#: kind -> test on a resolved sample
KINDS = {
    "straight long": lambda s: s.hair.style == "long" and s.hair.curl < 0.3 and s.headwear.id == "none",
    "coily short": lambda s: s.hair.style in ("afro", "curly") and s.headwear.id == "none",
    "beard": lambda s: s.facial_hair.style in ("full_beard", "goatee") and s.headwear.id == "none",
    "balding": lambda s: s.hair.style in ("balding", "receding", "short") and s.age_years > 50 and s.gender > 0.5,
}


def pick(catalog, n: int) -> dict[str, int]:
    from facefarm.catalog.resolve import resolve

    out: dict[str, int] = {}
    for i in range(n):
        s = resolve(catalog, 0, i, n)
        for kind, test in KINDS.items():
            try:
                ok = kind not in out and test(s)
            except AttributeError:
                ok = False
            if ok:
                out[kind] = i
                break
        if len(out) == len(KINDS):
            break
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--max-index", type=int, default=400)
    ap.add_argument("--indices", type=int, nargs="*", help="render these sample indices instead")
    a = ap.parse_args()
    from facefarm import paths
    from facefarm.catalog import load_catalog
    from facefarm.sample.renderer import SampleRenderer

    spec = json.loads((paths.ASSETS / "catalogs" / "default.json").read_text())
    spec["render"]["resolution"] = [a.size, a.size]
    catalog = load_catalog(spec)
    chosen = {str(i): i for i in a.indices} if a.indices else pick(catalog, a.max_index)
    print(chosen)
    r = SampleRenderer(catalog)
    tiles = []
    for kind, i in chosen.items():
        _, files = r.render(0, i, a.max_index)
        tiles.append(cv2.imdecode(np.frombuffer(files["image"], np.uint8), cv2.IMREAD_COLOR))
    r.close()
    cv2.imwrite(a.out, np.hstack(tiles))


if __name__ == "__main__":
    main()
