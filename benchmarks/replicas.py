"""Balancing and retries across many replicas, checked by simulation: spread, lost calls, retries, latency.

    python benchmarks/replicas.py [--replicas 20] [--calls 2000] [--concurrency 32] [--kill 3]

One child process per replica runs a fake Crosswire replica: a gRPC aio
server on loopback implementing TranslationService.Translate, with room for
`--capacity` calls at once (a replica's cores), an injected service time
(lognormal; every fifth replica three times slower) and an injected failure
rate (two replicas answer UNAVAILABLE to 10% of calls). `--kill` replicas get
kill -9 during the run, at even points of it (their in-flight calls end
UNAVAILABLE, later connections are refused).

The load is `--concurrency` callers sharing one real `crosswire.AsyncClient`
on the comma-separated list of all replicas, so it goes through the client's
own channel config (crosswire.balancing). The same load against a fresh fleet
(same seed) is run three ways: the client as shipped (round_robin with the
retry policy), round_robin without retries, and pick_first with retries
(gRPC's default policy). Printed per way: calls, lost calls, retries used
(attempts the replicas received beyond the calls), calls/s, p50/p95 latency,
and the spread of answered calls over the replicas that lived through the
run (min, max, max/min, coefficient of variation); then the ratios against
the shipped client. Figures vary with the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import mmap
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# gRPC logs each GOAWAY of a killed replica at INFO; the figures are what this prints.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

import grpc  # noqa: E402

from crosswire import AsyncClient, CrosswireError  # noqa: E402
from crosswire.balancing import service_config  # noqa: E402
from crosswire.v1 import translation_pb2, translation_pb2_grpc  # noqa: E402

CALL_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ReplicaSpec:
    """What one fake replica does: its median service time, spread, failure rate and capacity."""

    median_ms: float
    sigma: float
    failure_rate: float
    capacity: int


def fleet_specs(replicas: int, capacity: int) -> list[ReplicaSpec]:
    """Most replicas at 20 ms; a fifth three times slower; two answer UNAVAILABLE to 10% of calls."""
    specs = []
    for index in range(replicas):
        slow = index % 5 == 4
        flaky = index in (replicas - 2, replicas - 3)
        specs.append(ReplicaSpec(60.0 if slow else 20.0, 0.3, 0.10 if flaky else 0.0, capacity))
    return specs


class FakeTranslation(translation_pb2_grpc.TranslationServiceServicer):
    """Answers Translate with the replica's name after an injected delay, or UNAVAILABLE at the injected rate."""

    def __init__(self, index: int, spec: ReplicaSpec, attempts: memoryview, seed: int) -> None:
        self.index, self.spec, self.attempts = index, spec, attempts
        self.random = random.Random(seed * 1000 + index)
        self.slots = asyncio.Semaphore(spec.capacity)

    async def Translate(self, request, context):
        self.attempts[self.index] += 1
        if self.random.random() < self.spec.failure_rate:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "injected failure")
        delay = self.random.lognormvariate(0.0, self.spec.sigma) * self.spec.median_ms / 1000
        async with self.slots:
            await asyncio.sleep(delay)
        return translation_pb2.TranslateResponse(results=[translation_pb2.TranslationResult(text=f"r{self.index}")])


async def serve_fake(index: int, spec: ReplicaSpec, seed: int, counts: Path) -> None:
    """One replica process: serve until killed, printing the port and counting attempts in the shared `counts` file."""
    with counts.open("r+b") as handle, mmap.mmap(handle.fileno(), 0) as shared:
        attempts = memoryview(shared).cast("q")
        server = grpc.aio.server()
        servicer = FakeTranslation(index, spec, attempts, seed)
        translation_pb2_grpc.add_TranslationServiceServicer_to_server(servicer, server)
        print(server.add_insecure_port("127.0.0.1:0"), flush=True)
        await server.start()
        await server.wait_for_termination()


class Fleet:
    """One process per fake replica (so a kill is a real kill -9); attempts are counted in a file they all map."""

    def __init__(self, specs: list[ReplicaSpec], seed: int) -> None:
        self.counts = Path(tempfile.mkstemp(prefix="crosswire-replicas-")[1])
        self.counts.write_bytes(bytes(8 * len(specs)))
        self.processes = [
            subprocess.Popen([sys.executable, __file__, "--serve-fake", str(index), json.dumps(spec.__dict__),
                              "--seed", str(seed), "--counts", str(self.counts)], stdout=subprocess.PIPE, text=True)
            for index, spec in enumerate(specs)
        ]
        self.ports = [int(process.stdout.readline() or 0) for process in self.processes]
        if not all(self.ports):
            self.close()
            raise RuntimeError("a fake replica did not start")

    def kill(self, index: int) -> None:
        self.processes[index].send_signal(signal.SIGKILL)
        self.processes[index].wait(10)

    def attempts(self) -> list[int]:
        return list(memoryview(self.counts.read_bytes()).cast("q"))

    def close(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait(10)
        self.counts.unlink(missing_ok=True)


def configured_client(address: str, policy: str, retries: int) -> AsyncClient:
    """The real AsyncClient, with only the balancing policy of its service config swapped for `policy`."""

    class Configured(AsyncClient):
        def _open(self, target: str, credentials: grpc.ChannelCredentials | None, options: list) -> grpc.aio.Channel:
            options = [(key, service_config(retries + 1, policy) if key == "grpc.service_config" else value)
                       for key, value in options]
            return super()._open(target, credentials, options)

    return Configured(address, timeout=CALL_TIMEOUT_S, retries=retries)


@dataclass
class Outcome:
    """What one way of calling achieved against one fleet."""

    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)  # answered calls per replica
    attempts: list[int] = field(default_factory=list)  # attempts each replica received
    lost: list[str] = field(default_factory=list)
    killed: list[int] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return len(self.latencies) + len(self.lost)

    def survivors(self) -> list[int]:
        return [n for index, n in enumerate(self.answered) if index not in self.killed]

    def spread(self) -> tuple[int, int, float, float]:
        """(min, max, max/min, coefficient of variation) of the answered calls per surviving replica."""
        counts = self.survivors()
        low, high = min(counts), max(counts)
        cv = statistics.pstdev(counts) / statistics.mean(counts) if statistics.mean(counts) else float("inf")
        return low, high, (high / low if low else float("inf")), cv

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else float("nan")


async def drive(name: str, specs: list[ReplicaSpec], policy: str, retries: int, args: argparse.Namespace) -> Outcome:
    """`args.calls` calls from `args.concurrency` callers through one client, killing replicas as the run goes."""
    outcome = Outcome(name, answered=[0] * len(specs), killed=list(range(args.kill)))
    replicas = Fleet(specs, args.seed)
    try:
        address = ",".join(f"127.0.0.1:{port}" for port in replicas.ports)
        kill_at = {args.calls * (k + 1) // (args.kill + 1): k for k in range(args.kill)}
        issued = 0
        async with configured_client(address, policy, retries) as client:
            async def caller() -> None:
                nonlocal issued
                while issued < args.calls:
                    issued += 1
                    if issued in kill_at:
                        await asyncio.to_thread(replicas.kill, kill_at[issued])
                    started = time.perf_counter()
                    try:
                        (result,) = await client.translate(["Текст."], source="ru")
                    except CrosswireError as error:
                        outcome.lost.append(f"{error.code.name}: {error.details}")
                        continue
                    outcome.latencies.append(time.perf_counter() - started)
                    outcome.answered[int(result.text.removeprefix("r"))] += 1

            # A new channel sends its first burst to the first replica it connects to: let all connect first.
            for _ in range(2 * len(specs)):
                with contextlib.suppress(CrosswireError):
                    await client.translate(["Текст."], source="ru")
            before = replicas.attempts()
            started = time.perf_counter()
            await asyncio.gather(*(caller() for _ in range(args.concurrency)))
            outcome.seconds = time.perf_counter() - started
        after = replicas.attempts()
        outcome.attempts = [n - m for n, m in zip(after, before, strict=True)]
    finally:
        replicas.close()
    return outcome


def report(outcomes: list[Outcome]) -> None:
    print(f"{'way of calling':40} {'calls':>6} {'lost':>5} {'retries':>7} {'calls/s':>8} {'p50 ms':>7} "
          f"{'p95 ms':>7} {'min':>5} {'max':>5} {'max/min':>7} {'CV':>5}")
    for o in outcomes:
        low, high, ratio, cv = o.spread()
        retries = sum(o.attempts) - o.calls
        print(f"{o.name:40} {o.calls:6d} {len(o.lost):5d} {retries:7d} {len(o.latencies) / o.seconds:8.1f} "
              f"{o.percentile(0.5):7.1f} {o.percentile(0.95):7.1f} {low:5d} {high:5d} {ratio:7.2f} {cv:5.2f}")
    shipped = outcomes[0]
    print(f"\nanswered per replica, {shipped.name} (killed: {shipped.killed}): {shipped.answered}")
    for o in outcomes[1:]:
        speed = (len(o.latencies) / o.seconds) / (len(shipped.latencies) / shipped.seconds)
        example = f" (e.g. {o.lost[0]})" if o.lost else ""
        latency = o.percentile(0.95) / shipped.percentile(0.95)
        print(f"{o.name} against the shipped client: calls/s x{speed:.2f}, p95 x{latency:.2f}, "
              f"lost {len(o.lost)} vs {len(shipped.lost)}{example}")


async def main(args: argparse.Namespace) -> None:
    specs = fleet_specs(args.replicas, args.capacity)
    print(f"{args.replicas} fake replicas (capacity {args.capacity} each; every 5th 3x slower; 2 fail 10% "
          f"UNAVAILABLE), {args.kill} killed during the run; {args.calls} calls from {args.concurrency} callers\n")
    ways = [("round_robin + retries (shipped)", "round_robin", 4), ("round_robin, no retries", "round_robin", 0),
            ("pick_first + retries (gRPC default)", "pick_first", 4)]
    outcomes = [await drive(name, specs, policy, retries, args) for name, policy, retries in ways]
    report(outcomes)
    if outcomes[0].lost:
        sys.exit(f"the shipped client lost {len(outcomes[0].lost)} calls (must be 0): {outcomes[0].lost[:3]}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=20)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--capacity", type=int, default=2, help="calls one replica serves at once")
    parser.add_argument("--kill", type=int, default=3, help="replicas stopped during the run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--serve-fake", nargs=2, metavar=("INDEX", "SPEC"), help=argparse.SUPPRESS)
    parser.add_argument("--counts", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.serve_fake:
        index, spec = arguments.serve_fake
        asyncio.run(serve_fake(int(index), ReplicaSpec(**json.loads(spec)), arguments.seed, arguments.counts))
    else:
        asyncio.run(main(arguments))
