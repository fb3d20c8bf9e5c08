"""The ``facefarm`` command line: one sub-command module per verb, registered below."""

from __future__ import annotations

import argparse
import importlib
import sys

from facefarm import __version__

# verb -> module exposing ``add_parser(subparsers)``; the parser sets ``func(args) -> int``.
COMMANDS = {
    "assets": "facefarm.cli.assets",
    "catalog": "facefarm.cli.catalog",
    "render": "facefarm.cli.render",
    "submit": "facefarm.cli.submit",  # also adds `status`
    "export": "facefarm.cli.export",
    "audit": "facefarm.cli.audit",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facefarm", description="Labelled synthetic human faces from a catalog of attributes."
    )
    parser.add_argument("--version", action="version", version=f"facefarm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS.values():
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
