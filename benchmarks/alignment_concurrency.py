"""Two concurrent Compare calls against one: do concurrent alignments wait on each other?

    python benchmarks/alignment_concurrency.py [--rounds 3]

A `crosswire serve` process without translation models (alignment only); each
Compare is a 60-sentence Russian report against four 50-sentence English
articles, never sent before (so nothing comes from the embedding cache). Each
round times one call alone, then two different calls sent at the same time.
Two calls that do not wait on each other take about as long as one on a machine
with two free cores (ratio near 1); calls serialised by the server take twice
as long (ratio near 2).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from _setup import ServerProcess, read_lines
from chrf import english_sentences

from crosswire import Client

REPORT_SENTENCES, ARTICLES, ARTICLE_SENTENCES = 60, 4, 50


def requests(count: int) -> Iterator[tuple[str, list[str]]]:
    """`count` Compare requests, each with sentences no other request has."""
    russian = read_lines("eval/ru-en/newstest2019.ru", 2000)
    english = english_sentences(count * ARTICLES * ARTICLE_SENTENCES)
    size = ARTICLES * ARTICLE_SENTENCES
    for n in range(count):
        report = "\n".join(russian[n * REPORT_SENTENCES : (n + 1) * REPORT_SENTENCES])
        lines = english[n * size : (n + 1) * size]
        yield report, ["\n".join(lines[k : k + ARTICLE_SENTENCES]) for k in range(0, size, ARTICLE_SENTENCES)]


def timed(address: str, calls: list[tuple[str, list[str]]]) -> float:
    """Wall time of sending all `calls` at once, one client each."""
    errors: list[BaseException] = []

    def compare(report: str, articles: list[str]) -> None:
        try:
            with Client(address, timeout=600) as client:
                client.compare(report, articles, presegmented=True)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=compare, args=call) for call in calls]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    pending = requests(3 * args.rounds + 1)
    with tempfile.TemporaryDirectory() as empty:
        # Without a translation model the server as a whole stays NOT_SERVING: wait for alignment alone.
        server = ServerProcess.start(Path(empty), service="crosswire.v1.AlignmentService")
        try:
            timed(server.address, [next(pending)])  # warm-up: first-call costs out of the figures
            ones, twos = [], []
            for _ in range(args.rounds):
                ones.append(timed(server.address, [next(pending)]))
                twos.append(timed(server.address, [next(pending), next(pending)]))
        finally:
            server.stop()
    one, two = statistics.median(ones), statistics.median(twos)
    print(f"Compare, {REPORT_SENTENCES}-sentence report vs {ARTICLES} x {ARTICLE_SENTENCES} sentences, "
          f"cold caches, median of {args.rounds} rounds")
    print(f"  one call alone              {one:6.2f} s")
    print(f"  two calls at the same time  {two:6.2f} s   ratio {two / one:.2f} (1 = side by side, 2 = one after the other)")


if __name__ == "__main__":
    main()
