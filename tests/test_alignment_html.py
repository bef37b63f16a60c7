"""The side-by-side page: built from a server's answer as from in-process, grades an analyst can read
(colour and label, the legend true to what sentences wear), counts per grade, evidence, short titles;
and in a real headless Chromium: no console errors, every link drawn."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from crosswire.cli import main
from crosswire.convert import comparison_from_pb, comparison_to_pb
from crosswire.sidebyside import render_comparison, short_name
from crosswire.types import (
    Alignment, AlignMode, CompareRow, Comparison, Coverage, Disagreement, DisagreementKind, Evidence, Grade, Link,
    RankedDocument, SentenceRef, SharedTerm,
)
from crosswire_server.alignment import Aligner, prepare, presegment
from support.chromium import computed_styles, find_chromium, load_page
from support.server import ServerThread

REPORT = ("Главы МИД НАТО призвали Россию прекратить бои в Сирии\n"
          "БРЮССЕЛЬ, 6 декабря. /Корр. ТАСС Виктория Дубровина/. "
          "Генсек НАТО Йенс Столтенберг призвал Россию прекратить бои в Сирии. "
          "Госсекретарь США Джон Керри проинформировал союзников о ходе переговоров. "
          "Коалиция освободила 6 000 квадратных километров территории.\n"
          "Министры встретятся снова в феврале.")
ARTICLES = [
    "NATO urges Russia to stop fighting in Syria\nBRUSSELS, December 6. /TASS/. "
    "US Secretary of State John Kerry briefed the allies on the talks. The coalition has freed 6,000 square "
    "kilometres of territory. NATO Secretary General Jens Stoltenberg called on Russia to stop the fighting in Syria.",
    "Manchester United beat Chelsea 2-1 on Saturday. The winning goal came in the final minute.",
]
BBC = "Kerry met the allies in Brussels on Tuesday. The coalition says it has freed 8,000 square kilometres."


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip("Debian's chromium is not installed and could not be installed with apt-get (needs root and "
                    "the Debian package archive)")
    return path


@pytest.fixture(scope="module")
def comparison() -> Comparison:
    return Aligner().compare(prepare(REPORT, "ru"), [prepare(text, "en") for text in ARTICLES], names=["tass", "sport"])


@pytest.fixture(scope="module")
def graded(comparison: Comparison) -> Comparison:
    """The aligner's comparison plus, by hand, what the core does not fill yet: related links, a third
    article, coverage verdicts, shared words, a disagreement and a same-fact probability.

    Report sentence 3 and 4 have a "same" and a "related" link, 5 only a related one; the BBC article
    is linked by related links only.
    """
    alignment = comparison.alignment
    same = [replace(link, evidence=replace(link.evidence, same_probability=0.91)) for link in alignment.links]
    assert {link.source[0] for link in same} == {0, 2, 3, 4} and all(link.grade is Grade.SAME for link in same)
    related = [
        Link([5], 0, [4], 0.05, Grade.RELATED, Evidence(0.31)),
        Link([3], 2, [0], 0.12, Grade.RELATED, Evidence(0.42, names=[SharedTerm("Керри", "Kerry")],
                                                        words=[SharedTerm("союзников", "allies")])),
        Link([4], 2, [1], 0.10, Grade.RELATED, Evidence(
            0.55, words=[SharedTerm("Коалиция", "coalition")],
            disagreements=[Disagreement(DisagreementKind.NUMBER, "6 000", "8,000")], same_probability=0.08)),
    ]
    links = same + related
    report = alignment.source
    return Comparison(
        alignment=replace(alignment, targets=[*alignment.targets, prepare(BBC, "en")],
                          target_names=["feeds/tass.txt", "feeds/sport.txt", "/home/analyst/feeds/bbc.txt"],
                          links=links, unaligned_source=[], unaligned_targets=[[], [0, 1], []]),
        documents=[
            replace(comparison.documents[0], name="feeds/tass.txt", coverage=Coverage.SAME_EVENT),
            replace(comparison.documents[1], target_doc=2, name="/home/analyst/feeds/bbc.txt", coverage=Coverage.SAME_TOPIC),
            replace(comparison.documents[1], name="feeds/sport.txt"),
        ],
        rows=[CompareRow(i, report.sentences[i].text, None, [link for link in links if i in link.source])
              for i in (0, 2, 3, 4, 5)],
        only_in_report=[5],
        only_in_coverage=[SentenceRef(2, 0), SentenceRef(2, 1)],
    )


class _Skeleton(HTMLParser):
    """Tags with their attributes and the text, decimals masked (a server rounds scores to 4 places)."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[tuple] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.items.append((tag, tuple(attrs)))

    def handle_data(self, data: str) -> None:
        self.items.append(re.sub(r"\d+\.\d+", "#", data))


def skeleton(html: str) -> list[tuple]:
    parser = _Skeleton()
    parser.feed(html)
    return parser.items


def spans(html: str) -> list[str]:
    """The opening tag of every sentence in the report and coverage columns."""
    return re.findall(r'<span class="s[^"]*" data-sentence="[^"]+"[^>]*>', html)


def test_page_is_self_contained(graded: Comparison) -> None:
    html = render_comparison(graded, "report.txt")
    assert not re.search(r"""src\s*=|href\s*=\s*(?!"#)|url\(|@import|https?://""", html)
    # In-page jumps only: each ranked article with links leads to its sentences in the coverage column.
    for target in re.findall(r'href="#([^"]+)"', html):
        assert f'id="{target}"' in html
    assert "<script>" in html and "<style>" in html


def test_links_rebuilt_from_protobuf_render_the_same_page(graded: Comparison) -> None:
    rebuilt = comparison_from_pb(comparison_to_pb(graded, "report.txt"), graded.alignment.source.text,
                                 [t.text for t in graded.alignment.targets])
    assert rebuilt.rows[0].matches[0] is not rebuilt.alignment.links[0]
    html = render_comparison(rebuilt, "report.txt")
    assert skeleton(html) == skeleton(render_comparison(graded, "report.txt"))
    # Each match in the rows points at its link, which the hover script outlines on both sides.
    assert html.count('class="match"') == len(graded.alignment.links)
    assert set(re.findall(r'class="match" data-grade="\w+" data-links="(L\d+)"', html)) == {
        f"L{n}" for n in range(len(graded.alignment.links))}


def test_compare_html_through_a_server_matches_in_process(capsys, tmp_path: Path) -> None:
    folder = tmp_path / "feeds"
    folder.mkdir()
    files = {"report.txt": REPORT, "tass.txt": ARTICLES[0], "sport.txt": ARTICLES[1], "bbc.txt": BBC}
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    paths = [str(folder / name) for name in files]
    (tmp_path / "no-models").mkdir()
    with ServerThread(tmp_path / "no-models") as server:
        assert main(["compare", *paths, "--html", str(tmp_path / "server.html"), "--server", server.address]) == 0
    assert main(["compare", *paths, "--html", str(tmp_path / "local.html"), "--models-dir", str(tmp_path / "no-models")]) == 0
    assert "Traceback" not in capsys.readouterr().err
    remote = (tmp_path / "server.html").read_text(encoding="utf-8")
    local = (tmp_path / "local.html").read_text(encoding="utf-8")
    assert skeleton(remote) == skeleton(local)
    assert remote.count('class="match"') >= 4 and len(spans(remote)) > 10
    # Titles are file names; the full path stays in the tooltip.
    assert "<h1 title=\"%s\">Crosswire comparison: report.txt</h1>" % paths[0] in remote
    assert f'<td title="{paths[1]}"><a href="#article-0">tass.txt</a></td>' in remote
    assert str(folder) not in re.sub(r"<[^>]+>", "", remote)


def test_short_names() -> None:
    assert short_name("../shared/data/seeds/000_72c6.txt") == "000_72c6.txt"
    assert short_name(r"C:\feeds\bbc.txt") == "bbc.txt"
    assert short_name("target 0") == "target 0" and short_name("tass") == "tass"


def test_counts_name_both_grades_and_coverage_is_badged(graded: Comparison) -> None:
    html = render_comparison(graded, "report.txt")
    ranking = html.split('<table id="ranking">')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>(\d)</td><td[^>]*>(?:<a[^>]*>)?([^<]+)(?:</a>)?</td><td>(.*?)</td><td>[\d.]+</td><td>([^<]+)</td><td>([^<]+)</td>",
                      ranking)
    assert [(name, source, target) for _, name, _, source, target in rows] == [
        ("tass.txt", "4 same · 1 related", "4 same · 0 related"),
        ("bbc.txt", "0 same · 2 related", "0 same · 2 related"),
        ("sport.txt", "0 same · 0 related", "0 same · 0 related"),
    ]
    assert [re.sub(r"<[^>]+>", "", verdict) for *_, verdict, _, _ in rows] == ["same event", "same topic", "—"]
    assert ranking.count("report sentences linked") == 1


def test_only_linked_sentences_are_marked_and_labelled(graded: Comparison) -> None:
    html = render_comparison(graded, "report.txt")
    tags = {re.search(r'data-sentence="([^"]+)"', tag).group(1): tag for tag in spans(html)}
    grades = {key: re.search(r'data-grade="(\w+)"', tag) for key, tag in tags.items()}
    assert {key for key, grade in grades.items() if grade} == {
        "report/0", "report/2", "report/3", "report/4", "report/5",
        "0/0", "0/2", "0/3", "0/4", "2/0", "2/1"}
    # A sentence with a "same" link is a same-fact sentence, even if it also has a related one.
    assert {key for key, grade in grades.items() if grade and grade.group(1) == "same"} == {
        "report/0", "report/2", "report/3", "report/4", "0/0", "0/2", "0/3", "0/4"}
    # Its label says so in words; a report sentence's label gives its number, an article's the report
    # sentences it matches, by grade.
    assert re.search(r'data-sentence="report/5"[^>]*><span class="tag">\[5\] related</span>', html)
    assert re.search(r'data-sentence="0/4"[^>]*><span class="tag">same \[2\] · related \[5\]</span>', html)
    # Unlinked sentences carry no mark at all; the sport article, without links, is not in the coverage column.
    assert all('class="s"' in tag or "skipped" in tag for key, tag in tags.items() if not grades[key])
    assert not any(key.startswith("1/") for key in tags)


def test_evidence_shows_shared_words_and_what_differs(graded: Comparison) -> None:
    html = render_comparison(graded, "report.txt")
    rows = html.split('<table id="rows">')[1]
    assert "words: Коалиция ~ coalition" in rows and "names: Керри ~ Kerry" in rows
    assert '<span class="differs" title="stated differently">number 6 000 ≠ 8,000</span>' in rows
    assert "P(same fact) 0.91" in rows and "P(same fact) 0.08" in rows


def test_what_only_the_coverage_reports_is_grouped_by_article(graded: Comparison) -> None:
    html = render_comparison(graded, "report.txt")
    only = html.split("Only in the English coverage")[1]
    assert re.search(r"<li><b>bbc.txt</b> \(2\)<ul><li>\[0\] Kerry met[^<]*</li><li>\[1\] The coalition", only)


def test_page_renders_in_chromium(chromium: str, comparison: Comparison, tmp_path: Path) -> None:
    page = tmp_path / "comparison.html"
    page.write_text(render_comparison(comparison, "report.txt"), encoding="utf-8")
    run = load_page(chromium, page)
    assert run.console_errors == []
    links = comparison.alignment.links
    assert len(links) >= 3
    # The script ran (it counts the elements it made hoverable) and every link is drawn in the rows.
    assert re.search(r'data-hover-ready="(\d+)"', run.dom)
    assert run.dom.count('class="match"') == sum(len(row.matches) for row in comparison.rows) == len(links)
    linked_report = {i for link in links for i in link.source}
    report_column = run.dom.split("<h2>Report</h2>")[1].split("<h2>Coverage</h2>")[0]
    assert report_column.count('class="s linked') == len(linked_report)
    assert "Главы МИД НАТО" in report_column.split("</h3>")[0]  # the headline from the segmentation layer
    assert 'class="dateline"' in report_column
    # The screenshot shows a page, not a blank canvas.
    pixels = run.pixels[..., :3].astype(np.float32)
    assert pixels.std() > 20
    assert (pixels.min(axis=2) < 200).mean() > 0.02  # some ink
    assert len({tuple(p) for p in pixels[::7, ::7].reshape(-1, 3)}) > 20  # several colours: highlights


def _rgb(css: str) -> tuple[int, ...]:
    return tuple(int(v) for v in re.findall(r"\d+", css)[:3])


def test_legend_is_what_sentences_wear(chromium: str, graded: Comparison, tmp_path: Path) -> None:
    page = tmp_path / "graded.html"
    page.write_text(render_comparison(graded, "report.txt"), encoding="utf-8")
    properties = ["background-color", "border-bottom-style"]
    legend = {item["attributes"]["data-grade"]: item
              for item in computed_styles(chromium, page, "#legend [data-grade]", properties)}
    colour = {grade: legend[grade]["style"]["background-color"] for grade in ("same", "related")}
    assert colour["same"] != colour["related"] and "rgba(0, 0, 0, 0)" not in colour.values()
    assert legend["same"]["label"] == "same" and legend["related"]["label"] == "related"

    # What each sentence should wear, from the links themselves: its strongest grade.
    expected: dict[str, str] = {}
    for link in graded.alignment.links:
        for key in [f"report/{i}" for i in link.source] + [f"{link.target_doc}/{j}" for j in link.target]:
            if expected.get(key) != "same":
                expected[key] = link.grade.value
    sentences = computed_styles(chromium, page, "[data-sentence]", properties)
    assert len(sentences) > len(expected) > 0
    for item in sentences:
        key, style = item["attributes"]["data-sentence"], item["style"]
        if key in expected:
            assert style["background-color"] == colour[expected[key]], key
            assert expected[key] in item["label"].split(), (key, item["label"])
        else:  # unmarked: no colour, no underline
            assert style["background-color"] == "rgba(0, 0, 0, 0)" and style["border-bottom-style"] == "none", key
    matches = computed_styles(chromium, page, "#rows .match", properties)
    grades = [link.grade.value for row in graded.rows for link in row.matches]
    assert [m["style"]["background-color"] for m in matches] == [colour[g] for g in grades]
    assert [m["label"] for m in matches] == grades

    # And on the screenshot: both colours are drawn.
    pixels = load_page(chromium, page).pixels[..., :3].reshape(-1, 3)
    for grade in ("same", "related"):
        assert (pixels == np.array(_rgb(colour[grade]))).all(axis=1).sum() > 500, grade


def _eight_articles() -> Comparison:
    """A 60-sentence report against eight 60-sentence articles, each with five links and many shared names."""
    report = presegment("\n".join(f"Предложение отчёта номер {i} о переговорах в Брюсселе." for i in range(60)), "ru")
    articles = [presegment("\n".join(f"Sentence {j} of article {k} about the talks in Brussels." for j in range(60)), "en")
                for k in range(8)]
    links = [Link([i], k, [i], 0.3, Grade.SAME if i % 2 else Grade.RELATED, Evidence(0.7))
             for k in range(8) for i in range(5 * k, 5 * k + 5)]
    linked = {i for link in links for i in link.source}
    names = [f"/home/analyst/feeds/2016-12-06/outlet_{k}.txt" for k in range(8)]
    alignment = Alignment(report, articles, names, AlignMode.COMPARABLE, links,
                          unaligned_source=[i for i in range(60) if i not in linked],
                          unaligned_targets=[[j for j in range(60) if not 5 * k <= j < 5 * k + 5] for k in range(8)])
    shared = [f"{name}{n}" for n in range(12) for name in ("Stoltenberg", "Lavrov", "Brussels", "Kerry")]
    return Comparison(
        alignment,
        documents=[RankedDocument(k, names[k], 0.5 - k / 20, shared_names=shared) for k in range(8)],
        rows=[CompareRow(i, report.sentences[i].text, None, [link for link in links if i in link.source])
              for i in range(60)],
    )


def test_eight_articles_of_sixty_sentences_stay_readable(chromium: str, tmp_path: Path) -> None:
    page = tmp_path / "eight.html"
    page.write_text(render_comparison(_eight_articles(), "report.txt"), encoding="utf-8")
    (legend,) = computed_styles(chromium, page, "#legend", [])
    assert legend["top"] < 1000  # the ranking of eight articles and the legend fit the first screen
    report, *articles = computed_styles(chromium, page, ".doc", [])
    assert len(articles) == 8
    # Articles show their linked paragraphs; the 55 others of each fold away.
    assert sum(article["height"] for article in articles) < 1.5 * report["height"]


def test_console_errors_are_detected(chromium: str, tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p><script>undefinedFunction();</script></body></html>")
    assert any("undefinedFunction" in line for line in load_page(chromium, page).console_errors)


def test_presegmented_comparison_renders_lines(chromium: str, tmp_path: Path) -> None:
    comparison = Aligner().compare(presegment("Строка о Керри.\nСтрока о НАТО.", "ru"),
                                   [presegment("A line about NATO.\nA line about Kerry.", "en")])
    page = tmp_path / "lines.html"
    page.write_text(render_comparison(comparison), encoding="utf-8")
    run = load_page(chromium, page)
    assert run.console_errors == [] and run.dom.count('class="match"') == len(comparison.alignment.links) == 2
