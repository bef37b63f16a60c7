"""Importing models: CTranslate2 folders, OPUS-MT/Marian releases (zip and folder), Argos packages."""

from __future__ import annotations

import json
from collections.abc import Callable
import shutil
import zipfile
from pathlib import Path

import ctranslate2
import numpy as np
import pytest
import sentencepiece
from ctranslate2.converters import OpusMTConverter

from crosswire_models.errors import InvalidModelError, ModelExistsError
from crosswire_models.importing import import_model
from crosswire_models.store import InstalledModel, installed_models
from support.tiny_marian import NPZ, pack_argos

RUSSIAN = ["Правительство объявило о новых мерах поддержки экономики.", "Цены на нефть выросли."]


def translate(model: InstalledModel, sentences: list[str]) -> list[list[str]]:
    """Target pieces from the installed model, run with CTranslate2 directly."""
    source = sentencepiece.SentencePieceProcessor(model_file=str(model.source_spm))
    translator = ctranslate2.Translator(str(model.model_path), device="cpu")
    results = translator.translate_batch(source.encode(sentences, out_type=str), max_decoding_length=16)
    return [r.hypotheses[0] for r in results]


def only_entries(models_dir: Path) -> list[str]:
    return sorted(p.name for p in models_dir.iterdir())


def test_opus_mt_zip_is_converted_to_int8(tiny_model: InstalledModel, tiny_marian_zip: Path) -> None:
    assert tiny_model.name == "tiny-ru-en"
    assert tiny_model.pairs == [("ru", "en")]  # from the release README
    assert tiny_model.quantization == "int8"
    assert tiny_model.license == "CC-BY-4.0"  # from its LICENSE
    assert tiny_model.converter == "OpusMTConverter"
    assert tiny_model.source == str(tiny_marian_zip.resolve())
    assert (tiny_model.model_path / "model.bin").is_file()
    assert tiny_model.source_spm.name == "source.spm" and tiny_model.target_spm.name == "target.spm"
    assert (tiny_model.path / "LICENSE").is_file()
    outputs = translate(tiny_model, RUSSIAN)
    assert len(outputs) == 2 and all(outputs)


def test_opus_mt_folder_imports_with_default_name(tiny_marian_release: Path, tmp_path: Path) -> None:
    model = import_model(tiny_marian_release, tmp_path)
    assert model.name == "release" and model.pairs == [("ru", "en")] and model.converter == "OpusMTConverter"
    assert only_entries(tmp_path) == ["release"]


def drop_target_spm(release: Path) -> None:
    (release / "target.spm").unlink()


def drop_a_weight(release: Path) -> None:
    weights = dict(np.load(release / NPZ))
    del weights["decoder_l1_context_Wq"]
    np.savez(release / NPZ, **weights)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (drop_target_spm, "incomplete OPUS-MT release: missing target.spm"),
        (drop_a_weight, "OpusMTConverter cannot convert"),
    ],
)
def test_a_broken_release_is_refused_and_leaves_nothing(
    tiny_marian_release: Path, tmp_path: Path, damage: Callable[[Path], None], message: str
) -> None:
    release = shutil.copytree(tiny_marian_release, tmp_path / "release")
    damage(release)
    models = tmp_path / "models"
    with pytest.raises(InvalidModelError, match=message):
        import_model(release, models, "broken")
    assert only_entries(models) == []


def test_opus_mt_release_without_languages_needs_a_pair(tiny_marian_release: Path, tmp_path: Path) -> None:
    release = shutil.copytree(tiny_marian_release, tmp_path / "opus-2020-02-26")
    (release / "README.md").write_text("# opus-2020-02-26.zip\n", encoding="utf-8")
    with pytest.raises(InvalidModelError, match="--pair ru-en"):
        import_model(release, tmp_path / "models")
    model = import_model(release, tmp_path / "models", pairs=[("uk", "en")])
    assert model.pairs == [("uk", "en")]
    assert import_model(release, tmp_path / "models", "opus-mt-de-en").pairs == [("de", "en")]  # from the name


def test_ctranslate2_folder_with_sentencepiece_beside_it(tiny_model: InstalledModel, tmp_path: Path) -> None:
    folder = tmp_path / "my-model"
    shutil.copytree(tiny_model.model_path, folder)
    shutil.copyfile(tiny_model.source_spm, folder / "source.spm")
    shutil.copyfile(tiny_model.target_spm, folder / "target.spm")
    model = import_model(folder, tmp_path / "models", pairs=[("ru", "en")], license="MIT")
    assert (model.name, model.pairs, model.license, model.converter) == ("my-model", [("ru", "en")], "MIT", "none")
    assert model.quantization == "int8"
    assert not (model.model_path / "source.spm").exists()  # tokenisers live beside the model, not in it
    assert translate(model, RUSSIAN) == translate(tiny_model, RUSSIAN)


def test_ctranslate2_folder_without_sentencepiece_says_what_is_missing(
    tiny_model: InstalledModel, tmp_path: Path
) -> None:
    folder = shutil.copytree(tiny_model.model_path, tmp_path / "bare" / "model")
    with pytest.raises(InvalidModelError, match="no SentencePiece model beside it: expected source.spm and target.spm"):
        import_model(folder, tmp_path / "models", pairs=[("ru", "en")])
    assert only_entries(tmp_path / "models") == []


def test_ctranslate2_folder_without_pair_asks_for_one(tiny_model: InstalledModel, tmp_path: Path) -> None:
    folder = shutil.copytree(tiny_model.model_path, tmp_path / "mystery")
    shutil.copyfile(tiny_model.source_spm, folder / "sentencepiece.model")
    with pytest.raises(InvalidModelError, match="cannot tell which languages .* --pair"):
        import_model(folder, tmp_path / "models")


def test_float16_conversion_is_reported_as_such(
    tiny_marian_release: Path, tiny_model: InstalledModel, tmp_path: Path
) -> None:
    folder = tmp_path / "f16-ru-en"
    OpusMTConverter(str(tiny_marian_release)).convert(str(folder / "model"), quantization="float16")
    shutil.copyfile(tiny_model.source_spm, folder / "source.spm")
    shutil.copyfile(tiny_model.target_spm, folder / "target.spm")
    assert import_model(folder, tmp_path / "models").quantization == "float16"


def test_argos_package(tiny_model: InstalledModel, tmp_path: Path) -> None:
    package = pack_argos(tiny_model.model_path, tiny_model.source_spm, tmp_path / "translate-ru_en-tiny.argosmodel")
    model = import_model(package, tmp_path / "models")
    assert model.name == "translate-ru_en-tiny"  # the package's folder name
    assert model.pairs == [("ru", "en")]  # from metadata.json
    assert model.license == "CC-BY-4.0"  # from its README
    assert model.source_spm == model.target_spm == model.path / "sentencepiece.model"
    assert not (model.path / "stanza").exists()
    assert translate(model, RUSSIAN) == translate(tiny_model, RUSSIAN)


def test_importing_an_existing_name_needs_replace(tiny_marian_zip: Path, tmp_path: Path) -> None:
    first = import_model(tiny_marian_zip, tmp_path, "tiny")
    with pytest.raises(ModelExistsError, match="already installed"):
        import_model(tiny_marian_zip, tmp_path, "tiny")
    marker = first.path / "marker"
    marker.write_text("old")
    again = import_model(tiny_marian_zip, tmp_path, "tiny", replace=True)
    assert not marker.exists() and again.path == first.path
    assert only_entries(tmp_path) == ["tiny"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file or folder"),
        (b"plain text", "not a model Crosswire can import"),
    ],
)
def test_not_a_model(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "thing.zip"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InvalidModelError, match=message):
        import_model(path, tmp_path / "models")


def test_archive_members_cannot_escape(tiny_model: InstalledModel, tmp_path: Path) -> None:
    package = pack_argos(tiny_model.model_path, tiny_model.source_spm, tmp_path / "evil.argosmodel")
    with zipfile.ZipFile(package, "a") as zf:
        zf.writestr("translate-ru_en-tiny/model/../../../outside/evil.txt", "gotcha")
    with pytest.raises(InvalidModelError, match="outside the model folder"):
        import_model(package, tmp_path / "models")
    assert not (tmp_path / "outside").exists()
    assert only_entries(tmp_path / "models") == []


def test_installed_models_lists_imports_sorted(tiny_marian_zip: Path, tmp_path: Path) -> None:
    for name in ("b-ru-en", "a-ru-en"):
        import_model(tiny_marian_zip, tmp_path, name)
    assert [m.name for m in installed_models(tmp_path)] == ["a-ru-en", "b-ru-en"]
    manifest = json.loads((tmp_path / "a-ru-en" / "crosswire.json").read_text())
    assert manifest["name"] == "a-ru-en" and manifest["pairs"] == [["ru", "en"]]


@pytest.mark.real_model
def test_real_argos_zh_en_model(real_model: InstalledModel, tmp_path: Path) -> None:
    assert real_model.pairs == [("zh", "en")]
    assert (real_model.quantization, real_model.license, real_model.converter) == ("int8", "CC-BY-4.0", "none")
    pieces = translate(real_model, ["中国和俄罗斯签署了贸易协定。"])[0]
    english = "".join(pieces).replace("▁", " ")
    assert "China" in english and "Russia" in english
    # An installed model folder is itself a CTranslate2 folder that imports elsewhere, manifest and all.
    copy = import_model(real_model.path, tmp_path)
    assert (copy.name, copy.pairs, copy.license) == (real_model.name, real_model.pairs, real_model.license)
