"""``facefarm audit OUT``: write OUT/datasheet/ (datasheet.md, datasheet.json, PNG plots).

Prints where the datasheet is, the sample/identity counts, the file checks and the
largest imbalance between intersectional cells. Exits 1 (one line, no traceback) when
OUT is not a finished dataset or the destination holds files facefarm did not write, and 2
when a file check failed (a file missing, damaged, outside the dataset, or failing its hash or
provenance).
"""

from __future__ import annotations

import json
import sys


def add_parser(sub) -> None:
    p = sub.add_parser(
        "audit", help="write a datasheet (distributions, intersections, contact sheets) for a rendered dataset"
    )
    p.add_argument("dataset", help="dataset root written by `facefarm render`")
    p.add_argument("--dest", default=None, help="datasheet folder (default DATASET/datasheet)")
    p.add_argument("--no-plots", action="store_true", help="write datasheet.md/json only, no PNG plots")
    p.add_argument(
        "--verify",
        action="store_true",
        help="hash and decode every sample's files (default: every file's presence and size, and "
        "hashes of up to 64 samples spread over the dataset)",
    )
    p.set_defaults(func=_audit)


def _audit(args) -> int:
    from contextlib import nullcontext

    from facefarm.dataset.datasheet import write_datasheet
    from facefarm.farm.lock import Locked, dataset_lock
    from facefarm.sample.owned import NotOurs

    try:
        # writing DATASET/datasheet: not while a render writes the dataset
        with dataset_lock(args.dataset, "facefarm audit") if args.dest is None else nullcontext():
            md = write_datasheet(args.dataset, dest=args.dest, plots=not args.no_plots, verify=args.verify)
    except Locked as e:
        print(f"facefarm audit: error: {e} (or write the datasheet elsewhere with --dest)", file=sys.stderr)
        return 1
    except NotOurs as e:
        flag = "choose another --dest" if args.dest else "move it away, or choose another folder with --dest"
        print(
            f"facefarm audit: error: {e}; facefarm replaces only a datasheet folder it wrote: {flag}", file=sys.stderr
        )
        return 1
    except (ValueError, OSError) as e:
        print(f"facefarm audit: {e}", file=sys.stderr)
        return 1
    facts = json.loads(md.with_name("datasheet.json").read_text())
    chk = facts["checks"]
    print(f"datasheet: {md}")
    print(
        f"{facts['n_samples']} samples, {facts['n_identities']} identities; checked {chk['samples_checked']}: "
        f"{chk['files_hash_mismatch']} hash mismatches, "
        f"{chk['samples_checked'] - chk['images_with_provenance']} images without provenance"
    )
    if facts.get("partial"):
        print(facts["partial"])
    if chk["problems"]:
        more = f" and {len(chk['problems']) - 3} more" if len(chk["problems"]) > 3 else ""
        print(f"{len(chk['problems'])} file problem(s): {'; '.join(chk['problems'][:3])}{more} (see datasheet.md)")
    if chk["attribute_warnings"]:
        print(
            f"{len(chk['attribute_warnings'])} sampled attributes not seen in the segmentation, e.g. "
            f"{chk['attribute_warnings'][0]} (see datasheet.md)"
        )
    big = facts["largest_imbalance"]
    if big:
        print(
            f"largest imbalance: {big['table']}: {' / '.join(big['max_cell']['levels'])} = "
            f"{big['max_cell']['count']} vs {' / '.join(big['min_cell']['levels'])} = {big['min_cell']['count']} "
            f"(ratio {big['ratio']:.2f}; {big['empty_cells']} of {big['n_cells']} cells empty)"
        )
        me = big["most_empty"]
        if me["empty_cells"]:
            print(
                f"most empty cells: {me['table']}: {me['empty_cells']} of {me['n_cells']} combinations have no sample"
            )
    return 2 if chk["problems"] else 0
