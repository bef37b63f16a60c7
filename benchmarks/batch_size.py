"""Throughput and working memory of the real zh->en model against `--batch-tokens`, each size in a fresh process.

    python benchmarks/batch_size.py [--sizes 2048 1024] [--sentences 480] [--rounds 2]

Each run loads translate-zh_en-1_9 as `serve` does (inter_threads one per core,
two malloc arenas, no translation cache) and translates the same newstest2019
sentences, presegmented, in one engine call. It prints sentences per second of
wall time and of CPU time, and the peak RSS growth while translating; ratios are
against the first size (the baseline), measured in the same run, rounds
alternating their order so that drift in the machine's load hits both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _setup import peak_rss_mb, read_lines, real_model_dir, rss_mb

from crosswire_server.config import ServerConfig
from crosswire_server.memory import limit_malloc_arenas
from crosswire_server.translation import TranslationEngine


def child(batch_tokens: int, sentences: int) -> dict[str, float]:
    """One measurement in this process: the model loaded, one warm-up sentence, then the timed call."""
    limit_malloc_arenas(2)
    config = ServerConfig(models_dir=real_model_dir(), cache_size=0, cache_bytes=0, batch_tokens=batch_tokens)
    engine = TranslationEngine.load(config)
    lines = read_lines("eval/zh-en/newstest2019.zh", 1000 + sentences)[1000:]

    async def run() -> tuple[float, float, float]:
        await engine.translate([lines[0]], source="zh", target="en")
        before = rss_mb(os.getpid())
        Path("/proc/self/clear_refs").write_text("5")
        began, cpu = time.perf_counter(), time.process_time()
        await engine.translate(lines, source="zh", target="en", presegmented=True)
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        await engine.close()
        return wall, cpu, peak_rss_mb(os.getpid()) - before

    wall, cpu, growth = asyncio.run(run())
    return {"wall": wall, "cpu": cpu, "growth": growth, "sentences": len(lines)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 1024], help="first = baseline")
    parser.add_argument("--sentences", type=int, default=960, help="at most 1,000 (lines 1,001-2,000 of newstest2019)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.sentences)))
        return
    results: dict[int, list[dict[str, float]]] = {size: [] for size in args.sizes}
    for round_number in range(args.rounds):
        order = args.sizes if round_number % 2 == 0 else list(reversed(args.sizes))
        for size in order:
            out = subprocess.run([sys.executable, __file__, "--child", str(size), "--sentences", str(args.sentences)],
                                 check=True, capture_output=True, text=True).stdout
            results[size].append(json.loads(out.strip().splitlines()[-1]))
            print(f"round {round_number + 1}, batch_tokens {size}: {results[size][-1]}", flush=True)
    load = resource.getrusage(resource.RUSAGE_CHILDREN)
    count = int(results[args.sizes[0]][0]["sentences"])
    print(f"\n{count} sentences of newstest2019 zh->en, beam 2, inter_threads one per core; "
          f"load average {Path('/proc/loadavg').read_text().split()[0]} at the end (children's CPU {load.ru_utime:.0f} s)")
    base = {key: statistics.median(r[key] for r in results[args.sizes[0]]) for key in ("wall", "cpu", "growth")}
    print(f"{'batch_tokens':>12} {'sent/s wall':>12} {'sent/s CPU':>11} {'peak growth':>12} "
          f"{'wall ratio':>11} {'CPU ratio':>10} {'memory ratio':>13}")
    for size in args.sizes:
        median = {key: statistics.median(r[key] for r in results[size]) for key in ("wall", "cpu", "growth")}
        print(f"{size:>12} {count / median['wall']:>12.2f} {count / median['cpu']:>11.2f} "
              f"{median['growth']:>9.0f} MiB {base['wall'] / median['wall']:>11.2f} "
              f"{base['cpu'] / median['cpu']:>10.2f} {median['growth'] / base['growth']:>13.2f}")


if __name__ == "__main__":
    main()
