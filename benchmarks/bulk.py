"""Bulk translation through one server against CTranslate2 on the whole file in one call.

    python benchmarks/bulk.py [--lines 500] [--beam-size 2] [--repeat 2]

In one run, on the first `--lines` lines of newstest2019 zh→en, with the model
of translate-zh_en-1_9 and the thread layout `crosswire serve` uses here
(inter_threads = cores, intra_threads = 1, int8, 2048-token batches):

(a) ctranslate2 `translate_batch` on all lines in one call;
(b) `crosswire translate --corpus FILE --presegmented --output OUT --server ADDRESS`,
    a real command process, against a real `crosswire serve` process (cache off).

Each repeat runs (a) then (b). Prints sentences/s of each, the ratio b/a
(target: >= 0.9) and the CPU seconds each spent (the server's, for b; the
command's own apart, since on 2 cores it competes with the model): on a
machine other programs load, the wall-clock ratio moves with them, while
the CPU ratio shows how much work each did. (b) is timed from the first chunk sent to
the last record written, as the command reports it (its own start-up, about a
second of imports and a health check, is printed apart); (a) from tokenising
to the last result, the model loaded beforehand in both.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ctranslate2
import sentencepiece as spm

from _setup import REAL_MODEL, ServerProcess, bleu, cpu_seconds, read_lines, real_model_dir
from crosswire_server.config import usable_cores

SUMMARY = re.compile(r"translated (\d+) texts \((\d+) sentences\) in ([\d.]+) s")


def own_cpu(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def direct(translator: ctranslate2.Translator, sp: spm.SentencePieceProcessor, lines: list[str],
           beam: int) -> tuple[float, float, list[str]]:
    """(seconds, CPU seconds, outputs) of translate_batch on every line in one call."""
    began, cpu = time.perf_counter(), own_cpu()
    results = translator.translate_batch(sp.encode(lines, out_type=str), beam_size=beam,
                                         max_batch_size=2048, batch_type="tokens")
    outputs = ["".join(r.hypotheses[0]).replace("▁", " ").strip() for r in results]
    return time.perf_counter() - began, own_cpu() - cpu, outputs


def bulk(server: ServerProcess, corpus: Path, output: Path,
         beam: int) -> tuple[float, float, float, float, list[str]]:
    """(seconds as the command reports them, wall seconds of the whole process, server CPU seconds,
    the command's CPU seconds, outputs)."""
    output.unlink(missing_ok=True)
    cpu, client_cpu = cpu_seconds(server.process.pid), own_cpu(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "crosswire", "translate", "--corpus", str(corpus), "--output", str(output),
         "--presegmented", "--from", "zh", "--beam-size", str(beam), "--server", server.address, "--no-progress"],
        capture_output=True, text=True,
    )
    wall = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(f"crosswire translate failed ({done.returncode}):\n{done.stderr}")
    found = SUMMARY.search(done.stderr)
    if found is None:
        sys.exit(f"no summary in the command's output:\n{done.stderr}")
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    return (float(found.group(3)), wall, cpu_seconds(server.process.pid) - cpu,
            own_cpu(resource.RUSAGE_CHILDREN) - client_cpu, [r["translation"] for r in records])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=500, help="lines of newstest2019 zh (default: 500)")
    parser.add_argument("--beam-size", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="runs of (a) then (b) (default: 2)")
    args = parser.parse_args()

    from crosswire_models.store import find_model

    models_dir = real_model_dir()
    model = find_model(models_dir, REAL_MODEL)
    lines = read_lines("eval/zh-en/newstest2019.zh", args.lines)
    references = read_lines("eval/zh-en/newstest2019.en", args.lines)
    cores = usable_cores()
    translator = ctranslate2.Translator(str(model.model_path), compute_type="int8", inter_threads=cores,
                                        intra_threads=1)
    sp = spm.SentencePieceProcessor(model_file=str(model.source_spm))
    translator.translate_batch(sp.encode(lines[:4], out_type=str), beam_size=args.beam_size)  # warm-up

    with tempfile.TemporaryDirectory() as folder:
        corpus, output = Path(folder) / "corpus.jsonl", Path(folder) / "out.jsonl"
        corpus.write_text("".join(json.dumps({"id": i, "text": line}, ensure_ascii=False) + "\n"
                                  for i, line in enumerate(lines)), encoding="utf-8")
        server = ServerProcess.start(models_dir, "--cache-size", "0")
        try:
            from crosswire import Client

            with Client(server.address, timeout=120) as client:  # warm-up, as for (a)
                client.translate(lines[:4], source="zh", beam_size=args.beam_size, presegmented=True)
            print(f"{len(lines)} lines of newstest2019 zh-en, {REAL_MODEL}, beam {args.beam_size}, {cores} cores "
                  f"(inter_threads={cores}, intra_threads=1)")
            print(f"{'run':>3} {'ctranslate2 s/s':>15} {'crosswire s/s':>13} {'ratio':>6} "
                  f"{'cpu a':>7} {'cpu b':>7} {'cpu ratio':>9} {'command cpu':>11} {'start-up s':>10}")
            ratios = []
            for run in range(1, args.repeat + 1):
                seconds_a, cpu_a, outputs_a = direct(translator, sp, lines, args.beam_size)
                seconds_b, wall_b, cpu_b, cpu_command, outputs_b = bulk(server, corpus, output, args.beam_size)
                rate_a, rate_b = len(lines) / seconds_a, len(lines) / seconds_b
                ratios.append(rate_b / rate_a)
                print(f"{run:>3} {rate_a:>15.1f} {rate_b:>13.1f} {rate_b / rate_a:>6.2f} "
                      f"{cpu_a:>7.1f} {cpu_b:>7.1f} {cpu_a / cpu_b:>9.2f} {cpu_command:>11.1f} "
                      f"{wall_b - seconds_b:>10.1f}")
        finally:
            server.stop()
    same = sum(a == b for a, b in zip(outputs_a, outputs_b)) / len(lines)
    print(f"BLEU: ctranslate2 {bleu(outputs_a, references):.2f}, crosswire {bleu(outputs_b, references):.2f}; "
          f"identical outputs {same:.0%}")
    print(f"ratio crosswire bulk / ctranslate2 whole file: median {statistics.median(ratios):.2f} of "
          f"{', '.join(f'{r:.2f}' for r in ratios)} (target >= 0.9)")


if __name__ == "__main__":
    main()
