"""Serving overhead: CTranslate2 called directly vs the same sentences through the gRPC server.

    python benchmarks/serving.py [--lines 500] [--beam-size 2] [--clients 1 8]

(a) `translate_batch` on all sentences at once with the best thread layout
found here; (b) a `crosswire serve` process, with N concurrent clients each
sending one sentence per request. Prints sentences/s, target tokens/s,
latency, BLEU and the ratio b/a (target for 8 clients: >= 0.8).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from dataclasses import dataclass

import ctranslate2
import sentencepiece as spm

from _setup import REAL_MODEL, ServerProcess, bleu, peak_rss_mb, read_lines, real_model_dir


@dataclass
class Run:
    name: str
    seconds: float
    outputs: list[str]
    latencies: list[float]

    def row(self, sp: spm.SentencePieceProcessor, references: list[str], baseline: Run | None) -> str:
        sentences = len(self.outputs) / self.seconds
        tokens = sum(len(p) for p in sp.encode(self.outputs)) / self.seconds
        p50 = statistics.median(self.latencies) * 1000
        p95 = statistics.quantiles(self.latencies, n=20)[-1] * 1000 if len(self.latencies) > 1 else p50
        ratio = f"{sentences / (len(baseline.outputs) / baseline.seconds):.2f}" if baseline else "1.00"
        return (f"{self.name:34} {sentences:8.1f} {tokens:9.0f} {p50:9.0f} {p95:9.0f} "
                f"{bleu(self.outputs, references):6.2f} {ratio:>6}")


def direct(model, sentences: list[str], beam: int, inter: int, intra: int) -> Run:
    """All sentences in one translate_batch call, token-budgeted batches."""
    translator = ctranslate2.Translator(str(model.model_path), compute_type="int8",
                                        inter_threads=inter, intra_threads=intra)
    sp = spm.SentencePieceProcessor(model_file=str(model.source_spm))
    start = time.perf_counter()
    tokens = sp.encode(sentences, out_type=str)
    results = translator.translate_batch(tokens, beam_size=beam, max_batch_size=2048, batch_type="tokens")
    outputs = [" ".join("".join(r.hypotheses[0]).replace("▁", " ").split()) for r in results]
    seconds = time.perf_counter() - start
    return Run(f"ctranslate2 direct inter={inter} intra={intra}", seconds, outputs, [seconds])


async def through_server(address: str, sentences: list[str], beam: int, clients: int) -> Run:
    """`clients` concurrent workers, each sending one sentence per Translate call."""
    from crosswire import AsyncClient

    outputs: list[str] = [""] * len(sentences)
    latencies: list[float] = []
    queue = list(range(len(sentences)))[::-1]

    async def worker(client: AsyncClient) -> None:
        while queue:
            i = queue.pop()
            began = time.perf_counter()
            result = await client.translate([sentences[i]], source="zh", beam_size=beam, presegmented=True)
            latencies.append(time.perf_counter() - began)
            outputs[i] = result[0].text

    async with AsyncClient(address) as client:
        await client.translate(["预热。"], source="zh")
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        seconds = time.perf_counter() - start
    return Run(f"crosswire gRPC, {clients} client(s)", seconds, outputs, latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--beam-size", type=int, default=2)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()

    from crosswire_models.store import find_model

    models_dir = real_model_dir()
    model = find_model(models_dir, REAL_MODEL)
    sentences = read_lines("eval/zh-en/newstest2019.zh", args.lines)
    references = read_lines("eval/zh-en/newstest2019.en", args.lines)
    sp = spm.SentencePieceProcessor(model_file=str(model.target_spm))
    cores = len(os.sched_getaffinity(0))

    layouts = sorted({(cores, 1), (1, cores)})
    runs = [direct(model, sentences, args.beam_size, inter, intra) for inter, intra in layouts]
    baseline = max(runs, key=lambda r: len(r.outputs) / r.seconds)
    # One server for every pass: without its cache, so later passes translate rather than look up.
    server = ServerProcess.start(models_dir, "--cache-size", "0")
    try:
        for clients in args.clients:
            runs.append(asyncio.run(through_server(server.address, sentences, args.beam_size, clients)))
        server_rss = peak_rss_mb(server.process.pid)
    finally:
        server.stop()

    print(f"{len(sentences)} sentences of newstest2019 zh-en, {REAL_MODEL}, beam {args.beam_size}, "
          f"{cores} cores; ratio = sentences/s against the best direct run ({baseline.name})")
    print(f"{'system':34} {'sent/s':>8} {'tok/s':>9} {'p50 ms':>9} {'p95 ms':>9} {'BLEU':>6} {'ratio':>6}")
    for run in runs:
        print(run.row(sp, references, baseline))
    print(f"server peak RSS: {server_rss:.0f} MB")


if __name__ == "__main__":
    main()
