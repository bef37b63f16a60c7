"""Serving overhead: CTranslate2 called directly vs the same sentences through the gRPC server.

    python benchmarks/serving.py [--lines 500] [--beam-size 2] [--clients 1 8] [--document 20]

(a) `translate_batch` on all sentences at once with the best thread layout
found here; (b) a `crosswire serve` process with N concurrent clients, each
sending one sentence per request, and N clients each sending documents of
`--document` consecutive lines per request. Prints sentences/s, target
tokens/s, latency, BLEU and the ratio b/a (target for 8 clients: >= 0.8).

N clients that each wait for one sentence before sending the next never give
a server more than N sentences at once, and CTranslate2's batches are cheap
per sentence only when large. So the script also measures (c) CTranslate2
itself holding only N sentences at a time: the ceiling for one-sentence
clients, whatever the server does; and (d) the server's own CPU per request,
with every answer a cache hit.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import ctranslate2
import sentencepiece as spm

from _setup import REAL_MODEL, ServerProcess, bleu, cpu_seconds, peak_rss_mb, read_lines, real_model_dir
from crosswire_server.config import usable_cores


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
        return (f"{self.name:52} {sentences:8.1f} {tokens:9.0f} {p50:9.0f} {p95:9.0f} "
                f"{bleu(self.outputs, references):6.2f} {ratio:>6}")


def in_hand(translate, tokens: list[list[str]], beam: int, inter: int, count: int) -> tuple[float, list]:
    """CTranslate2 holding only `count` sentences at a time, as `count` one-sentence clients allow.

    The best a scheduler could do with them: `inter` threads, one per replica, each translating the
    next count/inter sentences of the file as one batch, with no gathering window and no RPC.
    Returns the seconds taken and the results in input order.
    """
    results: list = [None] * len(tokens)
    share = max(1, count // inter)
    starts = iter(range(0, len(tokens), share))
    lock = threading.Lock()

    def replica() -> None:
        while True:
            with lock:
                start = next(starts, None)
            if start is None:
                return
            results[start:start + share] = translate(tokens[start:start + share], beam_size=beam)

    began = time.perf_counter()
    with ThreadPoolExecutor(inter) as pool:
        for future in [pool.submit(replica) for _ in range(inter)]:
            future.result()
    return time.perf_counter() - began, results


def held_name(count: int) -> str:
    """The name of the run in which CTranslate2 holds `count` sentences at a time."""
    return f"ctranslate2, {count} sentences in hand"


def _decode(result) -> str:
    return " ".join("".join(result.hypotheses[0]).replace("▁", " ").split())


def direct(model, sentences: list[str], beam: int, inter: int, intra: int, held: list[int]) -> list[Run]:
    """All sentences in one translate_batch call (token-budgeted batches); then, for each count in
    `held`, the same sentences never more than that many at a time (see in_hand)."""
    translator = ctranslate2.Translator(str(model.model_path), compute_type="int8",
                                        inter_threads=inter, intra_threads=intra)
    sp = spm.SentencePieceProcessor(model_file=str(model.source_spm))
    start = time.perf_counter()
    tokens = sp.encode(sentences, out_type=str)
    results = translator.translate_batch(tokens, beam_size=beam, max_batch_size=2048, batch_type="tokens")
    seconds = time.perf_counter() - start
    runs = [Run(f"ctranslate2 direct inter={inter} intra={intra}", seconds, [_decode(r) for r in results], [seconds])]
    for count in held:
        seconds, results = in_hand(translator.translate_batch, tokens, beam, inter, count)
        runs.append(Run(held_name(count), seconds, [_decode(r) for r in results], [seconds]))
    return runs


async def through_server(address: str, sentences: list[str], beam: int, clients: int, per_request: int = 1) -> Run:
    """`clients` concurrent workers, each sending `per_request` consecutive sentences per Translate call
    (one text each) and waiting for the answer before sending the next."""
    from crosswire import AsyncClient

    outputs: list[str] = [""] * len(sentences)
    latencies: list[float] = []
    queue = list(range(0, len(sentences), per_request))[::-1]

    async def worker(client: AsyncClient) -> None:
        while queue:
            first = queue.pop()
            texts = sentences[first:first + per_request]
            began = time.perf_counter()
            results = await client.translate(texts, source="zh", beam_size=beam, presegmented=True)
            latencies.append(time.perf_counter() - began)
            outputs[first:first + len(texts)] = [r.text for r in results]

    async with AsyncClient(address, timeout=600) as client:
        await client.translate(["预热。"], source="zh")
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        seconds = time.perf_counter() - start
    unit = "" if per_request == 1 else f", {per_request} sentences per request"
    return Run(f"crosswire gRPC, {clients} client(s){unit}", seconds, outputs, latencies)


def overhead(models_dir, sentences: list[str], beam: int, clients: int) -> tuple[float, float]:
    """The server's own cost per one-sentence request: every answer a cache hit, so no model work.

    Returns requests per second and server CPU milliseconds per request.
    """
    server = ServerProcess.start(models_dir)
    try:
        asyncio.run(through_server(server.address, sentences, beam, clients, 20))  # fills the cache
        cpu = cpu_seconds(server.process.pid)
        run = asyncio.run(through_server(server.address, sentences, beam, clients))
        return len(sentences) / run.seconds, (cpu_seconds(server.process.pid) - cpu) * 1000 / len(sentences)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--beam-size", type=int, default=2)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--document", type=int, default=20,
                        help="sentences per request of the document-sized passes (0: none)")
    args = parser.parse_args()

    from crosswire_models.store import find_model

    models_dir = real_model_dir()
    model = find_model(models_dir, REAL_MODEL)
    sentences = read_lines("eval/zh-en/newstest2019.zh", args.lines)
    references = read_lines("eval/zh-en/newstest2019.en", args.lines)
    sp = spm.SentencePieceProcessor(model_file=str(model.target_spm))
    cores = usable_cores()

    layouts = sorted({(cores, 1), (1, cores), (1, 1)})
    direct_runs = [direct(model, sentences, args.beam_size, inter, intra, []) for inter, intra in layouts]
    best = max(range(len(layouts)), key=lambda i: len(direct_runs[i][0].outputs) / direct_runs[i][0].seconds)
    baseline = direct_runs[best][0]
    held = direct(model, sentences, args.beam_size, *layouts[best], [n for n in args.clients if n > 1])[1:]
    runs = [r for rs in direct_runs for r in rs] + held
    # One server for every pass: without its cache, so later passes translate rather than look up.
    server = ServerProcess.start(models_dir, "--cache-size", "0")
    try:
        for clients in args.clients:
            runs.append(asyncio.run(through_server(server.address, sentences, args.beam_size, clients)))
        for clients in args.clients if args.document > 1 else []:
            runs.append(asyncio.run(through_server(server.address, sentences, args.beam_size, clients,
                                                   args.document)))
        server_rss = peak_rss_mb(server.process.pid)
    finally:
        server.stop()

    print(f"{len(sentences)} sentences of newstest2019 zh-en, {REAL_MODEL}, beam {args.beam_size}, "
          f"{cores} cores; ratio = sentences/s against the best direct run ({baseline.name})")
    print(f"{'system':52} {'sent/s':>8} {'tok/s':>9} {'p50 ms':>9} {'p95 ms':>9} {'BLEU':>6} {'ratio':>6}")
    for run in runs:
        print(run.row(sp, references, baseline))
    by_name = {run.name: run for run in runs}
    for clients in args.clients:
        ceiling = by_name.get(held_name(clients))
        if ceiling:
            one = by_name[f"crosswire gRPC, {clients} client(s)"]
            print(f"{clients} one-sentence clients against ctranslate2 with {clients} sentences in hand: "
                  f"{ceiling.seconds / one.seconds:.2f}")
    print(f"server peak RSS: {server_rss:.0f} MB")
    rate, cpu_ms = overhead(models_dir, sentences, args.beam_size, max(args.clients))
    print(f"server overhead, {max(args.clients)} one-sentence clients answered from the cache: "
          f"{rate:.0f} requests/s, {cpu_ms:.2f} ms server CPU per request")


if __name__ == "__main__":
    main()
