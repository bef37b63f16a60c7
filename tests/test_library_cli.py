"""`crosswire library add|search|list|remove|stats` and `crosswire compare --library`, in-process and --server,
against real SQLite libraries in temporary folders and the real sentence encoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crosswire.cli import main
from support.server import ServerThread

RU = ("Генсек НАТО Йенс Столтенберг призвал Россию прекратить бои в Сирии. "
      "Госсекретарь США Джон Керри проинформировал союзников о ходе переговоров.")
TEXTS = {
    "nato.txt": ("NATO Secretary General Jens Stoltenberg called on Russia to stop the fighting in Syria. "
                 "US Secretary of State John Kerry briefed the allies on the talks."),
    "football.txt": "Manchester United beat Chelsea 2-1 on Saturday. The winning goal came in the final minute.",
    "empty.txt": "",
    "report.txt": RU,
}
FEED = [
    {"name": "markets", "outlet": "Reuters", "url": "https://example.com/cars", "title": "Cars",
     "published": "2016-07-25T10:00:00+03:00", "text": "Shares in the carmaker rose after the results."},
    {"name": "flood", "outlet": "AP", "text": "Heavy rain flooded the streets of Lisbon on Tuesday."},
]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    for name, text in TEXTS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    lines = [json.dumps(record) for record in FEED] + ["{not json", json.dumps({"name": "when", "text": "A b c.",
                                                                               "published": "last week"})]
    (tmp_path / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {name: str(tmp_path / name) for name in [*TEXTS, "feed.jsonl"]}


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CROSSWIRE_LIBRARY names a fresh file: the default of every command in the test."""
    location = tmp_path / "env-library.sqlite3"
    monkeypatch.setenv("CROSSWIRE_LIBRARY", str(location))
    return location


def run(capsys: pytest.CaptureFixture, argv: list[str], status: int = 0) -> tuple[str, str]:
    assert main(argv) == status, capsys.readouterr()
    captured = capsys.readouterr()
    return captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture, argv: list[str], status: int = 0) -> dict:
    out, _ = run(capsys, argv, status)
    return json.loads(out)


def test_add_reports_each_file_and_refusals_exit_1(capsys, files, library) -> None:
    out = run_json(capsys, ["library", "add", files["nato.txt"], files["football.txt"], files["empty.txt"],
                            "--outlet", "BBC", "--published", "2016-07-25", "--format", "json"], status=1)
    results = out["results"]
    assert [r["name"] for r in results] == ["nato.txt", "football.txt", "empty.txt"]
    assert [r["status"] for r in results] == ["added", "added", "refused"]
    assert results[0]["id"] and results[2]["id"] == "" and "empty" in results[2]["reason"]
    assert library.is_file()  # CROSSWIRE_LIBRARY chose where
    again = run_json(capsys, ["library", "add", files["nato.txt"], "--format", "json"])
    assert again["results"] == [{**results[0], "status": "unchanged"}]


def test_add_text_output_names_every_refusal(capsys, files, library) -> None:
    out, err = run(capsys, ["library", "add", files["nato.txt"], files["empty.txt"], str(Path(files["nato.txt"])
                                                                                        .with_name("gone.txt"))],
                   status=1)
    lines = out.splitlines()
    assert lines[0].startswith("added") and "nato.txt" in lines[0]
    assert lines[1].startswith("refused    empty.txt: ") and lines[2].startswith("refused    gone.txt: cannot read")
    assert err.strip() == "1 added, 2 refused"


def test_add_jsonl_takes_every_field_and_refuses_bad_lines(capsys, files, library) -> None:
    out = run_json(capsys, ["library", "add", "--jsonl", files["feed.jsonl"], "--format", "json"], status=1)
    assert [(r["name"], r["status"]) for r in out["results"]] == [
        ("markets", "added"), ("flood", "added"), ("feed.jsonl:3", "refused"), ("when", "refused")]
    assert "not a JSON object" in out["results"][2]["reason"] and "published" in out["results"][3]["reason"]
    listed = run_json(capsys, ["library", "list", "--format", "json"])["articles"]
    markets = next(a for a in listed if a["name"] == "markets")
    assert (markets["outlet"], markets["url"], markets["title"], markets["published"]) == (
        "Reuters", "https://example.com/cars", "Cars", "2016-07-25T07:00:00Z")


def test_search_json_names_the_article_best_first(capsys, files, library) -> None:
    run(capsys, ["library", "add", files["football.txt"], files["nato.txt"], "--jsonl", files["feed.jsonl"]],
        status=1)
    out = run_json(capsys, ["library", "search", files["report.txt"], "--from", "ru", "-k", "2",
                            "--published", "2016-07-25", "--window-days", "3", "--format", "json"])
    results = out["results"]
    assert len(results) == 2 and results[0]["name"] == "nato.txt"
    assert results[0]["score"] > results[1]["score"]
    assert {"Kerry", "Stoltenberg"} <= set(results[0]["shared_names"])
    assert results[0]["coverage"] == "same_event" and results[0]["pairs"][0]["similarity"] > 0.5
    assert list(results[0])[:4] == ["name", "score", "coverage", "shared_names"]


def test_list_remove_and_stats(capsys, files, library) -> None:
    run(capsys, ["library", "add", files["nato.txt"], files["football.txt"], "--outlet", "BBC"])
    stats = run_json(capsys, ["library", "stats", "--format", "json"])
    assert (stats["articles"], stats["outlets"], stats["backend"]) == (2, {"BBC": 2}, "sqlite")
    out, _ = run(capsys, ["library", "list"])
    assert sorted(line.split("\t")[1] for line in out.splitlines()) == ["football.txt", "nato.txt"]
    assert run_json(capsys, ["library", "remove", "nato.txt", "--format", "json"]) == {"deleted": 1}
    _, err = run(capsys, ["library", "remove", "nato.txt"], status=1)
    assert err.startswith("crosswire: error: no article") and len(err.splitlines()) == 1
    assert run_json(capsys, ["library", "stats", "--format", "json"])["articles"] == 1


def test_library_flag_beats_the_environment(capsys, files, library, tmp_path: Path) -> None:
    elsewhere = tmp_path / "other.sqlite3"
    run(capsys, ["library", "add", files["nato.txt"], "--library", str(elsewhere)])
    assert elsewhere.is_file()
    assert run_json(capsys, ["library", "stats", "--format", "json", "--library", str(elsewhere)])["articles"] == 1
    assert run_json(capsys, ["library", "stats", "--format", "json"])["articles"] == 0


def test_usage_errors_exit_2(capsys, files, library) -> None:
    with pytest.raises(SystemExit) as info:
        main(["library", "add", files["nato.txt"], "--published", "next Tuesday"])
    assert info.value.code == 2 and "ISO 8601" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["library", "search", files["report.txt"], "-k", "0"])
    assert info.value.code == 2
    capsys.readouterr()
    _, err = run(capsys, ["library", "add"], status=1)
    assert err == "crosswire: error: nothing to add: give FILEs, or --jsonl FILE\n"


def test_compare_with_the_library_in_process(capsys, files, library, tmp_path: Path) -> None:
    run(capsys, ["library", "add", files["nato.txt"], files["football.txt"]])
    page = tmp_path / "page.html"
    out = run_json(capsys, ["compare", files["report.txt"], "--library", "-k", "2", "--from", "ru",
                            "--format", "json", "--html", str(page), "--models-dir", str(tmp_path / "no-models")])
    assert [a["name"] for a in out["library_articles"]][0] == "nato.txt"
    assert out["documents"][0]["name"] == "nato.txt" and out["documents"][0]["coverage"] == "COVERAGE_SAME_EVENT"
    assert "Stoltenberg" in page.read_text(encoding="utf-8")
    _, err = run(capsys, ["compare", files["report.txt"]], status=1)
    assert "--library" in err


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    location = tmp_path_factory.mktemp("served-library") / "library.sqlite3"
    with ServerThread(tiny_models_dir, max_decoding_length=16, library=str(location)) as handle:
        yield handle


def test_the_same_commands_on_a_server(capsys, files, server: ServerThread, library) -> None:
    remote = ["--server", server.address]
    out = run_json(capsys, ["library", "add", files["nato.txt"], files["empty.txt"], "--format", "json", *remote],
                   status=1)
    assert [r["status"] for r in out["results"]] == ["added", "refused"]
    assert not library.exists()  # the server's library, not CROSSWIRE_LIBRARY's
    hits = run_json(capsys, ["library", "search", files["report.txt"], "--from", "ru", "--format", "json", *remote])
    assert hits["results"][0]["name"] == "nato.txt"
    assert run_json(capsys, ["library", "stats", "--format", "json", *remote])["articles"] >= 1
    compared = run_json(capsys, ["compare", files["report.txt"], "--library", "-k", "1", "--format", "json", *remote])
    assert compared["library_articles"][0]["name"] == "nato.txt"
    _, err = run(capsys, ["library", "stats", "--library", "x.sqlite3", *remote], status=1)
    assert "--server" in err and len(err.splitlines()) == 1


def test_progress_bar_only_when_asked_or_on_a_terminal(capsys, files, library) -> None:
    _, err = run(capsys, ["library", "add", files["nato.txt"], files["football.txt"], "--progress", "--format",
                          "json"])
    assert "0/2" in err and "article/s" in err  # the bar (tqdm redraws at most every 0.1 s, so maybe only this)
    _, err = run(capsys, ["library", "add", files["nato.txt"], "--format", "json"])
    assert err == ""  # stderr is not a terminal here


@pytest.mark.parametrize("location", ["/proc/no-such-folder/library.sqlite3",
                                      "postgresql://reader:s3cret@127.0.0.1:1/news"])
def test_a_library_that_cannot_be_opened_is_one_line_without_the_password(capsys, location: str) -> None:
    _, err = run(capsys, ["library", "stats", "--library", location], status=1)
    assert err.startswith("crosswire: error: ") and err.count("\n") == 1
    assert "s3cret" not in err


def test_search_in_process_translates_with_an_installed_model(capsys, files, library, tiny_models_dir: Path) -> None:
    from argparse import Namespace

    from crosswire.cli.library import LocalLibrary

    local = LocalLibrary(str(library), Namespace(models_dir=tiny_models_dir))
    try:
        translate = local.translator("ru")
        assert translate is not None and local.translator("") is None and local.translator("zh") is None
        english = translate(["Суд вынес приговор.", "Керри проинформировал союзников."])
        assert len(english) == 2 and all(isinstance(text, str) and text for text in english)
    finally:
        local.close()
    run(capsys, ["library", "add", files["nato.txt"], files["football.txt"]])
    out = run_json(capsys, ["library", "search", files["report.txt"], "--from", "ru", "--format", "json",
                            "--models-dir", str(tiny_models_dir)])
    assert out["results"][0]["name"] == "nato.txt"
