"""``facefarm catalog validate|schema|resolve|details|example``: check a catalog spec, print (and
regenerate) the JSON Schemas, show a sample, list the head's identity details, print a shipped catalog.

Bad input never produces a traceback: every problem is printed with its JSON path and what
to change, and the exit status is 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from facefarm.cli.render import add_set_argument
from facefarm.paths import ASSETS, CATALOGS

SCHEMA_DIR = ASSETS / "schema"
#: Every JSON Schema generated from models: name -> file under facefarm/assets/schema/.
SCHEMA_FILES = {"catalog": "catalog.schema.json", "record": "record.schema.json", "manifest": "manifest.schema.json"}


def add_parser(sub) -> None:
    p = sub.add_parser("catalog", help="validate catalog specs, print their JSON Schema, resolve samples")
    s = p.add_subparsers(dest="catalog_command", required=True)

    v = s.add_parser("validate", help="check a catalog spec; exit 0 with a summary or 1 listing every problem")
    v.add_argument("spec", help="catalog-spec JSON file")
    v.add_argument(
        "-n",
        "--n-total",
        type=int,
        default=None,
        help="dataset size N to check quotas and strata against (default: the catalog's size)",
    )
    add_set_argument(v)
    v.add_argument(
        "--known-assets",
        metavar="JSON",
        default=None,
        help='extra asset ids, {"hdri": [...], "hair_style": [...], ...}, added to the built-in ones',
    )
    v.set_defaults(func=_validate)

    sc = s.add_parser(
        "schema",
        help="print the catalog JSON Schema (generated from the models); --write regenerates every schema file",
    )
    sc.add_argument(
        "--of",
        choices=tuple(SCHEMA_FILES),
        default="catalog",
        help="which schema to print: catalog spec (default), sample label record, manifest.jsonl line",
    )
    sc.add_argument(
        "--write",
        action="store_true",
        help=f"also write all of them to facefarm/assets/schema/ ({', '.join(SCHEMA_FILES.values())})",
    )
    sc.set_defaults(func=_schema)

    r = s.add_parser("resolve", help="print the resolved JSON of samples")
    r.add_argument("spec")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("-i", "--index", type=int, nargs="+", default=[0])
    r.add_argument("-n", "--n-total", type=int, default=None)
    add_set_argument(r)
    r.set_defaults(func=_resolve)

    d = s.add_parser("details", help="list the head model's identity details (for identity.detail_names)")
    d.set_defaults(func=_details)

    e = s.add_parser("example", help="print a catalog shipped with facefarm (start your own from it)")
    e.add_argument(
        "name",
        nargs="?",
        default="default",
        help=f"one of: {', '.join(sorted(p.stem for p in CATALOGS.glob('*.json')))} (default: default)",
    )
    e.set_defaults(func=_example)


def _details(args) -> int:
    from facefarm.catalog.vocabulary import DEFAULT_DETAIL_NAMES
    from facefarm.farm.validate import head_detail_names

    names = head_detail_names()
    if names is None:
        print("facefarm catalog details: the head asset is not built yet; run `facefarm assets build`", file=sys.stderr)
        return 1
    for name in sorted(names):
        print(f"{name}{'  (default)' if name in DEFAULT_DETAIL_NAMES else ''}")
    return 0


def _example(args) -> int:
    path = CATALOGS / f"{args.name}.json"
    if args.name not in {p.stem for p in CATALOGS.glob("*.json")}:
        names = ", ".join(sorted(p.stem for p in CATALOGS.glob("*.json")))
        print(f"facefarm catalog example: no shipped catalog {args.name!r}; use one of: {names}", file=sys.stderr)
        return 1
    sys.stdout.write(path.read_text(encoding="utf-8"))
    return 0


def _known_assets(path: str | None) -> tuple[dict[str, set[str]], list[str]]:
    """Extra asset ids from ``--known-assets`` (added to what this installation can build)."""
    known: dict[str, set[str]] = {}
    if path is None:
        return known, []
    try:
        extra = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        return known, [f"--known-assets {path}: {e}"]
    if not isinstance(extra, dict) or not all(isinstance(v, list) for v in extra.values()):
        return known, [f"--known-assets {path}: expected an object of lists of ids"]
    for kind, ids in extra.items():
        known.setdefault(kind, set()).update(map(str, ids))
    return known, []


def _print_problems(source: str, problems) -> int:
    print(f"INVALID {source}: {len(problems)} problem{'s' if len(problems) != 1 else ''}")
    for p in problems:
        print(f"  {p.path}: {p.message}")
    return 1


def _validate(args) -> int:
    try:
        return _validate_inner(args)
    except Exception as e:  # noqa: BLE001 - the promise is: no traceback, ever
        print(
            f"INVALID {args.spec}: internal error while validating ({type(e).__name__}: {e}); "
            f"please report it with the spec",
            file=sys.stderr,
        )
        return 1


def _validate_inner(args) -> int:
    from facefarm.catalog import catalog_hash
    from facefarm.farm.validate import head_detail_names, validate_spec

    extra, errors = _known_assets(args.known_assets)
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    cat, problems = validate_spec(args.spec, n=args.n_total, extra_assets=extra, overrides=args.overrides)
    n = args.n_total if args.n_total is not None else (cat.size if cat is not None else None)
    if cat is None:
        return _print_problems(args.spec, problems)
    s = cat.sampling
    mode = s.mode + (f" over {', '.join(f.attribute for f in s.stratify_by)}" if s.stratify_by else "")
    print(
        f"OK {args.spec}: catalog {cat.name or '(unnamed)'!r} v{cat.catalog_version}, hash {catalog_hash(cat)[:12]}, "
        f"N={n if n is not None else 'unset'}, {mode}, {len(s.quotas)} quota(s), {len(s.constraints)} rule(s), "
        f"{cat.identity.images_per_identity} image(s)/identity, {len(cat.ancestry.taxonomy.labels)} ancestry labels, "
        f"{cat.render.backend} {cat.render.resolution[0]}x{cat.render.resolution[1]}"
        + (
            ""
            if head_detail_names() is not None
            else " (head asset not built yet: identity.detail_names not checked; run `facefarm assets build`)"
        )
    )
    return 0


def schema_text(of: str = "catalog") -> str:
    """The JSON text of schema ``of`` (a key of :data:`SCHEMA_FILES`), as ``--write`` writes it."""
    from facefarm.catalog import catalog_json_schema
    from facefarm.sample.record import manifest_json_schema, record_json_schema

    make = {"catalog": catalog_json_schema, "record": record_json_schema, "manifest": manifest_json_schema}[of]
    return json.dumps(make(), indent=2, sort_keys=True) + "\n"


def _schema(args) -> int:
    sys.stdout.write(schema_text(args.of))
    if args.write:
        for of, name in SCHEMA_FILES.items():
            path = SCHEMA_DIR / name
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(schema_text(of), encoding="utf-8")
            tmp.replace(path)  # atomic: a reader never sees half a schema
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _resolve(args) -> int:
    from facefarm.catalog import ResolveError, check_catalog, resolve
    from facefarm.catalog.problems import CatalogError

    cat, problems = check_catalog(args.spec, args.overrides)
    if cat is None:
        return _print_problems(args.spec, problems)
    try:
        for i in args.index:
            print(json.dumps(resolve(cat, args.seed, i, args.n_total).model_dump(mode="json"), sort_keys=True))
    except (ResolveError, CatalogError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0
