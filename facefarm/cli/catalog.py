"""``facefarm catalog validate|plan|schema|resolve|details|example``: check a catalog spec, show what a
dataset of N would hold and cost before rendering it, print (and regenerate) the JSON Schemas, show a
sample, list the head's identity details, print a shipped catalog.

Bad input never produces a traceback: every problem is printed with its JSON path and what
to change, and the exit status is 1.
"""

from __future__ import annotations

import json
import os
import sys
import time
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

    pl = s.add_parser(
        "plan",
        help="without rendering: stated vs planned marginals of every attribute, the plan's cells, "
        "estimated disk size and CPU/GPU time",
        description="Resolve all N samples of the dataset (catalog, seed, N) and print, per attribute, what the "
        "catalog states against what the N samples hold; the strata and quota cells the plan fills; and "
        "estimates of disk size and render time from measured tables. Renders nothing.",
    )
    pl.add_argument("spec", help="catalog-spec JSON file")
    pl.add_argument(
        "-n", "--n-total", type=int, default=None, help="dataset size N (default: the catalog's size, else 16)"
    )
    pl.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    add_set_argument(pl)
    pl.add_argument("--json", action="store_true", help="print the whole plan as one JSON object")
    pl.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes that resolve the samples (default: one per core above 20,000 samples, else one)",
    )
    pl.add_argument(
        "--cores",
        type=int,
        default=None,
        help="cores to spread the render-time estimate over (default: this machine's)",
    )
    pl.set_defaults(func=_plan)

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


def plan_report(cat, seed: int, n: int, workers: int | None = None, cores: int | None = None) -> dict:
    """What ``catalog plan --json`` prints: marginals, cells, disk and time estimates of (cat, seed, n)."""
    from facefarm.catalog import catalog_hash
    from facefarm.catalog.attributes import ATTRIBUTES
    from facefarm.catalog.marginals import cells, levels, planned_counts, stated_counts
    from facefarm.farm import estimate

    t0 = time.perf_counter()
    planned = planned_counts(cat, seed, n, workers=workers)
    seconds = time.perf_counter() - t0
    stated = stated_counts(cat, seed, n)
    by_plan = {f.attribute: "stratified" for f in cat.sampling.stratify_by if cat.sampling.mode == "stratified"}
    for q in cat.sampling.quotas:
        for a in q.where:
            by_plan.setdefault(a, "quota")
    marginals = {}
    for a, attr in ATTRIBUTES.items():
        names = levels(cat, a)
        names += sorted(set(planned[a]) - set(names))
        st = stated[a]
        marginals[a] = {
            "scope": attr.scope,
            "planned_by": by_plan.get(a),
            "levels": {
                lv: {"stated": None if st is None else round(st.get(lv, 0.0), 3), "planned": planned[a].get(lv, 0)}
                for lv in names
            },
        }
    resolution = tuple(cat.render.resolution)
    disk = estimate.disk(n, resolution, cat.outputs.image_format)
    cores = cores or os.cpu_count() or 1
    return {
        "catalog": cat.name,
        "catalog_hash": catalog_hash(cat),
        "seed": seed,
        "n": n,
        "resolve_seconds": round(seconds, 3),
        "marginals": marginals,
        "cells": [{"levels": c.levels, "quota": c.quota, "count": c.count} for c in cells(cat, seed, n)],
        "disk": {
            "image_format": cat.outputs.image_format,
            "resolution": list(resolution),
            "bytes_per_file": disk.per_file,
            "bytes_per_sample": disk.per_sample,
            "bytes": disk.total,
            "source": disk.source,
        },
        "time": {
            "backend": cat.render.backend,
            "cores": cores,
            "source": estimate.TIME_SOURCE,
            "estimates": [
                {
                    "backend": t.backend,
                    "machine": t.machine,
                    "cpu_seconds_per_sample": round(t.cpu_s, 3),
                    "core_hours": round(n * t.cpu_s / 3600.0, 3),
                    "hours_on_cores": round(t.hours(n, cores), 3),
                    "note": t.note,
                }
                for t in estimate.times(resolution, cat.render.samples)
            ],
        },
    }


def _plan(args) -> int:
    from facefarm.cli.render import load_checked

    cat, problems = load_checked(args.spec, n=args.n_total, seed=max(args.seed, 0), overrides=args.overrides)
    if cat is None or problems:
        return _print_problems(args.spec, problems)
    n = args.n_total if args.n_total is not None else (cat.size or 16)
    if n < 1 or args.seed < 0:
        print(f"INVALID {args.spec}: -n must be >= 1 and --seed >= 0 (got {n}, {args.seed})")
        return 1
    if args.workers is not None and args.workers < 1:
        print(f"facefarm catalog plan: --workers must be >= 1 (got {args.workers})", file=sys.stderr)
        return 1
    report = plan_report(cat, args.seed, n, workers=args.workers, cores=args.cores)
    if args.json:
        print(json.dumps(report, indent=1, sort_keys=True))
    else:
        sys.stdout.write(plan_text(cat, report))
    return 0


def plan_text(cat, report: dict) -> str:
    """The human-readable form of :func:`plan_report`."""
    from facefarm.farm.estimate import human_bytes

    n = report["n"]
    s = cat.sampling
    how = s.mode + (f" over {' x '.join(f.attribute for f in s.stratify_by)}" if s.stratify_by else "")
    out = [
        f"plan of {cat.name or '(unnamed)'!r} (hash {report['catalog_hash'][:12]}), seed {report['seed']}, N = {n}: "
        f"{how}, {len(s.quotas)} quota row(s), {len(s.constraints)} rule(s)",
        f"resolved all {n} samples in {report['resolve_seconds']:.1f} s; stated = what the catalog states (expected "
        "samples), planned = what the N samples hold",
        "",
        f"  {'attribute / level':<34}{'stated':>16}{'planned':>16}",
    ]

    def pct(x: float) -> str:
        return f"{100.0 * x / n:5.1f}%"

    for a, m in report["marginals"].items():
        tag = m["scope"] + (f", {m['planned_by']}" if m["planned_by"] else "")
        no_share = all(v["stated"] is None for v in m["levels"].values())
        out.append(
            f"{a} ({tag})" + (": no share of its own (follows ancestry, age and gender priors)" if no_share else "")
        )
        for lv, v in m["levels"].items():
            st = "-" if v["stated"] is None else f"{v['stated']:.1f} {pct(v['stated'])}"
            out.append(f"  {lv:<34}{st:>16}{v['planned']:>9d} {pct(v['planned'])}")
    cells = report["cells"]
    if cells:
        sizes = [c["count"] for c in cells if c["quota"] is None]
        out += [
            "",
            f"cells the plan fills: {len(cells)}"
            + (f": {len(sizes)} of {min(sizes)}-{max(sizes)} samples" if sizes else "")
            + (
                f", and {len(cells) - len(sizes)} where quota rows meet them"
                if sizes and len(cells) > len(sizes)
                else ""
            ),
        ]
        shown = cells if len(cells) <= 40 else cells[:20] + [c for c in cells[20:] if c["quota"] is not None]
        for c in shown:
            levels = " ".join(f"{k}={json.dumps(v)}" for k, v in sorted(c["levels"].items()))
            row = f"quota #{c['quota']}: " if c["quota"] is not None else ""
            out.append(f"  {row + levels:<70}{c['count']:>8d}")
        if len(shown) < len(cells):
            out.append(f"  ... {len(cells) - len(shown)} more (--json lists them all)")
    d = report["disk"]
    w, h = d["resolution"]
    files = ", ".join(f"{k} {human_bytes(v)}" for k, v in d["bytes_per_file"].items())
    out += [
        "",
        f"disk (estimate): {n} x {human_bytes(d['bytes_per_sample'])} = {human_bytes(d['bytes'])} "
        f"({d['image_format']} {w}x{h}: {files})",
        f"  table {d['source']}",
        f"time (estimate, {report['time']['source']}); the catalog renders with {report['time']['backend']}:",
    ]
    cores = report["time"]["cores"]
    for t in report["time"]["estimates"]:
        out.append(
            f"  {t['backend'] + ' on ' + t['machine']:<22}{t['cpu_seconds_per_sample']:>9.2f} CPU-s/sample -> "
            f"{t['core_hours']:.2f} core-hours, {t['hours_on_cores']:.2f} h on {cores} core(s)  ({t['note']})"
        )
    return "\n".join(out) + "\n"


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
