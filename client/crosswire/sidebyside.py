"""A Comparison as one self-contained HTML page (inline CSS and script, no external requests).

The page shows the ranked articles, then the report and the matching coverage
side by side: a report sentence and the coverage it is linked to share a
colour, hovering one shows its score
and evidence and outlines its counterparts, sentences without a counterpart
are greyed and dashed, and sentences that took no part (captions,
boilerplate, duplicates) are small and faint. Below, the compare rows:
original | machine translation | matched English sentences.
"""

from __future__ import annotations

from collections import defaultdict
from html import escape

from crosswire.types import Comparison, Document, Grade, Link, Role

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{padding:12px 24px;background:#1f3b57;color:#fff}
header h1{font-size:20px;margin:0}
main{padding:12px 24px}
table{border-collapse:collapse;width:100%;margin:8px 0 20px}
td,th{border:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}
th{background:#eef2f6}
.columns{display:grid;grid-template-columns:1fr 1fr;gap:24px}
.doc{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 14px;margin-bottom:14px}
.doc h2,.doc h3{margin:4px 0 6px}
.dateline{color:#555;font-style:italic}
.s{position:relative;border-radius:3px;padding:1px 2px}
.linked{cursor:pointer}
.related{border-bottom:2px dotted #888}
.unmatched{color:#777;border-bottom:1px dashed #bbb}
.skipped{color:#aaa;font-size:12px}
.s .tip{display:none;position:absolute;left:0;top:100%;z-index:5;background:#333;color:#fff;font-size:12px;
  padding:4px 8px;border-radius:4px;white-space:pre-line;min-width:220px}
.s:hover .tip{display:block}
.focus{outline:3px solid #d33}
.match{margin:2px 0;padding:2px 4px;border-radius:3px}
.mt{color:#555}
.legend span{margin-right:14px}
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


def _colour(number: int) -> str:
    """A light background colour, spread around the hue circle by number."""
    return f"hsl({(number * 137.508) % 360:.0f},70%,82%)"


def _link_colours(links: list[Link]) -> list[str]:
    """One colour per report sentence: every link of a sentence, on both sides, wears it."""
    order = {i: n for n, i in enumerate(sorted({link.source[0] for link in links}))}
    return [_colour(order[link.source[0]]) for link in links]


def _tip(link: Link, names: list[str]) -> str:
    evidence = link.evidence
    lines = [
        f"{link.grade.value} · score {link.score:+.3f} · {names[link.target_doc]}",
        f"embedding similarity {evidence.embedding_similarity:.3f}",
    ]
    if evidence.translation_similarity is not None:
        lines.append(f"translation chrF {evidence.translation_similarity:.3f}")
    if evidence.names:
        lines.append("names: " + ", ".join(f"{t.source} ~ {t.target}" for t in evidence.names))
    if evidence.numbers:
        lines.append("numbers: " + ", ".join(f"{t.source} ~ {t.target}" for t in evidence.numbers))
    return "\n".join(lines)


def _sentences(
    document: Document,
    links_of: dict[int, list[int]],
    links: list[Link],
    colours: list[str],
    taking_part: set[int],
    names: list[str],
) -> str:
    """A document's sentences by paragraph, headline and dateline set apart."""
    paragraphs: dict[int, list[str]] = defaultdict(list)
    headline, dateline = [], []
    for sentence in document.sentences:
        mine = links_of.get(sentence.index, [])
        text = escape(sentence.text)
        if mine:
            first = links[mine[0]]
            kind = "related" if all(links[n].grade is Grade.RELATED for n in mine) else ""
            tips = "\n\n".join(_tip(links[n], names) for n in mine)
            html = (
                f'<span class="s linked {kind}" data-links="{" ".join(f"L{n}" for n in mine)}" '
                f'style="background:{colours[mine[0]]}" title="{escape(_tip(first, names))}">{text}'
                f'<span class="tip">{escape(tips)}</span></span>'
            )
        elif sentence.index in taking_part:
            html = f'<span class="s unmatched" title="no counterpart">{text}</span>'
        else:
            html = f'<span class="s skipped" title="{sentence.role.value}">{text}</span>'
        if sentence.role is Role.HEADLINE and sentence.duplicate_of is None and not headline:
            headline.append(html)
        elif sentence.role in (Role.DATELINE, Role.TIMESTAMP):
            dateline.append(html)
        else:
            paragraphs[sentence.paragraph].append(html)
    body = "".join(f"<p>{' '.join(parts)}</p>" for _, parts in sorted(paragraphs.items()))
    head = f"<h3>{' '.join(headline)}</h3>" if headline else ""
    line = f'<div class="dateline">{" ".join(dateline)}</div>' if dateline else ""
    return head + line + body


def render_comparison(comparison: Comparison, report_name: str = "report") -> str:
    """The whole page as one HTML string."""
    alignment = comparison.alignment
    names = alignment.target_names
    links = alignment.links
    source_links: dict[int, list[int]] = defaultdict(list)
    target_links: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for number, link in enumerate(links):
        for i in link.source:
            source_links[i].append(number)
        for j in link.target:
            target_links[link.target_doc][j].append(number)
    linked_source = set(alignment.unaligned_source) | set(source_links)
    number_of = {id(link): n for n, link in enumerate(links)}
    colours = _link_colours(links)

    ranking = "".join(
        f"<tr><td>{position}</td><td>{escape(d.name)}</td><td>{d.score:.3f}</td><td>{d.linked_source}</td>"
        f"<td>{d.linked_target}</td><td>{escape(', '.join(d.shared_names))}</td></tr>"
        for position, d in enumerate(comparison.documents, 1)
    )
    shown = [d.target_doc for d in comparison.documents if d.linked_source or d.target_doc in target_links]
    coverage = "".join(
        f'<div class="doc"><div class="dateline">{escape(names[k])}</div>'
        + _sentences(alignment.targets[k], target_links[k], links, colours,
                     set(alignment.unaligned_targets[k]) | set(target_links[k]), names)
        + "</div>"
        for k in shown
    ) or "<p>No article shares coverage with the report.</p>"
    report = _sentences(alignment.source, source_links, links, colours, linked_source, names)

    rows = []
    for row in comparison.rows:
        matches = "".join(
            f'<div class="match" data-links="L{number_of[id(link)]}" style="background:{colours[number_of[id(link)]]}">'
            f"<b>{escape(names[link.target_doc])}</b> · {link.grade.value} {link.score:+.3f}<br>"
            + escape(" ".join(alignment.targets[link.target_doc].sentences[j].text for j in link.target))
            + "</div>"
            for link in row.matches
        ) or '<span class="unmatched">only in the report</span>'
        translation = escape(row.translation) if row.translation else '<span class="skipped">no translation model</span>'
        rows.append(f"<tr><td>{row.source}</td><td>{escape(row.text)}</td><td class=\"mt\">{translation}</td>"
                    f"<td>{matches}</td></tr>")
    only_coverage = "".join(
        f"<li><b>{escape(names[ref.target_doc])}</b> [{ref.index}] "
        f"{escape(alignment.targets[ref.target_doc].sentences[ref.index].text)}</li>"
        for ref in comparison.only_in_coverage
    )
    only_report = "".join(
        f"<li>[{i}] {escape(alignment.source.sentences[i].text)}</li>" for i in comparison.only_in_report
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>Crosswire: {escape(report_name)}</title><style>{_STYLE}</style></head>
<body data-link-count="{len(links)}"><header><h1>Crosswire comparison: {escape(report_name)}</h1></header><main>
<h2>Articles ranked by shared coverage</h2>
<table><tr><th>#</th><th>article</th><th>score</th><th>report sentences linked</th>
<th>article sentences linked</th><th>shared names</th></tr>{ranking}</table>
<p class="legend"><span class="s linked" style="background:{_colour(0)}">linked: same fact</span>
<span class="s linked related" style="background:{_colour(1)}">linked: related</span>
<span class="s unmatched">no counterpart</span><span class="s skipped">not compared</span></p>
<div class="columns"><section><h2>Report</h2><div class="doc">{report}</div></section>
<section><h2>Coverage</h2>{coverage}</section></div>
<h2>Side by side</h2>
<table id="rows"><tr><th>#</th><th>report</th><th>machine translation</th><th>matched coverage</th></tr>{"".join(rows)}</table>
<h2>Only in the report ({len(comparison.only_in_report)})</h2><ul>{only_report}</ul>
<h2>Only in the English coverage ({len(comparison.only_in_coverage)})</h2><ul>{only_coverage}</ul>
</main><script>{_SCRIPT}</script></body></html>
"""
