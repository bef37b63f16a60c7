"""A Comparison as one self-contained HTML page (inline CSS and script, no external requests).

The page ranks the articles (with their coverage verdict and how many
sentences are linked, per grade), then shows the report and the linked
coverage side by side, then one row per report sentence. A linked sentence
wears its grade twice, as a colour and as a label ("same" or "related"), so the
page reads the same without colour; the colours come from one rule per grade,
which the legend shows. Unlinked sentences are left plain, sentences that took
no part (captions, boilerplate, repeats) are small and faint. Hovering a
sentence shows its links' scores and evidence and outlines its counterparts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from pathlib import PurePosixPath, PureWindowsPath

from crosswire.types import Comparison, Coverage, Document, Grade, Link, Role, SharedTerm

_STYLE = """
:root{--same:#a9d1ff;--same-ink:#0b4f9c;--related:#ffe08f;--related-ink:#8a5a00;--differs:#c0141c}
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{padding:12px 24px;background:#1f3b57;color:#fff}
header h1{font-size:20px;margin:0}
main{padding:12px 24px}
table{border-collapse:collapse;width:100%;margin:8px 0 20px}
td,th{border:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}
th{background:#eef2f6}
.columns{display:grid;grid-template-columns:1fr 1fr;gap:24px;align-items:start}
.doc{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 14px;margin-bottom:14px}
.doc h3{margin:4px 0 6px}
.docname{font-weight:600;color:#1f3b57}
.dateline{color:#555;font-style:italic}
.s{position:relative;border-radius:3px;padding:1px 2px}
.linked{cursor:pointer}
[data-grade=same]{background:var(--same);border-bottom:2px solid var(--same-ink)}
[data-grade=related]{background:var(--related);border-bottom:2px dotted var(--related-ink)}
.tag{font:bold 11px/1 system-ui,sans-serif;padding:1px 4px;margin-right:4px;border-radius:3px;color:#fff;
  vertical-align:1px;white-space:nowrap}
[data-grade=same]>.tag{background:var(--same-ink)}
[data-grade=related]>.tag{background:var(--related-ink)}
.skipped{color:#999;font-size:12px}
.tip{display:none;position:absolute;left:0;top:100%;z-index:5;background:#333;color:#fff;font-size:12px;
  padding:4px 8px;border-radius:4px;min-width:260px;max-width:480px;font-weight:normal}
.s:hover>.tip{display:block}
.tip>.line+.line{border-top:1px solid #777;margin-top:4px;padding-top:4px}
.tip .differs{color:#ff9a9a}
.focus{outline:3px solid #d33}
.match{margin:2px 0 6px;padding:2px 4px;border-radius:3px}
.why{font-size:12px;color:#333;margin-top:2px}
.line{display:block}
.differs{color:var(--differs);text-decoration:line-through}
.mt{color:#555}
.badge{display:inline-block;font-size:12px;font-weight:600;padding:0 6px;border-radius:9px;border:1px solid}
.badge[data-coverage=same_event]{color:var(--same-ink)}
.badge[data-coverage=same_topic]{color:var(--related-ink)}
.legend{background:#fff;border:1px solid #ddd;border-radius:6px;padding:6px 12px;line-height:2.2}
.legend>span{margin-right:16px}
details.gap>summary{color:#777;font-size:13px;cursor:pointer;margin:6px 0}
"""

_SCRIPT = """
document.querySelectorAll('[data-links]').forEach(function (el) {
  var ids = el.dataset.links.split(' ');
  function mark(on) {
    ids.forEach(function (id) {
      document.querySelectorAll('[data-links~="' + id + '"]').forEach(function (other) {
        other.classList.toggle('focus', on);
      });
    });
  }
  el.addEventListener('mouseenter', function () { mark(true); });
  el.addEventListener('mouseleave', function () { mark(false); });
});
document.body.dataset.hoverReady = String(document.querySelectorAll('[data-links]').length);
"""

#: Shared names listed per ranked article before "… +N" (the rest on hover).
SHARED_NAMES_SHOWN = 8
_COVERAGE_LABELS = {Coverage.SAME_EVENT: "same event", Coverage.SAME_TOPIC: "same topic"}


def short_name(name: str) -> str:
    """A document's name without its folders ("../data/bbc.txt" -> "bbc.txt"); other names unchanged."""
    for path in (PurePosixPath(name), PureWindowsPath(name)):
        if len(path.parts) > 1 and path.name:
            return path.name
    return name


def link_key(link: Link) -> tuple[tuple[int, ...], int, tuple[int, ...]]:
    """What identifies a link whatever object carries it (a link rebuilt from protobuf is a new object)."""
    return tuple(link.source), link.target_doc, tuple(link.target)


def _indices(indices: list[int]) -> str:
    return ", ".join(map(str, indices))


def _strongest(links: list[Link]) -> Grade:
    """A sentence with any "same" link is a same-fact sentence; otherwise its links are related."""
    return Grade.SAME if any(link.grade is Grade.SAME for link in links) else Grade.RELATED


def _graded(pairs: Iterable[tuple[int, Grade]]) -> dict[int, Grade]:
    """Each sentence's strongest grade, from (sentence, grade of one of its links) pairs."""
    graded: dict[int, Grade] = {}
    for index, grade in pairs:
        graded[index] = Grade.SAME if Grade.SAME in (grade, graded.get(index)) else Grade.RELATED
    return graded


def _grade_counts(graded: dict[int, Grade]) -> str:
    """How many of some sentences are linked by grade: "2 same · 1 related"."""
    same = sum(grade is Grade.SAME for grade in graded.values())
    return f"{same} same · {len(graded) - same} related"


def _terms(label: str, terms: list[SharedTerm]) -> str:
    return f"{label}: " + ", ".join(escape(f"{t.source} ~ {t.target}") for t in terms) if terms else ""


def _why(link: Link) -> str:
    """Why a link was made, as HTML: shared names, numbers and words, then what the two sides state differently."""
    evidence = link.evidence
    parts = [_terms("names", evidence.names), _terms("numbers", evidence.numbers), _terms("words", evidence.words)]
    if evidence.disagreements:
        parts.append("differs: " + ", ".join(
            f'<span class="differs" title="stated differently">{escape(f"{d.kind.value} {d.source} ≠ {d.target}")}'
            "</span>" for d in evidence.disagreements))
    scores = [f"embedding {evidence.embedding_similarity:.3f}"]
    if evidence.translation_similarity is not None:
        scores.append(f"translation chrF {evidence.translation_similarity:.3f}")
    if evidence.same_probability is not None:
        scores.append(f"P(same fact) {evidence.same_probability:.2f}")
    return " · ".join(part for part in parts if part) + f'<span class="line">{" · ".join(scores)}</span>'


@dataclass
class _Page:
    """What every part of the page needs: the comparison, its links numbered, and short names."""

    comparison: Comparison

    def __post_init__(self) -> None:
        alignment = self.comparison.alignment
        self.links = alignment.links
        self.names = [short_name(name) for name in alignment.target_names]
        self.number = {link_key(link): n for n, link in enumerate(self.links)}
        self.source_links: dict[int, list[int]] = defaultdict(list)
        self.target_links: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        for n, link in enumerate(self.links):
            for i in link.source:
                self.source_links[i].append(n)
            for j in link.target:
                self.target_links[link.target_doc][j].append(n)

    def tip(self, numbers: list[int]) -> str:
        """The hover box of a sentence: each of its links with grade, score, both sides and evidence."""
        lines = []
        for link in (self.links[n] for n in numbers):
            where = f"{self.names[link.target_doc]} [{_indices(link.target)}] ↔ report [{_indices(link.source)}]"
            lines.append(f'<span class="line"><b>{link.grade.value}</b> {link.score:+.3f} · {escape(where)}'
                         f'<span class="line">{_why(link)}</span></span>')
        return "".join(lines)

    def label(self, key: str, index: int, numbers: list[int]) -> str:
        """A linked sentence's label: a report sentence's number and grade ("[6] same"), or the report
        sentences an article sentence matches, per grade ("same [2] · related [5]")."""
        if key == "report":
            return f"[{index}] {_strongest([self.links[n] for n in numbers]).value}"
        sources = {grade: sorted({i for n in numbers if self.links[n].grade is grade for i in self.links[n].source})
                   for grade in Grade}
        return " · ".join(f"{grade.value} [{_indices(found)}]" for grade, found in sources.items() if found)

    def sentence(self, text: str, key: str, index: int, numbers: list[int]) -> str:
        """A linked sentence: its grade as colour and label, its links for the hover script, its evidence tip."""
        grade = _strongest([self.links[n] for n in numbers]).value
        ids = " ".join(f"L{n}" for n in numbers)
        return (f'<span class="s linked" data-sentence="{key}/{index}" data-grade="{grade}" data-links="{ids}">'
                f'<span class="tag">{self.label(key, index, numbers)}</span>{text}'
                f'<span class="tip">{self.tip(numbers)}</span></span>')

    def document(self, document: Document, links_of: dict[int, list[int]], unaligned: set[int], key: str) -> str:
        """A document's sentences by paragraph, headline and dateline set apart ("report" or an article's number).

        In an article, runs of paragraphs without a linked sentence fold away.
        """
        report = key == "report"
        paragraphs: dict[int, list[str]] = defaultdict(list)
        linked_paragraphs: set[int] = set()
        headline, dateline = [], []
        for sentence in document.sentences:
            mine = links_of.get(sentence.index, [])
            text = escape(sentence.text)
            where = f'data-sentence="{key}/{sentence.index}"'
            if mine:
                html = self.sentence(text, key, sentence.index, mine)
                linked_paragraphs.add(sentence.paragraph)
            elif sentence.index in unaligned:
                html = f'<span class="s" {where}>{text}</span>'
            else:
                html = f'<span class="s skipped" {where} title="{sentence.role.value}, not compared">{text}</span>'
            if sentence.role is Role.HEADLINE and sentence.duplicate_of is None and not headline:
                headline.append(html)
            elif sentence.role in (Role.DATELINE, Role.TIMESTAMP):
                dateline.append(html)
            else:
                paragraphs[sentence.paragraph].append(html)
        body, gap = [], []
        for number, parts in sorted(paragraphs.items()):
            html = f"<p>{' '.join(parts)}</p>"
            if report or number in linked_paragraphs:
                body.append(_fold(gap) + html)
                gap = []
            else:
                gap.append(html)
        head = f"<h3>{' '.join(headline)}</h3>" if headline else ""
        line = f'<div class="dateline">{" ".join(dateline)}</div>' if dateline else ""
        return head + line + "".join(body) + _fold(gap)

    def match(self, link: Link) -> str:
        """One matched group of English sentences in a side-by-side row."""
        number = self.number.get(link_key(link))
        ids = f' data-links="L{number}"' if number is not None else ""
        target = self.comparison.alignment.targets[link.target_doc]
        return (f'<div class="match" data-grade="{link.grade.value}"{ids}><span class="tag">{link.grade.value}</span>'
                f"<b>{escape(self.names[link.target_doc])}</b> [{_indices(link.target)}] "
                f"{link.score:+.3f}<br>{escape(' '.join(target.sentences[j].text for j in link.target))}"
                f'<div class="why">{_why(link)}</div></div>')


def _fold(paragraphs: list[str]) -> str:
    """Paragraphs without a counterpart, folded when there are two or more."""
    if len(paragraphs) < 2:
        return "".join(paragraphs)
    return (f'<details class="gap"><summary>{len(paragraphs)} paragraphs without a linked sentence</summary>'
            f'{"".join(paragraphs)}</details>')


def _coverage_badge(coverage: Coverage) -> str:
    label = _COVERAGE_LABELS.get(coverage)
    return f'<span class="badge" data-coverage="{coverage.value}">{label}</span>' if label else ""


def _shared_names(names: list[str]) -> str:
    """The first few shared names; all of them on hover."""
    shown = ", ".join(names[:SHARED_NAMES_SHOWN])
    if len(names) <= SHARED_NAMES_SHOWN:
        return escape(shown)
    return f'<span title="{escape(", ".join(names))}">{escape(shown)} … +{len(names) - SHARED_NAMES_SHOWN}</span>'


def _article_name(page: _Page, k: int) -> str:
    """An article's short name, a jump to its sentences in the coverage column when it has any there."""
    name = escape(page.names[k])
    return f'<a href="#article-{k}">{name}</a>' if k in page.target_links else name


def _ranking(page: _Page) -> str:
    """The ranked articles: verdict, score, and linked sentences on each side counted by grade."""
    rows = []
    for position, d in enumerate(page.comparison.documents, 1):
        links = [link for link in page.links if link.target_doc == d.target_doc]
        source = _graded((i, link.grade) for link in links for i in link.source)
        target = _graded((j, link.grade) for link in links for j in link.target)
        verdict = _coverage_badge(d.coverage) or '<span title="not judged to cover the same event or topic">—</span>'
        rows.append(
            f'<tr><td>{position}</td><td title="{escape(d.name)}">{_article_name(page, d.target_doc)}</td><td>{verdict}</td>'
            f"<td>{d.score:.3f}</td><td>{_grade_counts(source)}</td><td>{_grade_counts(target)}</td>"
            f"<td>{_shared_names(d.shared_names)}</td></tr>"
        )
    return (
        "<table id=\"ranking\"><tr><th>#</th><th>article</th><th>coverage</th><th>score</th>"
        "<th>report sentences linked</th><th>article sentences linked</th><th>shared names</th></tr>"
        + "".join(rows) + "</table>"
    )


_LEGEND = """<p class="legend" id="legend">
<span class="s linked" data-grade="same"><span class="tag">same</span>same fact</span>
<span class="s linked" data-grade="related"><span class="tag">related</span>related, not the same fact</span>
<span class="s">plain: no counterpart</span>
<span class="s skipped">small grey: not compared (caption, boilerplate, repeat)</span><br>
<span>[n]: report sentence n</span>
<span>evidence (hover a sentence): shared names, numbers and words;
<span class="differs">struck through in red</span>: stated differently</span>
<span><span class="badge" data-coverage="same_event">same event</span>
<span class="badge" data-coverage="same_topic">same topic</span> what an article covers</span>
</p>"""


def render_comparison(comparison: Comparison, report_name: str = "report") -> str:
    """The whole page as one HTML string."""
    page = _Page(comparison)
    alignment = comparison.alignment
    by_doc = {d.target_doc: d for d in comparison.documents}
    unaligned = defaultdict(set, {k: set(indices) for k, indices in enumerate(alignment.unaligned_targets)})
    shown = [d.target_doc for d in comparison.documents if d.target_doc in page.target_links]
    coverage = "".join(
        f'<div class="doc" id="article-{k}"><div class="docname" title="{escape(alignment.target_names[k])}">{escape(page.names[k])} '
        f"{_coverage_badge(by_doc[k].coverage)}</div>"
        + page.document(alignment.targets[k], page.target_links[k], unaligned[k], str(k))
        + "</div>"
        for k in shown
    ) or "<p>No article shares coverage with the report.</p>"
    report = page.document(alignment.source, page.source_links, set(alignment.unaligned_source), "report")

    rows = []
    for row in comparison.rows:
        matches = "".join(page.match(link) for link in row.matches) or "only in the report"
        translation = escape(row.translation) if row.translation else '<span class="skipped">no translation model</span>'
        rows.append(f"<tr><td>{row.source}</td><td>{escape(row.text)}</td><td class=\"mt\">{translation}</td>"
                    f"<td>{matches}</td></tr>")
    only_by_article: dict[int, list[int]] = defaultdict(list)
    for ref in comparison.only_in_coverage:
        only_by_article[ref.target_doc].append(ref.index)
    only_coverage = "".join(
        f"<li><b>{escape(page.names[k])}</b> ({len(indices)})<ul>"
        + "".join(f"<li>[{j}] {escape(alignment.targets[k].sentences[j].text)}</li>" for j in indices)
        + "</ul></li>"
        for k, indices in only_by_article.items()
    )
    only_report = "".join(
        f"<li>[{i}] {escape(alignment.source.sentences[i].text)}</li>" for i in comparison.only_in_report
    )
    title = escape(short_name(report_name))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>Crosswire: {title}</title><style>{_STYLE}</style></head>
<body data-link-count="{len(page.links)}"><header><h1 title="{escape(report_name)}">Crosswire comparison: {title}</h1></header><main>
<h2>Articles ranked by shared coverage</h2>
{_ranking(page)}
{_LEGEND}
<div class="columns"><section><h2>Report</h2><div class="doc">{report}</div></section>
<section><h2>Coverage</h2>{coverage}</section></div>
<h2>Side by side</h2>
<table id="rows"><tr><th>#</th><th>report</th><th>machine translation</th><th>matched coverage</th></tr>{"".join(rows)}</table>
<h2>Only in the report: no "same" link ({len(comparison.only_in_report)})</h2><ul>{only_report}</ul>
<h2>Only in the English coverage: no "same" link ({len(comparison.only_in_coverage)})</h2><ul>{only_coverage}</ul>
</main><script>{_SCRIPT}</script></body></html>
"""
