"""`crosswire models list|fetch|import|remove`: manage the installed translation models."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from crosswire.cli import CLIError, require_server_side


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models", help="list, fetch, import or remove translation models",
        description="Manage the models folder: fetch a known model where a network exists, "
        "import one from a file otherwise.",
    )  # fmt: skip
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser(
        "list", help="show the installed models",
        description="List the models installed in the models folder (name, language pairs, quantization, "
        "licence, where it came from), or with --available the models `fetch` knows.",
    )  # fmt: skip
    listing.add_argument("--available", action="store_true", help="show the models that can be fetched instead")
    listing.set_defaults(run=_with_models_dir(run_list))

    fetch = actions.add_parser(
        "fetch", help="download a known model and install it as CTranslate2 int8",
        description="Download NAME from its source in the registry, check its checksum, convert it to "
        "CTranslate2 int8 and install it atomically. Without a network, says which file to import instead.",
    )  # fmt: skip
    fetch.add_argument("name", metavar="NAME", help="a model name from `crosswire models list --available`")
    fetch.add_argument("--force", action="store_true", help="fetch again even if it is installed")
    fetch.add_argument("--no-progress", action="store_true", help="no progress bar")
    fetch.set_defaults(run=_with_models_dir(run_fetch))

    importing = actions.add_parser(
        "import", help="install a model from a file or folder",
        description="Install a CTranslate2 model folder (with its SentencePiece model(s) beside it), "
        "an OPUS-MT/Marian release (zip or folder) or an Argos Translate .argosmodel package.",
    )  # fmt: skip
    importing.add_argument("path", metavar="PATH", type=Path, help="the model file or folder")
    importing.add_argument("--name", help="name to install it under (default: from the package)")
    importing.add_argument("--pair", action="append", metavar="SRC-TGT",
                           help="language pair it translates, e.g. ru-en "
                           "(repeatable; default: from the package or its name)")
    importing.add_argument("--license", help="its licence (default: read from its README/LICENSE)")
    importing.add_argument("--force", action="store_true", help="replace an installed model of the same name")
    importing.set_defaults(run=_with_models_dir(run_import))

    remove = actions.add_parser(
        "remove", help="uninstall a model",
        description="Delete the installed model NAME from the models folder (a running server keeps "
        "the models it loaded until it restarts).",
    )  # fmt: skip
    remove.add_argument("name", metavar="NAME", help="a model name from `crosswire models list`")
    remove.set_defaults(run=_with_models_dir(run_remove))

    for sub in (listing, fetch, importing, remove):
        sub.add_argument("--models-dir", type=Path, metavar="DIR",
                         help="the models folder (default: $CROSSWIRE_MODELS_DIR, else under the user's data folder)")


def _with_models_dir(action: Callable[[argparse.Namespace, Path], int]) -> Callable[[argparse.Namespace], int]:
    """Run `action` with the resolved models folder, turning model failures into one-line CLI errors."""

    def run(args: argparse.Namespace) -> int:
        require_server_side()
        from crosswire_models.errors import ModelError
        from crosswire_models.store import default_models_dir

        try:
            return action(args, args.models_dir or default_models_dir())
        except ModelError as exc:
            raise CLIError(str(exc)) from None

    return run


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def run_list(args: argparse.Namespace, models_dir: Path) -> int:
    from crosswire_models.registry import default_registry
    from crosswire_models.store import format_pairs, installed_models

    installed = {m.name: m for m in installed_models(models_dir)}
    if args.available:
        rows = [["NAME", "PAIRS", "DEFAULT", "LICENSE", "INSTALLED", "SOURCES"]]
        for entry in default_registry().models():
            sources = ", ".join(f"{s.kind}:{s.format}" for s in entry.sources)
            rows.append([entry.name, format_pairs(entry.pairs), "yes" if entry.default else "",
                         entry.license, "yes" if entry.name in installed else "", sources])  # fmt: skip
        print(_table(rows))
        return 0
    if not installed:
        print(f"no models installed in {models_dir}; see `crosswire models list --available` "
              "and `crosswire models fetch NAME`", file=sys.stderr)  # fmt: skip
        return 0
    rows = [["NAME", "PAIRS", "QUANTIZATION", "LICENSE", "SOURCE"]]
    rows += [[m.name, format_pairs(m.pairs), m.quantization, m.license, m.source] for m in installed.values()]
    print(_table(rows))
    return 0


def run_fetch(args: argparse.Namespace, models_dir: Path) -> int:
    from crosswire_models.fetch import fetch_model

    model = fetch_model(args.name, models_dir, progress=not args.no_progress, replace=args.force)
    print(f"{model.name} is installed in {model.path}")
    return 0


def run_import(args: argparse.Namespace, models_dir: Path) -> int:
    from crosswire_models.importing import import_model
    from crosswire_models.store import format_pairs, parse_pair

    pairs = [parse_pair(p) for p in args.pair] if args.pair else None
    model = import_model(args.path, models_dir, args.name, pairs=pairs, license=args.license, replace=args.force)
    print(f"{model.name} ({format_pairs(model.pairs)}, {model.quantization}) is installed in {model.path}")
    return 0


def run_remove(args: argparse.Namespace, models_dir: Path) -> int:
    from crosswire_models.store import remove_model

    remove_model(models_dir, args.name)
    print(f"removed {args.name} from {models_dir}")
    return 0
