"""Crosswire against the tools users would pick instead: all systems, one run, same input and model file.

    bash benchmarks/peers/setup.sh         # once: the peers' own venv and the .argosmodel file
    python benchmarks/throughput.py        # [--lines 500] [--beam-size 2] [--clients 1 4 16] [--skip-peers]

Input: the first 500 lines of newstest2019 zh→en; model: the Argos zh→en 1.9
package (.bench/translate-zh_en-1_9.argosmodel), loaded by every system; beam 2.
 1. ctranslate2 `translate_batch` on all sentences at once, best thread layout measured here
    (each layout in a child process of its own, for its peak RSS); plus one sentence per call
    with the best layout, the latency baseline; and, for N clients, CTranslate2 never holding
    more than N sentences (one batch of N/inter per replica, back to back): the ceiling for
    any server whose N clients each wait for one sentence before sending the next;
 2. Crosswire over gRPC (a fresh `crosswire serve` per run, default settings): 1, 4 and 16
    concurrent clients sending one sentence per request, and one client sending the whole file;
 3. argostranslate's Python API on the whole file (ARGOS_BEAM_SIZE=2, its other settings as shipped);
 4. LibreTranslate's HTTP server on 127.0.0.1 with only this model, 1, 4 and 16 concurrent clients.
The peers run offline in .bench/peers-venv through benchmarks/peers/peer.py. Prints
sentences/s, target tokens/s, p50/p95 latency per request, peak RSS, BLEU, ratios
against system 1, and the issue's targets as met or not.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import serving
from _setup import REPO, ServerProcess, bleu, cpu_seconds, free_port, peak_rss_mb, read_lines
from crosswire_server.config import usable_cores

SOURCE = "eval/zh-en/newstest2019.zh"
REFERENCE = "eval/zh-en/newstest2019.en"
MODEL_NAME = "translate-zh_en-1_9"
BENCH = REPO / ".bench"
PEER = Path(__file__).resolve().parent / "peers" / "peer.py"


@dataclass
class Run(serving.Run):
    """One system's pass over the sentences, with the translating process's memory and CPU time."""

    rss_mb: float = float("nan")
    cpu_s: float = float("nan")  # CPU time of the translating process (not the clients) during the pass

    @property
    def rate(self) -> float:
        return len(self.outputs) / self.seconds

    def percentile(self, p: int) -> float:
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1]


# ---------------------------------------------------------------- system 1: ctranslate2 directly

def _direct_child(model_dir: str, sentences: list[str], beam: int, inter: int, intra: int,
                  batch_tokens: int, one_by_one: bool, in_hand: list[int]) -> dict:
    """In a fresh process: load the model as the server does, translate, report timings and peak RSS."""
    from crosswire_models.store import find_model
    from crosswire_server.config import ServerConfig
    from crosswire_server.engine import load_model

    config = ServerConfig.from_env({}, device="cpu", inter_threads=inter, intra_threads=intra)
    model = load_model(find_model(Path(model_dir), MODEL_NAME), config)
    translate = model.translator.translate_batch
    translate(model.encode(["预热。"]), beam_size=beam)
    began, cpu = time.perf_counter(), time.process_time()
    results = translate(model.encode(sentences), beam_size=beam, max_batch_size=batch_tokens, batch_type="tokens")
    outputs = [model.decode(r.hypotheses[0]) for r in results]
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    latencies: list[float] = []
    singles: list[str] = []
    single_cpu = time.process_time()
    for sentence in sentences if one_by_one else []:
        began = time.perf_counter()
        (result,) = translate(model.encode([sentence]), beam_size=beam)
        singles.append(model.decode(result.hypotheses[0]))
        latencies.append(time.perf_counter() - began)
    single_cpu = time.process_time() - single_cpu
    held = {}
    for count in in_hand:
        cpu = time.process_time()
        held_seconds, held_results = serving.in_hand(translate, model.encode(sentences), beam, inter, count)
        held[count] = {"seconds": held_seconds, "cpu_s": time.process_time() - cpu,
                       "outputs": [model.decode(r.hypotheses[0]) for r in held_results]}
    return {"seconds": seconds, "cpu_s": cpu, "outputs": outputs, "singles": singles, "latencies": latencies,
            "single_cpu_s": single_cpu, "in_hand": held, "rss_mb": peak_rss_mb(os.getpid())}


def direct(model_dir: Path, sentences: list[str], beam: int, inter: int, intra: int, batch_tokens: int,
           one_by_one: bool = False, in_hand: tuple[int, ...] = ()) -> tuple[Run, Run | None, list[Run]]:
    """The whole file in one call; optionally one sentence per call, and runs with few sentences in hand."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        r = pool.submit(_direct_child, str(model_dir), sentences, beam, inter, intra, batch_tokens,
                        one_by_one, list(in_hand)).result()
    batch = Run(f"ctranslate2 inter={inter} intra={intra} batch={batch_tokens}", r["seconds"], r["outputs"],
                [r["seconds"]], r["rss_mb"], r["cpu_s"])
    single = Run("ctranslate2, one sentence per call", sum(r["latencies"]), r["singles"], r["latencies"],
                 r["rss_mb"], r["single_cpu_s"]) if one_by_one else None
    held = [Run(serving.held_name(count), h["seconds"], h["outputs"], [h["seconds"]], r["rss_mb"], h["cpu_s"])
            for count, h in r["in_hand"].items()]
    return batch, single, held


# ---------------------------------------------------------------- system 2: Crosswire over gRPC

async def whole_file(address: str, sentences: list[str], beam: int) -> Run:
    """One client, one Translate request holding every sentence."""
    from crosswire import AsyncClient

    async with AsyncClient(address, timeout=3600) as client:
        await client.translate(["预热。"], source="zh")
        began = time.perf_counter()
        results = await client.translate(sentences, source="zh", beam_size=beam, presegmented=True)
        seconds = time.perf_counter() - began
    return Run("crosswire gRPC, whole file in 1 request", seconds, [r.text for r in results], [seconds])


def crosswire(models_dir: Path, sentences: list[str], beam: int, clients: list[int]) -> list[Run]:
    """Each pass on a fresh server (default settings), so no pass finds another's translations cached."""
    passes = [(f"crosswire gRPC, {n} client(s)",
               lambda address, n=n: serving.through_server(address, sentences, beam, n)) for n in clients]
    passes.append(("crosswire gRPC, whole file in 1 request", lambda address: whole_file(address, sentences, beam)))
    runs = []
    for name, make in passes:
        server = ServerProcess.start(models_dir)
        try:
            cpu = cpu_seconds(server.process.pid)
            measured = asyncio.run(make(server.address))
            run = Run(name, measured.seconds, measured.outputs, measured.latencies, peak_rss_mb(server.process.pid),
                      cpu_seconds(server.process.pid) - cpu)
        finally:
            server.stop()
        runs.append(run)
        print(f"  {name}: {run.rate:.1f} sentences/s", file=sys.stderr)
    return runs


# ---------------------------------------------------------------- systems 3 and 4: the peers

def peer_env(home: Path, beam: int) -> dict[str, str]:
    """Environment that keeps argos' files in `home`, reads an empty local package index, sets the beam."""
    (home / "index").mkdir(parents=True, exist_ok=True)
    (home / "index" / "index.json").write_text("[]")
    return {**os.environ,
            "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_CACHE_HOME": str(home / "cache"), "ARGOS_PACKAGES_DIR": str(home / "packages"),
            "ARGOS_PACKAGE_INDEX": (home / "index").as_uri() + "/", "ARGOS_BEAM_SIZE": str(beam)}


def argos(python: Path, env: dict[str, str], home: Path, sentences: list[str]) -> Run:
    source, result = home / "input.zh", home / "argos.json"
    source.write_text("\n".join(sentences) + "\n", encoding="utf-8")
    subprocess.run([str(python), str(PEER), "argos", str(source), str(result)], env=env, check=True,
                   stderr=subprocess.DEVNULL)
    r = json.loads(result.read_text(encoding="utf-8"))
    run = Run("argostranslate API, whole file", r["seconds"], r["outputs"], [r["seconds"]], r["peak_rss_mb"],
              r["cpu_s"])
    if len(run.outputs) != len(sentences):
        raise RuntimeError(f"argostranslate gave {len(run.outputs)} lines for {len(sentences)}")
    return run


def _post(connection: http.client.HTTPConnection, sentence: str) -> str:
    body = json.dumps({"q": sentence, "source": "zh", "target": "en", "format": "text"})
    connection.request("POST", "/translate", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"LibreTranslate answered {response.status}: {data[:200]!r}")
    return json.loads(data)["translatedText"]


def http_clients(port: int, sentences: list[str], clients: int) -> Run:
    """`clients` threads, each with its own keep-alive connection, one sentence per request."""
    outputs = [""] * len(sentences)
    latencies: list[float] = []
    todo = list(range(len(sentences)))[::-1]
    lock = threading.Lock()

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        try:
            while True:
                with lock:
                    if not todo:
                        return
                    i = todo.pop()
                began = time.perf_counter()
                outputs[i] = _post(connection, sentences[i])
                with lock:
                    latencies.append(time.perf_counter() - began)
        finally:
            connection.close()

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(worker) for _ in range(clients)]:
            future.result()
    return Run(f"LibreTranslate HTTP, {clients} client(s)", time.perf_counter() - began, outputs, latencies)


def libretranslate(python: Path, env: dict[str, str], sentences: list[str], clients: list[int]) -> list[Run]:
    port = free_port()
    process = subprocess.Popen(
        [str(python), str(PEER), "libretranslate", "--host", "127.0.0.1", "--port", str(port),
         "--load-only", "zh,en", "--disable-web-ui"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/languages", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("LibreTranslate did not start") from None
                time.sleep(0.5)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        _post(connection, "预热。")
        connection.close()
        runs = []
        for n in clients:
            cpu = cpu_seconds(process.pid)
            runs.append(http_clients(port, sentences, n))
            runs[-1].cpu_s = cpu_seconds(process.pid) - cpu
            print(f"  {runs[-1].name}: {runs[-1].rate:.1f} sentences/s", file=sys.stderr)
        rss = peak_rss_mb(process.pid)
        for run in runs:
            run.rss_mb = rss
        return runs
    finally:
        process.terminate()
        process.wait(timeout=30)


# ---------------------------------------------------------------- report

def table(runs: list[Run], baseline: Run, references: list[str], target_sp) -> None:
    print(f"{'system':44} {'sent/s':>7} {'tok/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'RSS MB':>7} "
          f"{'BLEU':>6} {'x sys1':>7} {'sent/CPU-s':>10} {'x sys1':>7}")
    for run in runs:
        tokens = sum(len(p) for p in target_sp.encode(run.outputs)) / run.seconds
        efficiency = len(run.outputs) / run.cpu_s
        print(f"{run.name:44} {run.rate:7.2f} {tokens:7.0f} {run.percentile(50) * 1000:8.0f} "
              f"{run.percentile(95) * 1000:8.0f} {run.rss_mb:7.0f} {bleu(run.outputs, references):6.2f} "
              f"{run.rate / baseline.rate:7.2f} {efficiency:10.2f} "
              f"{efficiency / (len(baseline.outputs) / baseline.cpu_s):7.2f}")


def targets(by_name: dict[str, Run], baseline: Run, single: Run | None, references: list[str]) -> None:
    """The issue's targets, each with its measured figure."""
    def line(label: str, value: float, limit: float, ok: bool) -> None:
        print(f"  [{'met' if ok else 'NOT met'}] {label}: {value:.2f} (target {limit})")

    def ratio(name: str, other: Run) -> float | None:
        return by_name[name].rate / other.rate if name in by_name else None

    checks = [("crosswire 16 clients / system 1", "crosswire gRPC, 16 client(s)", baseline, ">= 0.9", 0.9),
              ("crosswire whole file / system 1", "crosswire gRPC, whole file in 1 request", baseline, ">= 0.95",
               0.95)]
    if "LibreTranslate HTTP, 16 client(s)" in by_name:
        checks.append(("crosswire 16 clients / LibreTranslate 16 clients", "crosswire gRPC, 16 client(s)",
                       by_name["LibreTranslate HTTP, 16 client(s)"], ">= 3", 3))
    if "argostranslate API, whole file" in by_name:
        checks.append(("crosswire whole file / argostranslate whole file",
                       "crosswire gRPC, whole file in 1 request", by_name["argostranslate API, whole file"],
                       ">= 2", 2))
    print("targets:")
    for label, name, other, text, limit in checks:
        value = ratio(name, other)
        if value is not None:
            line(label, value, text, value >= limit)
    print("against CTranslate2 holding as few sentences as the clients allow (no target in the issue; "
          "what batching across requests can reach at best):")
    for name, run in by_name.items():
        clients = name.removeprefix("crosswire gRPC, ").removesuffix(" client(s)")
        if clients.isdigit() and serving.held_name(int(clients)) in by_name:
            ceiling = by_name[serving.held_name(int(clients))]
            print(f"  crosswire {clients} clients / ctranslate2 with {clients} sentences in hand: "
                  f"{run.rate / ceiling.rate:.2f} (that ceiling is {ceiling.rate / baseline.rate:.2f}x system 1)")
    one = by_name.get("crosswire gRPC, 1 client(s)")
    if one and single:
        value = one.percentile(50) / single.percentile(50)
        line("crosswire 1 client p50 / direct one-sentence p50", value, "<= 1.3", value <= 1.3)
    servers = [r for r in by_name.values() if r.name.startswith("crosswire")]
    if servers:
        extra = max(r.rss_mb for r in servers) - baseline.rss_mb
        line("server peak RSS - direct peak RSS, MB", extra, "<= 150", extra <= 150)
        reference = bleu(baseline.outputs, references)
        gap = max(abs(bleu(r.outputs, references) - reference) for r in servers)
        line("largest |BLEU crosswire - BLEU system 1|", gap, "<= 0.1", gap <= 0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--beam-size", type=int, default=2)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--batch-tokens", type=int, nargs="+", default=[2048],
                        help="token budgets tried for system 1 (the best layout wins)")
    parser.add_argument("--argosmodel", type=Path, default=BENCH / f"{MODEL_NAME}.argosmodel")
    parser.add_argument("--peers-venv", type=Path, default=Path(os.environ.get("CROSSWIRE_PEERS_VENV",
                                                                                BENCH / "peers-venv")))
    parser.add_argument("--skip-peers", action="store_true", help="systems 1 and 2 only")
    args = parser.parse_args()

    python = args.peers_venv / "bin" / "python"
    missing = [p for p in (args.argosmodel, *([] if args.skip_peers else [python])) if not p.exists()]
    if missing:
        sys.exit(f"missing {', '.join(map(str, missing))}: run `bash benchmarks/peers/setup.sh` first")
    import sentencepiece as spm
    from crosswire_models.importing import import_model

    sentences = read_lines(SOURCE, args.lines)
    references = read_lines(REFERENCE, args.lines)
    cores = usable_cores()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="crosswire-throughput-") as scratch:
        scratch_dir = Path(scratch)
        models_dir = scratch_dir / "models"
        installed = import_model(args.argosmodel, models_dir, MODEL_NAME)
        target_sp = spm.SentencePieceProcessor(model_file=str(installed.target_spm))

        print("system 1: ctranslate2 directly", file=sys.stderr)
        layouts = sorted({(cores, 1), (1, cores)}, reverse=True)
        direct_runs = []
        for inter, intra in layouts:
            for budget in args.batch_tokens:
                run, _, _ = direct(models_dir, sentences, args.beam_size, inter, intra, budget)
                direct_runs.append(run)
                print(f"  {run.name}: {run.rate:.1f} sentences/s", file=sys.stderr)
        baseline = max(direct_runs, key=lambda r: r.rate)
        best = next((i, j, b) for i, j in layouts for b in args.batch_tokens
                     if baseline.name == f"ctranslate2 inter={i} intra={j} batch={b}")
        # The ceiling for N one-sentence clients: CTranslate2 itself never holding more than N sentences.
        _, single, held = direct(models_dir, sentences, args.beam_size, *best, one_by_one=True,
                                 in_hand=tuple(n for n in args.clients if n > 1))
        print("system 2: crosswire", file=sys.stderr)
        runs = [*direct_runs, single, *held, *crosswire(models_dir, sentences, args.beam_size, args.clients)]
        if not args.skip_peers:
            env = peer_env(scratch_dir / "argos", args.beam_size)
            subprocess.run([str(python), str(PEER), "install", str(args.argosmodel)], env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            print("system 3: argostranslate", file=sys.stderr)
            runs.append(argos(python, env, scratch_dir / "argos", sentences))
            print("system 4: LibreTranslate", file=sys.stderr)
            runs.extend(libretranslate(python, env, sentences, args.clients))
    load_after = os.getloadavg()

    print(f"\n{len(sentences)} sentences of newstest2019 zh-en, {MODEL_NAME} ({args.argosmodel.name}), "
          f"beam {args.beam_size}, {cores} cores; load average before {load_before[0]:.2f}, "
          f"after {load_after[0]:.2f} (1 min)")
    print(f"system 1 = {baseline.name}; 'x sys1' = against it; latency is per request; "
          "sent/CPU-s = sentences per CPU second of the translating process (clients not counted), "
          "which other jobs on the machine disturb less than sentences/s\n")
    table(runs, baseline, references, target_sp)
    targets({r.name: r for r in runs}, baseline, single, references)


if __name__ == "__main__":
    main()
