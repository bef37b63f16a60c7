"""What an Align costs per source sentence and target document: tracemalloc's peak and CPU, against its charge.

    python benchmarks/align_rows.py [--shapes 5x1000,50x100,100x50,200x25] [--source 1000]

Each shape (documents x sentences each) runs in a fresh process: --source
newstest2019 Russian sentences, presegmented, against English newstest2019
sentences in that many documents, through Aligner.align in comparable mode
(after a small warm-up align, so that the encoder and dictionary are loaded).
Every shape has the same number of sentence pairs, so what grows with the
documents is the work per source sentence and document (each row's candidates
in each document, with their evidence). Prints tracemalloc's peak, the CPU
time, the links found and what the budget charges for the pairs
(alignment/jobs.py: alignment_bytes). The figures behind ROW_DOCUMENT_BYTES and
max_align_source_by_targets.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import tracemalloc

from _setup import read_lines

from crosswire.types import AlignMode
from crosswire_server.alignment import Aligner, presegment
from crosswire_server.alignment.aligner import AlignmentLimits
from crosswire_server.alignment.jobs import alignment_bytes

MIB = 1024 * 1024


def one(documents: int, size: int, sources: int) -> None:
    """Measure one shape in this process and print its row."""
    russian = read_lines("eval/ru-en/newstest2019.ru", sources)
    english = read_lines("eval/ru-en/newstest2019.en", 2000)
    limits = AlignmentLimits(max_targets=documents, max_target_sentences=documents * size,
                             max_source_by_targets=sources * documents)
    aligner = Aligner(limits=limits)
    aligner.align(presegment("\n".join(russian[:3]), "ru"), [presegment("\n".join(english[:3]), "en")])
    source = presegment("\n".join(russian), "ru")
    targets = [presegment("\n".join(english[(d * size) % (len(english) - size):][:size]), "en")
               for d in range(documents)]
    tracemalloc.start()
    cpu = time.process_time()
    links = len(aligner.align(source, targets, AlignMode.COMPARABLE).links)
    cpu = time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] / MIB
    charged = alignment_bytes(sources, sources * documents * size, documents) / MIB
    print(f"{documents:>9} {size:>9} {peak:9.0f} {charged:9.0f} {cpu:8.0f} {links:7d}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="5x1000,50x100,100x50,200x25", help="documents x sentences each")
    parser.add_argument("--source", type=int, default=1000, help="source sentences")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a single shape, in this process
    args = parser.parse_args()
    if args.one:
        documents, size = map(int, args.one.split("x"))
        one(documents, size, args.source)
        return
    print(f"{args.source} source sentences; a fresh process per shape; peak = tracemalloc's, MiB; CPU s")
    print(f"{'documents':>9} {'sentences':>9} {'peak':>9} {'charged':>9} {'CPU':>8} {'links':>7}", flush=True)
    for shape in args.shapes.split(","):
        subprocess.run([sys.executable, __file__, "--one", shape, "--source", str(args.source)], check=True)


if __name__ == "__main__":
    main()
