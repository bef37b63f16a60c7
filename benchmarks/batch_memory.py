"""CTranslate2's working memory while it decodes: the peak RSS growth of full batches of the real zh->en model.

    python benchmarks/batch_memory.py [--inter-threads 2] [--batch-tokens 2048]

Loads translate-zh_en-1_9 as `serve` does (two malloc arenas, no translation
cache), translates one sentence, then three sets of newstest2019 sentences
(40, 120 and 240: one part batch, then inter_threads full batches of
batch_tokens at once) and prints each one's peak growth over the RSS before it
(VmHWM reset through /proc/self/clear_refs). benchmarks/load.py's bound counts
inter_threads x batch_tokens x BATCH_TOKEN_KIB for it.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from _setup import read_lines, real_model_dir

from crosswire_server.config import ServerConfig
from crosswire_server.memory import limit_malloc_arenas
from crosswire_server.translation import TranslationEngine


def status_mib(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure(engine: TranslationEngine, lines: list[str], tokens: int) -> None:
    await engine.translate([lines[0]], source="zh", target="en")
    for n, size in enumerate((40, 120, 240)):
        texts = lines[1000 + n * 300: 1000 + n * 300 + size]
        before = status_mib("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")
        began = time.perf_counter()
        await engine.translate(texts, source="zh", target="en", presegmented=True)
        growth = status_mib("VmHWM") - before
        print(f"{size:4} sentences: RSS before {before:5.0f} MiB, peak growth {growth:5.0f} MiB "
              f"({growth * 1024 / tokens:5.1f} KiB per batch token), after {status_mib('VmRSS'):5.0f} MiB, "
              f"{time.perf_counter() - began:4.0f} s", flush=True)
    await engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inter-threads", type=int, default=2)
    parser.add_argument("--batch-tokens", type=int, default=2048)
    args = parser.parse_args()
    limit_malloc_arenas(2)
    config = ServerConfig(models_dir=real_model_dir(), cache_size=0, cache_bytes=0,
                          inter_threads=args.inter_threads, batch_tokens=args.batch_tokens)
    engine = TranslationEngine.load(config)
    print(f"inter_threads {args.inter_threads}, batch_tokens {args.batch_tokens} (machine shared with other work)")
    asyncio.run(measure(engine, read_lines("eval/zh-en/newstest2019.zh", 2000), args.inter_threads * args.batch_tokens))


if __name__ == "__main__":
    main()
