"""The side-by-side page in a real headless Chromium: no console errors, every link drawn, a non-blank screenshot."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from crosswire.sidebyside import render_comparison
from crosswire_server.alignment import Aligner, prepare, presegment
from support.chromium import find_chromium, load_page

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


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip("Debian's chromium is not installed and could not be installed with apt-get (needs root and "
                    "the Debian package archive)")
    return path


@pytest.fixture(scope="module")
def comparison():
    return Aligner().compare(prepare(REPORT, "ru"), [prepare(text, "en") for text in ARTICLES], names=["tass", "sport"])


def test_page_is_self_contained(comparison) -> None:
    html = render_comparison(comparison, "report.txt")
    assert not re.search(r"""(src|href)\s*=|url\(|@import|https?://""", html)
    assert "<script>" in html and "<style>" in html


def test_page_renders_in_chromium(chromium: str, comparison, tmp_path: Path) -> None:
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
    # A link wears one colour wherever it is drawn (report, coverage, rows).
    colours: dict[str, set[str]] = {}
    for ids, colour in re.findall(r'data-links="([^"]+)" style="background:([^"]+)"', run.dom):
        colours.setdefault(ids.split()[0], set()).add(colour)
    assert len(colours) == len(links) and all(len(c) == 1 for c in colours.values())
    # The screenshot shows a page, not a blank canvas.
    pixels = run.pixels[..., :3].astype(np.float32)
    assert pixels.std() > 20
    assert (pixels.min(axis=2) < 200).mean() > 0.02  # some ink
    assert len({tuple(p) for p in pixels[::7, ::7].reshape(-1, 3)}) > 20  # several colours: highlights


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
