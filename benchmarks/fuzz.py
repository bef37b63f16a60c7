"""Fuzz a real `crosswire serve` process: at least 100,000 random and mutated requests over every RPC.

    python benchmarks/fuzz.py [--requests 100000] [--clients 16] [--seed 0]

The server runs the tiny ru->en model the tests build, with its default limits
except a short decoding length (the model's random weights would otherwise
decode 256 tokens a sentence). Requests come from tests/support/fuzzing.py
(every method of every service in the protos, read from their descriptors).
Prints the count of each status code (and of TranslateStream item codes), the
health status after, and RSS after a warm-up and after the load (target:
within 10% of each other); exits 1 on UNKNOWN, INTERNAL, a server that is not
SERVING, or RSS that did not come back.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from _setup import REPO, ServerProcess, rss_mb, tiny_models_dir

sys.path.insert(0, str(REPO / "tests"))
from support.fuzzing import Fuzzer, Tally, methods, run_one  # noqa: E402

WARM_UP = 2000


def fire(address: str, count: int, clients: int, seed: int, tally: Tally) -> float:
    """Send `count` fuzzed requests from `clients` threads, round-robin over the methods; returns seconds."""
    targets = methods()
    began = time.perf_counter()
    with grpc.insecure_channel(address) as channel:
        def client(index: int) -> None:
            fuzzer = Fuzzer(seed=seed * 1000 + index)
            for n in range(index, count, clients):
                run_one(channel, targets[n % len(targets)], fuzzer, tally, timeout=120)

        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(client, range(clients)))
    return time.perf_counter() - began


def settled_rss(pid: int, seconds: float = 5.0) -> float:
    """RSS once the server has been idle a few seconds (freed memory handed back, batch threads idle)."""
    time.sleep(seconds)
    return rss_mb(pid)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        models = tiny_models_dir(Path(tmp))
        server = ServerProcess.start(models, "--max-decoding-length", "8", "--library", str(Path(tmp) / "lib.sqlite3"))
        try:
            pid = server.process.pid
            fire(server.address, WARM_UP, args.clients, args.seed + 1, Tally())
            start_rss = settled_rss(pid)
            tally = Tally()
            seconds = fire(server.address, args.requests, args.clients, args.seed, tally)
            end_rss = settled_rss(pid)
            with grpc.insecure_channel(server.address) as channel:
                health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
            alive = server.process.poll() is None
        finally:
            server.stop()
    total = sum(tally.calls.values())
    print(f"{total} requests over {len(methods())} methods in {seconds:.0f} s ({total / seconds:.0f}/s, "
          f"{args.clients} clients; the machine was shared with other work)")
    print("calls by status code:")
    for code, count in tally.by_code().most_common():
        print(f"  {code:20} {count:7}")
    items = collections.Counter()
    for (_, code), count in tally.items.items():
        items[code] += count
    print("TranslateStream items by code: " + ", ".join(f"{code} {count}" for code, count in items.most_common()))
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(health.status)
    print(f"health after: {status}; process alive: {alive}")
    ratio = end_rss / start_rss
    print(f"RSS after warm-up {start_rss:.0f} MB, after the load {end_rss:.0f} MB: ratio {ratio:.3f} (target <= 1.10)")
    bad = tally.forbidden()
    for key, example in bad.items():
        print(f"FORBIDDEN {key}: {example}")
    return 0 if not bad and status == "SERVING" and alive and ratio <= 1.10 else 1


if __name__ == "__main__":
    sys.exit(main())
