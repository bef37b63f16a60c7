"""Language identification: Russian's neighbours are told apart, and a text no model translates is refused.

The texts are UDHR paragraphs (benchmarks/data/udhr) and a Russian news report;
the models are the tiny random-weight one, installed once as ru→en and once as zh→en.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from crosswire import Client, CrosswireError
from crosswire_server.errors import InvalidInput, UnsupportedPair
from crosswire_server.segmentation import MIN_CONFIDENCE, Identification, check_declared, identify, segment
from support.server import ServerThread
from test_translation_engine import make_engine, run

UDHR = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "udhr"
RUSSIAN_REPORT = (
    "Правительство объявило о новых мерах поддержки экономики. Министр финансов заявил, что программа "
    "обойдется бюджету в 300 млрд рублей.\n\nПервые выплаты начнутся в марте, сообщили в ведомстве."
)


def udhr(name: str, lines: int = 3) -> str:
    """The first paragraphs of the declaration in one language, as one text."""
    return "\n\n".join((UDHR / f"{name}.txt").read_text(encoding="utf-8").splitlines()[:lines])


@pytest.mark.parametrize("name, code", [("uk", "uk"), ("be", "be"), ("bg", "bg"), ("sr-Cyrl", "sr"),
                                        ("kk", "kk"), ("ru", "ru"), ("en", "en"), ("zh", "zh")])
def test_each_language_is_identified_with_confidence(name: str, code: str) -> None:
    found = identify(udhr(name))
    assert found.language == code and found.confidence >= 0.9


def test_russian_news_with_english_names_and_a_headline_are_russian() -> None:
    mixed = identify("Глава Apple Тим Кук встретился в Вашингтоне с Дональдом Трампом и сенатором Chuck Schumer.")
    assert mixed.language == "ru" and mixed.sure
    assert identify("Путин провел переговоры с Си Цзиньпином").language == "ru"


def test_no_letters_means_no_language() -> None:
    found = identify("12 345 — !!!")
    assert (found.language, found.confidence, found.sure) == ("", 0.0, False)


def test_segment_reports_the_identified_language_and_its_confidence() -> None:
    document = segment(udhr("uk"), "ru")
    assert (document.language, document.detected_language) == ("ru", "uk")
    assert document.language_confidence >= 0.9


@pytest.fixture(scope="module")
def zh_only_models_dir(tiny_marian_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder whose only model translates zh→en (the tiny model, installed under that pair)."""
    from crosswire_models.importing import import_model

    models_dir = tmp_path_factory.mktemp("zh-only-models")
    import_model(tiny_marian_zip, models_dir, "tiny-zh-en", pairs=[("zh", "en")])
    return models_dir


def test_ukrainian_is_refused_not_translated_as_russian(tiny_models_dir: Path) -> None:
    engine = make_engine(tiny_models_dir)
    with pytest.raises(UnsupportedPair) as info:
        run(engine, engine.translate([udhr("uk")]))
    message = str(info.value)
    assert "texts[0]: the text is in 'uk'" in message and "installed pairs: ru->en" in message


def test_russian_is_refused_when_only_zh_en_is_installed(zh_only_models_dir: Path) -> None:
    engine = make_engine(zh_only_models_dir)
    with pytest.raises(UnsupportedPair) as info:
        run(engine, engine.translate([RUSSIAN_REPORT]))
    assert "the text is in 'ru'" in str(info.value) and "installed pairs: zh->en" in str(info.value)


def test_a_report_declared_russian_but_in_ukrainian_is_refused(tiny_models_dir: Path) -> None:
    engine = make_engine(tiny_models_dir)
    with pytest.raises(InvalidInput, match=r"texts\[0\]: declared language is 'ru' but the text looks 'uk'"):
        run(engine, engine.translate([udhr("uk")], source="ru"))


def test_a_quoted_ukrainian_sentence_declared_russian_is_translated(tiny_models_dir: Path) -> None:
    """One presegmented sentence may be a quotation in a Russian report: the declared language stands."""
    engine = make_engine(tiny_models_dir)
    (result,) = run(engine, engine.translate([udhr("uk", 1)], source="ru", presegmented=True))
    assert (result.source_language, result.detected_language) == ("ru", "uk")


def test_a_detected_language_comes_back_with_its_confidence(tiny_models_dir: Path) -> None:
    engine = make_engine(tiny_models_dir)
    (result,) = run(engine, engine.translate([RUSSIAN_REPORT]))
    assert (result.source_language, result.detected_language) == ("ru", "ru")
    assert result.language_confidence >= MIN_CONFIDENCE


def test_an_unsure_guess_is_not_acted_on(tiny_models_dir: Path) -> None:
    engine = make_engine(tiny_models_dir)
    text = "Ok"
    assert not identify(text).sure
    expected = r"texts\[0\]: could not identify the source language \(too little text\); set source_language"
    with pytest.raises(InvalidInput, match=expected):
        run(engine, engine.translate([text]))


def _refusal(address: str, texts: list[str]) -> tuple[grpc.StatusCode, str]:
    with Client(address, timeout=30) as client, pytest.raises(CrosswireError) as info:
        client.translate(texts)
    return info.value.code, info.value.details


def test_over_grpc_ukrainian_is_invalid_argument_naming_uk_and_the_pairs(tiny_models_dir: Path) -> None:
    with ServerThread(tiny_models_dir, max_decoding_length=16) as server:
        code, details = _refusal(server.address, [udhr("uk")])
        with Client(server.address, timeout=30) as client:
            (result,) = client.translate([RUSSIAN_REPORT])
            document = client.segment(udhr("be"), "ru")
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "'uk'" in details and "installed pairs: ru->en" in details
    assert result.detected_language == "ru" and result.language_confidence >= MIN_CONFIDENCE
    assert document.detected_language == "be" and document.language_confidence >= 0.9


def test_over_grpc_russian_with_only_zh_en_is_invalid_argument(zh_only_models_dir: Path) -> None:
    with ServerThread(zh_only_models_dir, max_decoding_length=16) as server:
        code, details = _refusal(server.address, [RUSSIAN_REPORT])
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "'ru'" in details and "installed pairs: zh->en" in details


def test_a_declared_language_stands_unless_the_text_is_surely_or_visibly_another() -> None:
    assert check_declared(udhr("zh"), "zh-Hans", "text").language == "zh"
    assert check_declared(udhr("sr-Latn"), "sr", "text").language in {"bs", "hr"}  # lingua's Serbian is Cyrillic
    assert check_declared("Путин провел переговоры с Си Цзиньпином", "uk", "text").language == "ru"  # too short
    with pytest.raises(InvalidInput, match="declared language is 'en' but the text looks 'ru'"):
        check_declared("Путин провел переговоры.", "en", "text")  # short, but Cyrillic: never English


def test_a_text_identified_already_is_judged_on_that_identification() -> None:
    """Segmentation identified the text: check_declared judges that answer instead of identifying it again."""
    text = udhr("ru")
    found = segment(text, "ru")
    known = Identification(found.detected_language, found.language_confidence)
    assert check_declared(text, "ru", "text", known) == identify(text)
    with pytest.raises(InvalidInput, match="the text looks 'uk'"):
        check_declared(text, "ru", "text", Identification("uk", 0.99))


def test_a_declared_pair_without_a_model_is_said_before_a_mismatch(tiny_models_dir: Path) -> None:
    engine = make_engine(tiny_models_dir)
    with pytest.raises(UnsupportedPair, match="no installed model translates fr->en"):
        run(engine, engine.translate([RUSSIAN_REPORT], source="fr"))


def test_serbian_in_latin_script_declared_serbian_is_not_refused() -> None:
    text = udhr("sr-Latn", 10)
    assert identify(text).confidence >= 0.9  # sure it is Bosnian or Croatian, which lingua cannot tell from it
    assert check_declared(text, "sr", "text").language in {"bs", "hr"}
