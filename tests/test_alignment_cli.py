"""`crosswire align` and `crosswire compare`: the JSON (protobuf's mapping), text output, --html, --server, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crosswire.cli import main
from support.server import ServerThread

RU = ("Генсек НАТО Йенс Столтенберг призвал Россию прекратить бои в Сирии. "
      "Госсекретарь США Джон Керри проинформировал союзников о ходе переговоров.\n\n"
      "Коалиция освободила 6 000 квадратных километров территории.")
EN = ("US Secretary of State John Kerry briefed the allies on the talks. "
      "Shares in the carmaker rose after the results.\n\n"
      "NATO Secretary General Jens Stoltenberg called on Russia to stop the fighting in Syria.")
SPORT = "Manchester United beat Chelsea 2-1 on Saturday. The winning goal came in the final minute."
SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "seeds"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    texts = {"report.txt": RU, "tass.txt": EN, "sport.txt": SPORT, "empty.txt": "",
             "report_lines.txt": "Строка о Керри.\n\nСтрока о НАТО.\n",
             "english_lines.txt": "A line about Kerry.\n\nA line about NATO.\n"}
    for name, text in texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return {name: str(tmp_path / name) for name in texts}


@pytest.fixture
def local(tmp_path: Path) -> list[str]:
    """Run in-process with an empty models folder: no translation model, alignment still works."""
    return ["--models-dir", str(tmp_path / "no-models")]


def run_json(capsys: pytest.CaptureFixture, argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_align_json_contract(capsys, files, local) -> None:
    out = run_json(capsys, ["align", "--mode", "comparable", "--from", "ru", "--to", "en", files["report.txt"],
                            files["tass.txt"], files["sport.txt"], "--format", "json", *local])
    assert set(out) == {"source", "targets", "links", "unaligned_source", "unaligned_targets", "mode", "roles"}
    assert out["source"]["name"] == files["report.txt"] and out["mode"] == "ALIGN_MODE_COMPARABLE"
    assert out["roles"] == ["SEGMENT_ROLE_BODY", "SEGMENT_ROLE_HEADLINE"]
    assert [t["name"] for t in out["targets"]] == [files["tass.txt"], files["sport.txt"]]
    assert set(out["source"]["sentences"][0]) == {"index", "start", "end", "text", "paragraph", "role",
                                                  "is_duplicate", "duplicate_of", "forced_split",
                                                  "start_utf8", "end_utf8", "start_utf16", "end_utf16"}
    same = {(tuple(l["source"]), l["target_doc"], tuple(l["target"])) for l in out["links"]
            if l["grade"] == "LINK_GRADE_SAME"}
    assert same == {((0,), 0, (2,)), ((1,), 0, (0,))}
    assert all(l["grade"] in ("LINK_GRADE_SAME", "LINK_GRADE_RELATED") and isinstance(l["score"], float)
               for l in out["links"])
    assert all("translation_similarity" not in l["evidence"] for l in out["links"])
    assert {"source": "Керри", "target": "Kerry"} in [n for l in out["links"] for n in l["evidence"]["names"]]
    assert out["unaligned_targets"][1] == {"target_doc": 1, "indices": [0, 1]}


def test_align_parallel_presegmented_indices_are_line_numbers(capsys, files, local) -> None:
    out = run_json(capsys, ["align", "--mode", "parallel", "--presegmented", files["report_lines.txt"],
                            files["english_lines.txt"], "--format", "json", *local])
    assert [(l["source"], l["target"]) for l in out["links"]] == [([0], [0]), ([2], [2])]
    assert out["source"]["sentences"][1]["text"] == ""


def test_align_text_output(capsys, files, local) -> None:
    assert main(["align", files["report.txt"], files["tass.txt"], *local]) == 0
    out = capsys.readouterr().out
    assert "[1] Госсекретарь" in out and "-> " + files["tass.txt"] + " [0] US Secretary" in out


def test_compare_json_and_html(capsys, files, local, tmp_path: Path) -> None:
    page = tmp_path / "out.html"
    out = run_json(capsys, ["compare", files["report.txt"], files["sport.txt"], files["tass.txt"],
                            "--format", "json", "--html", str(page), *local])
    assert set(out) == {"alignment", "documents", "rows", "only_in_report", "only_in_coverage", "translated",
                        "library_articles"}
    assert out["library_articles"] == []  # none without --library
    assert [d["target_doc"] for d in out["documents"]] == [1, 0]
    assert out["documents"][0]["name"] == files["tass.txt"] and out["documents"][0]["score"] > out["documents"][1]["score"]
    assert [row["source"] for row in out["rows"]] == [0, 1, 2]
    assert out["only_in_report"] == [2]
    assert {"target_doc": 1, "index": 1} in out["only_in_coverage"]
    html = page.read_text(encoding="utf-8")
    assert html.count('class="match"') == sum(len(row["matches"]) for row in out["rows"]) > 0


def test_compare_text_output(capsys, files, local) -> None:
    assert main(["compare", files["report.txt"], files["tass.txt"], *local]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Articles by shared coverage:") and "(only in the report)" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["align", "{missing}", "{tass.txt}"], "file not found"),
        (["align", "{empty.txt}", "{tass.txt}"], "empty.txt has no text (empty)"),
        (["align", "{report.txt}", "{report.txt}"], "targets[0]: declared language is 'en' but the text looks 'ru'"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(capsys, files, local, tmp_path: Path, argv: list[str], message: str) -> None:
    names = {**files, "missing": str(tmp_path / "missing.txt")}
    assert main([names[arg[1:-1]] if arg.startswith("{") else arg for arg in argv] + local) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_no_targets_is_a_usage_error(capsys, files) -> None:
    with pytest.raises(SystemExit) as info:
        main(["align", files["report.txt"]])
    assert info.value.code == 2


def test_through_a_server(capsys, files, tiny_models_dir: Path) -> None:
    with ServerThread(tiny_models_dir, max_decoding_length=16) as server:
        out = run_json(capsys, ["align", files["report.txt"], files["tass.txt"], "--format", "json",
                                "--server", server.address])
        assert {(tuple(l["source"]), tuple(l["target"])) for l in out["links"] if l["grade"] == "LINK_GRADE_SAME"} == {
            ((0,), (2,)), ((1,), (0,))}
        assert all("translation_similarity" in l["evidence"] for l in out["links"])
        compared = run_json(capsys, ["compare", files["report.txt"], files["sport.txt"], files["tass.txt"],
                                     "--format", "json", "--server", server.address])
        assert compared["documents"][0]["target_doc"] == 1
        assert compared["translated"] and all(row["translation"] for row in compared["rows"])
        assert main(["align", files["report.txt"], files["report.txt"], "--server", server.address]) == 1
        remote = capsys.readouterr().err
    assert main(["align", files["report.txt"], files["report.txt"], "--models-dir", str(tiny_models_dir)]) == 1
    assert capsys.readouterr().err == remote
    assert remote.startswith("crosswire: error: targets[0]: declared language")


@pytest.mark.skipif(not SEEDS.exists(), reason=f"the seed articles are not at {SEEDS}")
def test_compare_on_the_seeds(capsys, local, tmp_path: Path) -> None:
    index = [line.split("\t") for line in (SEEDS / "INDEX.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    russian = [str(SEEDS / row[0]) for row in index if row[1] == "ru"]
    english = [str(SEEDS / row[0]) for row in index if row[1] == "en"]
    for report in russian:
        out = run_json(capsys, ["compare", report, *english, "--format", "json", "--html", str(tmp_path / "p.html"), *local])
        assert sorted(d["target_doc"] for d in out["documents"]) == [0, 1, 2]
        assert out["rows"] and all(0 <= d["score"] <= 1 for d in out["documents"])
        # Captions, datelines and boilerplate never take part.
        roles = {s["index"]: s["role"] for s in out["alignment"]["source"]["sentences"]}
        assert {roles[row["source"]] for row in out["rows"]} <= {"SEGMENT_ROLE_HEADLINE", "SEGMENT_ROLE_BODY"}
    kerry = [d for d in out["documents"] if "002_" in d["name"]][0]
    assert "Kerry" in kerry["shared_names"]
