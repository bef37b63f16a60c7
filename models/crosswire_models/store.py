"""The installed-models store: one folder per model with a `crosswire.json` manifest.

Installs are atomic: a model is built in a staging folder inside the models
folder and renamed into place, so a reader never sees a half-installed model
and a failure leaves nothing behind.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crosswire.types import LANGUAGE_CODE

from crosswire_models.errors import InvalidModelError, ModelExistsError, UnknownModelError

log = logging.getLogger("crosswire.models")

MODELS_DIR_ENV = "CROSSWIRE_MODELS_DIR"
MANIFEST = "crosswire.json"
MANIFEST_VERSION = 1
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_STAGING_PREFIX = "."


@dataclass(frozen=True)
class InstalledModel:
    """A model ready to load: where its CTranslate2 and SentencePiece files are, and what it translates."""

    name: str
    path: Path  # the installed model's folder
    model_path: Path  # the CTranslate2 model folder (model.bin, config.json, vocabularies)
    source_spm: Path  # sentencepiece model for the source side
    target_spm: Path  # sentencepiece model for the target side (may equal source_spm)
    pairs: list[tuple[str, str]]  # (source, target) ISO 639-1 codes
    quantization: str  # e.g. "int8"
    license: str
    source: str  # URL or file it came from
    converter: str = "none"  # the ctranslate2 converter used at install time, or "none"


def default_models_dir() -> Path:
    """`$CROSSWIRE_MODELS_DIR`, else `crosswire/models` under the user's data folder."""
    configured = os.environ.get(MODELS_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_data_path

    return user_data_path("crosswire") / "models"


def check_name(name: str) -> str:
    """Return `name` if it can name a model folder, else raise a clear error."""
    if not _NAME.fullmatch(name):
        raise InvalidModelError(
            f"invalid model name {name!r}: use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def parse_pair(text: str) -> tuple[str, str]:
    """'ru-en' (or 'ru_en', 'ru:en') → ('ru', 'en'); raises on anything else."""
    parts = re.split(r"[-_:>]", text.strip().lower())
    if len(parts) != 2 or not all(LANGUAGE_CODE.fullmatch(p) for p in parts):
        raise InvalidModelError(f"invalid language pair {text!r}: expected SOURCE-TARGET, e.g. ru-en")
    return parts[0], parts[1]


def format_pairs(pairs: list[tuple[str, str]]) -> str:
    """[('ru', 'en')] → 'ru-en'."""
    return ", ".join(f"{s}-{t}" for s, t in pairs)


def read_model(folder: Path) -> InstalledModel:
    """The installed model in `folder`, from its manifest; raises InvalidModelError if it is incomplete."""
    manifest_path = folder / MANIFEST
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
        model = InstalledModel(
            name=data["name"],
            path=folder,
            model_path=folder / data["model"],
            source_spm=folder / data["source_spm"],
            target_spm=folder / data["target_spm"],
            pairs=[(s, t) for s, t in data["pairs"]],
            quantization=data["quantization"],
            license=data["license"],
            source=data["source"],
            converter=data.get("converter", "none"),
        )
    except FileNotFoundError:
        raise InvalidModelError(f"{folder} is not an installed model: {MANIFEST} is missing") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidModelError(f"{manifest_path} is unreadable: {exc!r}") from None
    missing = [p for p in (model.model_path / "model.bin", model.source_spm, model.target_spm) if not p.is_file()]
    if missing:
        raise InvalidModelError(f"installed model {folder} is incomplete: {', '.join(map(str, missing))} missing")
    return model


def installed_models(models_dir: Path) -> list[InstalledModel]:
    """Every complete model in `models_dir`, sorted by name; staging folders and broken installs are skipped."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return []
    models = []
    for folder in sorted(models_dir.iterdir()):
        if folder.name.startswith(_STAGING_PREFIX) or not folder.is_dir():
            continue
        try:
            models.append(read_model(folder))
        except InvalidModelError as exc:
            log.warning("skipping %s: %s", folder, exc)
    return sorted(models, key=lambda m: m.name)


def find_model(models_dir: Path, name: str) -> InstalledModel | None:
    """The installed model called `name`, or None."""
    folder = Path(models_dir) / check_name(name)
    if not (folder / MANIFEST).is_file():
        return None
    return read_model(folder)


@contextmanager
def staging(models_dir: Path, purpose: str) -> Iterator[Path]:
    """A scratch folder inside `models_dir` (same file system, so installs can rename), removed on exit."""
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"{_STAGING_PREFIX}staging-{purpose}-", dir=models_dir))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def ensure_free(models_dir: Path, name: str) -> None:
    """Raise ModelExistsError if a model called `name` is already installed in `models_dir`."""
    if (Path(models_dir) / name).exists():
        raise ModelExistsError(f"a model named {name} is already installed in {models_dir} (replace it with --force)")


def install(built: Path, models_dir: Path, manifest: dict[str, Any], replace: bool = False) -> InstalledModel:
    """Write the manifest into the finished folder `built` and rename it to `models_dir/<name>`.

    `built` must lie inside `models_dir` (see `staging`). With `replace`, an
    existing model of that name is swapped out; otherwise it is an error.
    """
    name = check_name(manifest["name"])
    (built / MANIFEST).write_text(
        json.dumps({"format": MANIFEST_VERSION, **manifest}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    read_model(built)  # the manifest must describe files that are really there
    target = Path(models_dir) / name
    if not replace:
        ensure_free(models_dir, name)
    retired = _retire(target) if target.exists() else None
    try:
        built.rename(target)
    except OSError:  # another process installed it meanwhile
        ensure_free(models_dir, name)
        raise
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
    log.info("installed model %s in %s", name, target)
    return read_model(target)


def remove_model(models_dir: Path, name: str) -> None:
    """Uninstall `name`: renamed out of sight first, so readers never see a half-deleted model."""
    target = Path(models_dir) / check_name(name)
    if not target.is_dir():
        raise UnknownModelError(f"no model named {name} is installed in {models_dir}")
    shutil.rmtree(_retire(target))


def _retire(target: Path) -> Path:
    """Rename an installed folder to a hidden name (which listings skip) before deleting it."""
    retired = target.with_name(f"{_STAGING_PREFIX}retired-{target.name}-{uuid.uuid4().hex[:8]}")
    target.rename(retired)
    return retired
