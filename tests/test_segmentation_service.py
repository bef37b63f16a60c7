"""Segmentation over gRPC (SegmentationService.Segment, Client.segment) and `crosswire segment`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import grpc
import pytest

from crosswire import Client, CrosswireError
from crosswire.cli import main
from crosswire.types import Role
from support.documents import assert_well_formed
from support.server import ServerThread

ARTICLE = (
    "Кризис в Сирии\n\n"
    "Главы МИД НАТО призвали Россию к прекращению боев\n\n"
    "БРЮССЕЛЬ, 6 декабря. /ТАСС/. Генсек НАТО Й. Столтенберг выступил в т. ч. с заявлением. "
    '"Мы видим катастрофу", - сказал он.\n\n'
    "Главы МИД НАТО призвали Россию к прекращению боев\n"
    "Читайте также: Новости дня\n"
)
EXPECTED = [
    ("Кризис в Сирии", Role.SECTION, None),
    ("Главы МИД НАТО призвали Россию к прекращению боев", Role.HEADLINE, None),
    ("БРЮССЕЛЬ, 6 декабря. /ТАСС/.", Role.DATELINE, None),
    ("Генсек НАТО Й. Столтенберг выступил в т. ч. с заявлением.", Role.BODY, None),
    ('"Мы видим катастрофу", - сказал он.', Role.BODY, None),
    ("Главы МИД НАТО призвали Россию к прекращению боев", Role.HEADLINE, 1),
    ("Читайте также: Новости дня", Role.BOILERPLATE, None),
]
LIMITS = dict(max_chars=2000, max_message_bytes=8000)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """A server with no model at all: segmentation must not need one."""
    with ServerThread(tmp_path_factory.mktemp("no-models"), wait_ready=False, **LIMITS) as handle:
        yield handle


@pytest.fixture
def client(server: ServerThread):
    with Client(server.address, timeout=30) as c:
        yield c


def test_segment_returns_the_structure(client: Client) -> None:
    document = client.segment(ARTICLE, "ru")
    assert_well_formed(document)
    assert document.text == ARTICLE and document.language == "ru"
    assert [(s.text, s.role, s.duplicate_of) for s in document.sentences] == EXPECTED
    assert [s.paragraph for s in document.sentences] == [0, 1, 2, 2, 2, 3, 4]


def test_segment_detects_language_and_keeps_offsets_in_code_points(client: Client) -> None:
    text = "\U0001F4F0 Talks ended. Both sides left.\u200b"
    document = client.segment(text, "")
    assert document.language == "en"
    assert_well_formed(document)
    assert [text[s.start:s.end] for s in document.sentences] == ["\U0001F4F0 Talks ended.", "Both sides left."]


def test_text_in_another_language_than_declared_is_flagged(client: Client) -> None:
    document = client.segment("Talks ended in Brussels. Both sides left.", "ru")
    assert (document.language, document.detected_language) == ("ru", "en")
    assert len(document.sentences) == 2


def test_empty_text_gives_no_sentences(client: Client) -> None:
    assert client.segment("", "ru").sentences == []


@pytest.mark.parametrize(("text", "language", "named"), [
    ("а" * 2001, "ru", "max_chars=2000"),
    ("Текст.", "русский", "language"),
    ("ж" * 1990 + "ё" * 10, "ru", None),  # within max_chars: answered
])
def test_limits_and_bad_fields_are_invalid_argument(client: Client, text: str, language: str, named) -> None:
    if named is None:
        assert client.segment(text, language).sentences
        return
    with pytest.raises(CrosswireError) as info:
        client.segment(text, language)
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert named in info.value.details


def test_message_size_limit_is_named(server: ServerThread) -> None:
    with ServerThread(server.config.models_dir, wait_ready=False, max_chars=100_000, max_message_bytes=1000) as small:
        with Client(small.address, timeout=30) as client, pytest.raises(CrosswireError) as info:
            client.segment("слово " * 200, "ru")
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "max_message_bytes=1000" in info.value.details


@pytest.fixture
def article(tmp_path: Path) -> Path:
    path = tmp_path / "article.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    return path


def _records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_cli_jsonl_in_process(article: Path, capsys) -> None:
    assert main(["segment", str(article), "--lang", "ru", "--format", "jsonl"]) == 0
    records = _records(capsys.readouterr().out)
    assert [(r["text"], r["role"], r["duplicate_of"] if r["is_duplicate"] else None) for r in records] == [
        (text, "SEGMENT_ROLE_" + role.name, duplicate) for text, role, duplicate in EXPECTED]
    assert all({"index", "start", "end", "text", "role", "is_duplicate", "duplicate_of"} <= set(r) for r in records)
    assert all(ARTICLE[r["start"]:r["end"]] == r["text"] for r in records)


def test_cli_text_listing_from_stdin(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(ARTICLE))
    assert main(["segment", "-"]) == 0
    captured = capsys.readouterr()
    header, *lines = captured.out.splitlines()
    assert header.split()[-3:] == ["ROLE", "DUP", "TEXT"] and len(lines) == len(EXPECTED)
    assert "dateline" in lines[2] and lines[2].endswith("БРЮССЕЛЬ, 6 декабря. /ТАСС/.")
    assert lines[5].split()[4:6] == ["headline", "1"]
    assert "language: ru" in captured.err


def test_cli_through_the_server_matches_in_process(server: ServerThread, article: Path, capsys) -> None:
    assert main(["segment", str(article), "--lang", "ru", "--format", "jsonl"]) == 0
    local = capsys.readouterr().out
    assert main(["segment", str(article), "--lang", "ru", "--format", "jsonl", "--server", server.address]) == 0
    assert capsys.readouterr().out == local


def test_cli_errors(tmp_path: Path, capsys) -> None:
    assert main(["segment", str(tmp_path / "missing.txt")]) == 1
    assert "file not found" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["segment", "-", "--lang", "русский"])
    assert exit_info.value.code == 2
    assert "--lang" in capsys.readouterr().err
