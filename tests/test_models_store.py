"""The installed-models store: default folder, listing that skips half-installed folders, removal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crosswire_models.errors import InvalidModelError, UnknownModelError
from crosswire_models.store import (
    default_models_dir,
    find_model,
    installed_models,
    parse_pair,
    read_model,
    remove_model,
    staging,
)


def test_default_models_dir_reads_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CROSSWIRE_MODELS_DIR", str(tmp_path / "mine"))
    assert default_models_dir() == tmp_path / "mine"
    monkeypatch.delenv("CROSSWIRE_MODELS_DIR")
    assert default_models_dir().parts[-2:] == ("crosswire", "models")


def test_listing_skips_staging_broken_and_foreign_folders(tiny_models_dir: Path, tmp_path: Path) -> None:
    models_dir = shutil.copytree(tiny_models_dir, tmp_path / "models")
    shutil.copytree(models_dir / "tiny-ru-en", models_dir / ".staging-import-abc")  # an install in progress
    (models_dir / "notes").mkdir()  # no manifest
    broken = shutil.copytree(models_dir / "tiny-ru-en", models_dir / "broken-ru-en")
    (broken / "model" / "model.bin").unlink()  # manifest, but files missing
    (models_dir / "garbled-ru-en").mkdir()
    (models_dir / "garbled-ru-en" / "crosswire.json").write_text("{not json")
    (models_dir / "README").write_text("a file, not a model")
    assert [m.name for m in installed_models(models_dir)] == ["tiny-ru-en"]
    with pytest.raises(InvalidModelError, match="incomplete: .*model.bin missing"):
        read_model(broken)
    with pytest.raises(InvalidModelError, match="unreadable"):
        read_model(models_dir / "garbled-ru-en")


def test_missing_models_dir_lists_nothing(tmp_path: Path) -> None:
    assert installed_models(tmp_path / "nowhere") == []


def test_manifest_paths_are_relative_so_folders_can_move(tiny_models_dir: Path, tmp_path: Path) -> None:
    moved = shutil.copytree(tiny_models_dir, tmp_path / "moved")
    model = find_model(moved, "tiny-ru-en")
    assert model is not None and model.path == moved / "tiny-ru-en"
    assert model.model_path == moved / "tiny-ru-en" / "model"
    manifest = json.loads((moved / "tiny-ru-en" / "crosswire.json").read_text())
    assert not Path(manifest["model"]).is_absolute()


def test_staging_is_removed_whatever_happens(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with staging(tmp_path, "import") as work:
            (work / "half").write_text("x")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_remove_model(tiny_models_dir: Path, tmp_path: Path) -> None:
    models_dir = shutil.copytree(tiny_models_dir, tmp_path / "models")
    remove_model(models_dir, "tiny-ru-en")
    assert list(models_dir.iterdir()) == []
    with pytest.raises(UnknownModelError, match="no model named tiny-ru-en is installed"):
        remove_model(models_dir, "tiny-ru-en")


@pytest.mark.parametrize("name", ["../escape", "", "a/b", ".hidden"])
def test_names_that_are_not_folder_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidModelError, match="invalid model name"):
        find_model(tmp_path, name)


def test_parse_pair() -> None:
    assert parse_pair("ru-en") == ("ru", "en") and parse_pair("ZH_en") == ("zh", "en")
    with pytest.raises(InvalidModelError, match="expected SOURCE-TARGET"):
        parse_pair("ru")
