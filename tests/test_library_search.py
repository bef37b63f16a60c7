"""Library search with the real encoder on a SQLite file: a report finds its own coverage, time counts,
bad articles are refused one by one, an article added twice is one, and topic alone is not the same event."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from crosswire_server.alignment.embeddings import Embedder, default_embedder
from crosswire_server.errors import InvalidInput
from crosswire_server.library import ArticleInput, Library
from crosswire_server.alignment.inputs import eligible
from crosswire_server.budget import MemoryBudget
from crosswire_server.library.search import MAX_BATCH_PAIRS, _batch_bytes, _batches, report_date
from crosswire_server.segmentation import segment

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SEEDS = DATA / "seeds"
WMT21 = DATA / "eval" / "ru-en" / "wmt21-docs.tsv"

REPORT = """Землетрясение магнитудой 6,4 произошло у берегов Хоккайдо

ТОКИО, 14 марта — РИА Новости. Землетрясение магнитудой 6,4 произошло в среду у восточного побережья японского острова Хоккайдо, сообщило Японское метеорологическое агентство.

Очаг находился на глубине 40 километров в 70 километрах от города Кусиро.

Угрозы цунами нет, заявили в агентстве.

По данным местных властей, пострадали 12 человек, около 3 000 домов остались без электричества.

Премьер-министр Японии Фумио Кисида поручил правительству собрать информацию о последствиях.
"""

COVERAGE = """Strong quake hits Hokkaido, 12 hurt

A magnitude 6.4 earthquake struck off the east coast of Japan's northern island of Hokkaido on Wednesday, the Japan Meteorological Agency said.

The quake was centred 70 kilometres from the city of Kushiro at a depth of 40 kilometres. There was no threat of a tsunami, the agency said.

Twelve people suffered minor injuries and about 3,000 homes lost power, local officials said.

Prime Minister Fumio Kishida told the government to gather information on the damage.
"""

TOPIC_ALIKE = {
    "taiwan.txt": """Earthquake shakes eastern Taiwan

A magnitude 5.8 earthquake struck near Hualien on Taiwan's east coast on Monday, the Central Weather Bureau said.
Buildings swayed in the capital Taipei, and train services were briefly halted.
The island sits on the Pacific Ring of Fire and is often hit by quakes.
""",
    "drill.txt": """Kushiro holds evacuation drill

Residents of Kushiro in Hokkaido took part in an evacuation drill on Sunday to prepare for a possible large earthquake.
Around 2,000 people walked to higher ground as sirens sounded across the port city.
City officials said the exercise would be repeated every autumn.
""",
    "anniversary.txt": """Japan remembers 2011 disaster

Japan on Monday marked thirteen years since the earthquake and tsunami that devastated its northeastern coast in 2011.
Emperor Naruhito and Prime Minister Fumio Kishida attended a memorial ceremony in Tokyo.
More than 18,000 people died in the disaster, which also caused the Fukushima nuclear accident.
""",
    "football.txt": """United win at the death

Manchester United beat Liverpool 2-1 on Sunday with a goal in the final minute of stoppage time.
The win lifts United to sixth place in the Premier League table.
""",
}


@pytest.fixture(scope="module")
def encoder() -> Embedder:
    embedder = default_embedder()
    embedder.load()
    return embedder


@pytest.fixture
def library(tmp_path: Path, encoder: Embedder) -> Iterator[Library]:
    opened = Library.open(tmp_path / "library.sqlite3", encoder=encoder)
    yield opened
    opened.close()


def article(name: str, text: str, published: str | None = "2024-03-13T23:00:00Z", **fields: str) -> ArticleInput:
    return ArticleInput(name, text, language="en", published=published, **fields)  # type: ignore[arg-type]


def test_a_report_finds_its_coverage_over_articles_on_its_topic(library: Library) -> None:
    results = library.add([article("coverage.txt", COVERAGE),
                           *(article(name, text) for name, text in TOPIC_ALIKE.items())])
    assert [r.status for r in results] == ["added"] * 5
    hits = library.search(REPORT, "ru", k=5)
    assert hits[0].article.name == "coverage.txt"
    assert hits[0].coverage == "same_event"
    assert {"Hokkaido", "Kushiro", "Kishida"} <= set(hits[0].shared_names)
    assert all(hit.coverage != "same_event" for hit in hits[1:])
    assert hits[0].score > hits[1].score + 0.2
    assert [(hit.article.name, hit.score, hit.coverage) for hit in hits if hit.article.name == "football.txt"] \
        in ([], [("football.txt", 0.0, "unrelated")])  # shares nothing with the report
    # Pairs index the report's segmented sentences and the article's kept ones.
    report = segment(REPORT, "ru")
    stored = library.store.sentences([hits[0].article.id])[hits[0].article.id][0]
    for i, j, similarity in hits[0].pairs:
        assert 0 < similarity <= 1
        assert report.sentences[i].text and stored[j]
    assert any("6,4" in report.sentences[i].text and "6.4" in stored[j] for i, j, _ in hits[0].pairs)


@pytest.mark.skipif(not WMT21.exists(), reason=f"the shared evaluation data is absent ({WMT21})")
def test_wmt21_reports_find_their_references(library: Library) -> None:
    """Twenty WMT21 documents' English references in a library; each Russian document finds its own first."""
    docs: dict[str, tuple[list[str], list[str]]] = {}
    with WMT21.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            ru, en = docs.setdefault(row["docid"], ([], []))
            ru.append(row["src_ru"])
            en.append(row["ref_en_A"])
    chosen = list(docs.items())[:20]
    library.add(article(name, "\n".join(en), published=None) for name, (_, en) in chosen)
    for name, (ru, _) in chosen[:8]:
        hits = library.search("\n".join(ru), "ru", k=3)
        assert hits[0].article.name == name
        assert hits[0].coverage == "same_event"


def test_a_translator_gives_the_aligner_its_translations(library: Library) -> None:
    """With a model for the pair, the report's sentences are translated for the coverage evidence."""
    library.add([article("coverage.txt", COVERAGE), article("taiwan.txt", TOPIC_ALIKE["taiwan.txt"])])
    asked: list[list[str]] = []

    def translate(sentences: list[str]) -> list[str]:
        asked.append(sentences)
        return [f"translated {n}" for n in range(len(sentences))]

    hits = library.search(REPORT, "ru", k=2, translator=translate)
    assert hits[0].article.name == "coverage.txt"
    kept = [s.text for s in segment(REPORT, "ru").sentences if s.role.value in ("headline", "body")]
    assert asked == [kept]


def test_the_time_window_demotes_or_leaves_out_far_articles(library: Library) -> None:
    library.add([
        article("current.txt", COVERAGE, published="2024-03-14T08:00:00Z"),
        article("old.txt", COVERAGE.replace("Strong quake", "Quake"), published="2022-03-14T08:00:00Z"),
    ])
    undated = {hit.article.name: hit.score for hit in library.search(REPORT, "ru", k=2)}
    assert abs(undated["current.txt"] - undated["old.txt"]) < 0.05

    dated = library.search(REPORT, "ru", k=2, published="2024-03-14")
    assert [hit.article.name for hit in dated] == ["current.txt", "old.txt"]
    assert dated[1].score < undated["old.txt"] / 10
    assert dated[1].coverage != "same_event"  # two years apart: not the same event, whatever the sentences say

    assert [hit.article.name for hit in library.search(REPORT, "ru", k=2, published="2024-03-14",
                                                       exclude_outside=True)] == ["current.txt"]
    wide = library.search(REPORT, "ru", k=2, published="2024-03-14", window_days=800)
    assert {hit.article.name for hit in wide} == {"current.txt", "old.txt"} and min(h.score for h in wide) > 0.5

    # The report's own dated timestamp places it when the request does not.
    stamped = "14 марта 2022, 10:15\n\n" + REPORT
    assert report_date(segment(stamped, "ru")) == datetime(2022, 3, 14, tzinfo=UTC)
    assert library.search(stamped, "ru", k=1)[0].article.name == "old.txt"


def test_bad_articles_are_refused_each_with_its_reason_and_the_rest_go_in(library: Library) -> None:
    results = library.add([
        article("first.txt", COVERAGE),
        article("empty.txt", " \n\t "),
        article("binary.txt", "PNG\x00\x01\x02 data"),
        article("huge.txt", "word " * 40_001),
        ArticleInput("german.txt", "Der Bundestag hat am Donnerstag ein Gesetz beschlossen, das die Renten erhöht "
                                   "und die Steuern für Familien mit Kindern senkt."),
        article("undated.txt", TOPIC_ALIKE["taiwan.txt"], published="last Tuesday"),
        ArticleInput("", TOPIC_ALIKE["drill.txt"]),
        article("last.txt", TOPIC_ALIKE["football.txt"]),
    ])
    statuses = [(r.name, r.status) for r in results]
    assert statuses == [("first.txt", "added"), ("empty.txt", "refused"), ("binary.txt", "refused"),
                        ("huge.txt", "refused"), ("german.txt", "refused"), ("undated.txt", "refused"),
                        ("", "refused"), ("last.txt", "added")]
    reasons = [r.reason for r in results if r.status == "refused"]
    assert "empty" in reasons[0]
    assert "binary" in reasons[1] and "U+0000" in reasons[1]
    assert "200,000" in reasons[2] and "max_chars" in reasons[2]
    assert "'de' is not supported" in reasons[3]
    assert "published" in reasons[4] and "ISO 8601" in reasons[4]
    assert "name" in reasons[5]
    assert len(set(reasons)) == len(reasons)
    assert all(r.id == "" for r in results if r.status == "refused")
    assert library.stats().articles == 2

def test_bad_searches_are_refused_naming_the_field(library: Library) -> None:
    assert library.search(REPORT, "ru") == []  # an empty library finds nothing
    with pytest.raises(InvalidInput, match="report: the article is empty"):
        library.search("   ", "ru")
    with pytest.raises(InvalidInput, match="report: declared language is 'en' but the text looks 'ru'"):
        library.search(REPORT, "en")
    with pytest.raises(InvalidInput, match="k: 0 is not between 1 and 200"):
        library.search(REPORT, "ru", k=0)
    with pytest.raises(InvalidInput, match="window_days"):
        library.search(REPORT, "ru", window_days=-1)
    with pytest.raises(InvalidInput, match="published: 'soon' is not an ISO 8601 date"):
        library.search(REPORT, "ru", published="soon")


def test_the_same_article_added_twice_is_one(library: Library) -> None:
    first = library.add([article("a.txt", COVERAGE, url="https://example.com/quake")])[0]
    again = library.add([article("a-copy.txt", COVERAGE.replace("\n\n", "\n"))])[0]
    assert (first.status, again.status, again.id) == ("added", "unchanged", first.id)
    changed = library.add([article("a.txt", COVERAGE + "\nAftershocks continued overnight.\n",
                                   url="https://example.com/quake")])[0]
    assert (changed.status, changed.id) == ("replaced", first.id)
    assert library.stats().articles == 1
    assert library.get(first.id).text.endswith("Aftershocks continued overnight.\n")
    assert [hit.article.id for hit in library.search(REPORT, "ru", k=5)] == [first.id]


@pytest.mark.skipif(not SEEDS.exists(), reason=f"the seed articles are absent ({SEEDS})")
def test_syria_articles_of_2015_and_2017_are_not_the_same_event_as_a_2016_report(library: Library) -> None:
    """Seeds 002 and 004 (autumn 2015) and 003 (February 2017) share the 2016 reports' topic, not their events."""
    dates = {"002": "2015-10-02", "003": "2017-02-21", "004": "2015-11-27"}
    library.add(article(prefix, next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8"), published=day)
                for prefix, day in dates.items())
    raqqa = next(SEEDS.glob("000_*.txt")).read_text(encoding="utf-8")
    nato = next(SEEDS.glob("001_*.txt")).read_text(encoding="utf-8")
    assert report_date(segment(nato, "ru")) == datetime(2016, 12, 6, tzinfo=UTC)
    for hits in (library.search(raqqa, "ru", k=3), library.search(raqqa, "ru", k=3, published="2016-10-25"),
                 library.search(nato, "ru", k=3)):
        assert len(hits) == 3
        assert all(hit.coverage != "same_event" for hit in hits), [(h.article.name, h.coverage) for h in hits]
    undated = {hit.article.name: hit.score for hit in library.search(raqqa, "ru", k=3)}
    dated = {hit.article.name: hit.score for hit in library.search(raqqa, "ru", k=3, published="2016-10-25")}
    assert all(dated[name] < undated[name] / 5 for name in dates)


def test_a_long_stored_article_is_aligned_past_the_align_requests_per_document_limit(library: Library) -> None:
    """Ingest keeps up to 2,000 sentences an article; search's aligner takes them as stored, without the
    per-document limit of Align requests (1,000) or a second language check."""
    filler = "\n".join(f"Archive note {i} lists item number {i * 7} of the port register." for i in range(1_100))
    assert library.add([article("long.txt", COVERAGE + "\n" + filler)])[0].status == "added"
    budget = MemoryBudget(10**9)
    with budget.reserve(1) as search:  # as a Search request's: charged for the batch it aligns
        hits = library.search(REPORT, "ru", k=1)
    assert hits[0].article.name == "long.txt" and hits[0].coverage == "same_event"
    stored = library.store.sentences([hits[0].article.id])[hits[0].article.id][0]
    rows = len(eligible(segment(REPORT, "ru")))
    assert len(stored) > 1_100 and search.size >= _batch_bytes(rows, [len(stored)])
    assert budget.used == 0


def test_search_aligns_at_most_max_batch_pairs_at_once_and_a_larger_article_alone() -> None:
    def item(sentences: int) -> tuple:
        return SimpleNamespace(sentences=["s"] * sentences), None, 0.0

    sizes = [[len(c.sentences) for c, _, _ in batch]
             for batch in _batches([item(n) for n in (1_000, 1_000, 2_000, 1_500, 3, 3)], rows=2_000)]
    assert MAX_BATCH_PAIRS == 4_000_000  # 2,000 report sentences: 2,000 article sentences a call
    assert sizes == [[1_000, 1_000], [2_000], [1_500, 3, 3]]
    assert [len(b) for b in _batches([item(5)] * 25, rows=10)] == [10, 10, 5]  # and _ALIGN_BATCH articles
