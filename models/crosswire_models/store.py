"""The installed-models store: one folder per model with a `crosswire.json` manifest.

Installs are atomic: a model is built in a staging folder inside the models
folder and renamed into place, so a reader never sees a half-installed model
and a failure leaves nothing behind. A staging folder carries its process's
id, so one left by a killed process is removed by the next import, fetch or
listing; one lock file per model name keeps two processes from building the
same model at once.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from crosswire.types import LANGUAGE_CODE

from crosswire_models.errors import InvalidModelError, ModelExistsError, UnknownModelError

log = logging.getLogger("crosswire.models")

MODELS_DIR_ENV = "CROSSWIRE_MODELS_DIR"
MANIFEST = "crosswire.json"
MANIFEST_VERSION = 1
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
#: The most an archive may unpack to, and the most files it may hold (the largest OPUS-MT
#: release unpacks to well under 1 GiB in a dozen files).
MAX_ARCHIVE_BYTES = 4 * 2**30
MAX_ARCHIVE_FILES = 10_000
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
    clean_stale(models_dir)
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
    """A scratch folder inside `models_dir` (same file system, so installs can rename), removed on exit.

    Its name carries this process's id (`.staging-import-1234-x8f2`), so that
    `clean_stale` can tell a folder whose process died from one in use.
    """
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    clean_stale(models_dir)
    path = Path(tempfile.mkdtemp(prefix=f"{_STAGING_PREFIX}staging-{purpose}-{os.getpid()}-", dir=models_dir))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


_STALE = re.compile(r"\.staging-[a-z]+-(\d+)-|\.retired-")


def clean_stale(models_dir: Path) -> list[Path]:
    """Remove what killed processes left in `models_dir`: staging folders of dead processes and retired models.

    A retired folder is a model already renamed out of sight for deletion, so it
    can always go. Returns the folders removed.
    """
    removed = []
    for folder in Path(models_dir).glob(f"{_STAGING_PREFIX}*"):
        match = _STALE.match(folder.name)
        if not match or not folder.is_dir() or (match.group(1) and _alive(int(match.group(1)))):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        log.info("removed %s, left by a process that stopped before finishing", folder)
        removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    """Whether a process with this id exists (a process of another user counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def format_size(count: int) -> str:
    """A byte count as people read it: "3.0 MiB", "4.0 GiB"."""
    return f"{count / 2**30:.1f} GiB" if count >= 2**30 else f"{count / 2**20:.1f} MiB"


def copy_at_most(source: BinaryIO, target: BinaryIO, limit: int, name: str) -> None:
    """Copy an archive member, refusing it once it writes more than `limit` bytes (what it declared)."""
    written = 0
    while chunk := source.read(1 << 20):
        written += len(chunk)
        if written > limit:
            raise InvalidModelError(f"archive member {name} unpacks to more than the {limit} bytes it declares")
        target.write(chunk)


_PROCESS_LOCKS: dict[str, threading.RLock] = {}
_DEPTH: dict[str, int] = {}
_REGISTRY = threading.Lock()


@contextmanager
def model_lock(models_dir: Path, key: str) -> Iterator[None]:
    """Hold the lock of one model name (or source) in `models_dir` until the block ends; others wait.

    An advisory lock on `.lock-KEY`: the operating system releases it when the
    process dies, so a killed import never blocks the next one (its empty file
    stays, harmless, until the next holder removes it). Threads of one
    process queue on an in-process lock first, and the holder may take it again
    (a fetch holds it while its import takes it too). Where file locks are
    unavailable (not POSIX), only the in-process lock applies.
    """
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / f"{_STAGING_PREFIX}lock-{re.sub(r'[^A-Za-z0-9._-]', '_', key)[:120]}"
    name = str(path.resolve())
    with _REGISTRY:
        local = _PROCESS_LOCKS.setdefault(name, threading.RLock())
    with local:
        depth = _DEPTH.get(name, 0)
        _DEPTH[name] = depth + 1
        try:
            if depth:
                yield
            else:
                with _file_lock(path):
                    yield
        finally:
            _DEPTH[name] = depth


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive flock on `path`, which exists only while someone holds it (nothing left behind).

    The holder deletes the file before unlocking; a waiter that then gets the
    lock of the deleted file sees that the path no longer names it and tries
    again. Without fcntl (not POSIX) it does nothing.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    while True:
        handle = open(path, "a")
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        handle.close()
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        handle.close()


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
