"""Stream memory: what one open TranslateStream holds in the server, against the load check's STREAM_BUFFER_MIB.

    python benchmarks/stream_memory.py [--streams 0,16,64,128] [--channels 4] [--variants default,no-budget,in-flight-1]
                                       [--modes never-read,reading] [--settle 3] [--window 8]

For each variant of the server's flags and each client mode it starts a real
`crosswire serve` on loopback (the tiny ru->en model the tests build, decoding
length 16, library in a temporary SQLite file), warms it with one stream that
sends every text of the pool once (so the translation cache answers the rest and
the model's working memory is already there), measures the idle RSS (N = 0), then
opens streams over --channels connections until N are open, for each N in turn.
Each stream sends newstest2019 Russian texts of about 3,000 characters, one in
ten of 50,000, as fast as flow control lets it. "never-read" clients never read
an answer: once the server holds max_stream_in_flight unanswered items and the
HTTP/2 windows are full, sending blocks; the RSS is sampled when no stream has
sent a message for --settle seconds. "reading" clients read every answer; the
RSS is the largest sample over --window seconds. Prints, per N, the server's
VmRSS and VmHWM, their growth over N = 0, the growth per stream in MiB and the
messages each stream got sent (median): the same count at every N is the sign
that the never-read streams were saturated, not merely slowed by a busy machine.

Variants: "default" (default limits: the memory budget charges each item while
it is translated, 64 items in flight per stream); "no-budget"
(--memory-budget-mb 0); "in-flight-1" (--max-stream-in-flight 1: one item per
stream, so what remains is the transport and the call itself).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import grpc

from _setup import DATA, ServerProcess, peak_rss_mb, rss_mb, tiny_models_dir

from crosswire.v1 import translation_pb2, translation_pb2_grpc

VARIANTS = {"default": [], "no-budget": ["--memory-budget-mb", "0"], "in-flight-1": ["--max-stream-in-flight", "1"]}
SMALL_CHARS, LARGE_CHARS, LARGE_EVERY = 3_000, 50_000, 10
POOL_SMALL, POOL_LARGE = 24, 3
MAX_SATURATE_S = 240.0


def russian_pool() -> list[str]:
    """POOL_SMALL texts of about SMALL_CHARS characters, then POOL_LARGE of LARGE_CHARS (newstest2019 or made up)."""
    source = DATA / "eval" / "ru-en" / "newstest2019.ru"
    if source.exists():
        lines = [line.strip() for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        lines = [f"Министр объявил о новых мерах номер {n}." for n in range(2000)]

    def text(chars: int, offset: int) -> str:
        parts, size, n = [], 0, offset
        while size < chars:
            parts.append(lines[n % len(lines)] + ("\n\n" if n % 5 == 4 else " "))
            size += len(parts[-1])
            n += 1
        return "".join(parts)[:chars].rstrip()

    return ([text(SMALL_CHARS, n * 37) for n in range(POOL_SMALL)]
            + [text(LARGE_CHARS, 500 + n * 400) for n in range(POOL_LARGE)])


class Stream:
    """One TranslateStream sending pool texts as fast as the transport takes them; reads answers if asked."""

    def __init__(self, stub: translation_pb2_grpc.TranslationServiceStub, pool: list[str], index: int,
                 read: bool) -> None:
        self.pool, self.index, self.sent, self.received, self.answer_bytes = pool, index, 0, 0, 0
        self.stop = threading.Event()
        self.call = stub.TranslateStream(self._messages(), timeout=3600)
        self.reader = threading.Thread(target=self._read, daemon=True) if read else None
        if self.reader is not None:
            self.reader.start()

    def _messages(self):  # noqa: ANN202 - a generator of requests
        small, n = POOL_SMALL, 0
        while not self.stop.is_set():
            k = self.index * 7 + n
            text = self.pool[small + k % POOL_LARGE] if n % LARGE_EVERY == LARGE_EVERY - 1 else self.pool[k % small]
            yield translation_pb2.TranslateStreamRequest(id=str(n), text=text, source_language="ru",
                                                         target_language="en")
            n += 1
            self.sent = n

    def _read(self) -> None:
        try:
            for answer in self.call:
                self.received += 1
                self.answer_bytes += answer.ByteSize()
        except grpc.RpcError:
            pass

    def close(self) -> None:
        self.stop.set()
        self.call.cancel()
        if self.reader is not None:
            self.reader.join(timeout=30)


def sample(pid: int, count: int = 3, every: float = 0.5) -> float:
    """Median of a few VmRSS samples, in MiB."""
    values = []
    for _ in range(count):
        values.append(rss_mb(pid))
        time.sleep(every)
    return statistics.median(values)


def warm_up(channel: grpc.Channel, pool: list[str]) -> tuple[int, int]:
    """Send every pool text twice on one reading stream; returns (answers, largest answer bytes)."""
    stub = translation_pb2_grpc.TranslationServiceStub(channel)
    requests = [translation_pb2.TranslateStreamRequest(id=str(n), text=pool[n % len(pool)], source_language="ru",
                                                       target_language="en") for n in range(2 * len(pool))]
    answers = list(stub.TranslateStream(iter(requests), timeout=1800))
    errors = [a.error.message for a in answers if a.HasField("error")]
    if errors:
        raise RuntimeError(f"warm-up stream item failed: {errors[0]}")
    return len(answers), max(a.ByteSize() for a in answers)


def saturate(streams: list[Stream], settle: float) -> float:
    """Wait until no stream has sent a message for `settle` seconds; returns the seconds it took."""
    began = time.monotonic()
    last, still_since = None, time.monotonic()
    while time.monotonic() - began < MAX_SATURATE_S:
        now = [s.sent for s in streams]
        if now != last or min(now, default=1) == 0:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= settle:
            return time.monotonic() - began
        time.sleep(0.25)
    raise RuntimeError(f"streams still sending after {MAX_SATURATE_S:.0f} s: flow control did not stop them")


def run_case(variant: str, mode: str, counts: list[int], channels_n: int, settle: float, window: float,
             pool: list[str], models: Path, folder: Path) -> list[dict]:
    """One server, one client mode: the RSS at each N of open streams."""
    flags = ["--max-decoding-length", "16", "--library", str(folder / f"library-{variant}-{mode}.sqlite3"),
             *VARIANTS[variant]]
    server = ServerProcess.start(models, *flags, log=folder / f"server-{variant}-{mode}.log")
    pid = server.process.pid
    options = [("grpc.use_local_subchannel_pool", 1)]  # one connection per channel, as separate clients have
    channels = [grpc.insecure_channel(server.address, options=options) for _ in range(channels_n)]
    streams: list[Stream] = []
    rows = []
    try:
        warmed, largest = warm_up(channels[0], pool)
        time.sleep(1.0)
        base = sample(pid, count=5)
        base_hwm = peak_rss_mb(pid)
        rows.append({"n": 0, "rss": base, "hwm": base_hwm, "sent": 0, "seconds": 0.0, "answers": warmed,
                     "largest": largest})
        for n in [c for c in counts if c > 0]:
            while len(streams) < n:
                i = len(streams)
                stub = translation_pb2_grpc.TranslationServiceStub(channels[i % channels_n])
                streams.append(Stream(stub, pool, i, read=mode == "reading"))
            if mode == "never-read":
                seconds = saturate(streams, settle)
                rss = sample(pid)
            else:
                time.sleep(2.0)
                began, values = time.monotonic(), []
                while time.monotonic() - began < window:
                    values.append(rss_mb(pid))
                    time.sleep(0.5)
                seconds, rss = window, max(values)
            if server.process.poll() is not None:
                raise RuntimeError(f"server exited with status {server.process.returncode}")
            rows.append({"n": n, "rss": rss, "hwm": peak_rss_mb(pid), "sent": statistics.median(s.sent for s in streams),
                         "seconds": seconds, "answers": sum(s.received for s in streams),
                         "largest": 0})
    finally:
        for stream in streams:
            stream.close()
        for channel in channels:
            channel.close()
        server.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", default="0,16,64,128", help="numbers of open streams, in increasing order")
    parser.add_argument("--channels", type=int, default=4, help="client connections the streams are spread over")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"server flag sets: {', '.join(VARIANTS)}")
    parser.add_argument("--modes", default="never-read,reading", help="client modes: never-read, reading")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds without a send that mean saturated")
    parser.add_argument("--window", type=float, default=8.0, help="seconds of sampling with reading clients")
    args = parser.parse_args()
    counts = sorted({int(c) for c in args.streams.split(",")} | {0})
    pool = russian_pool()
    began = time.monotonic()
    print(f"texts: {POOL_SMALL} of ~{SMALL_CHARS:,} characters ({len(pool[0].encode()):,} bytes), {POOL_LARGE} of "
          f"{LARGE_CHARS:,} ({len(pool[-1].encode()):,} bytes), one in {LARGE_EVERY} large; "
          f"{args.channels} channels; tiny ru->en model, decoding length 16; loopback")
    with tempfile.TemporaryDirectory(prefix="crosswire-stream-memory-") as tmp:
        folder = Path(tmp)
        models = tiny_models_dir(folder)
        for variant in args.variants.split(","):
            for mode in args.modes.split(","):
                rows = run_case(variant, mode, counts, args.channels, args.settle, args.window, pool, models, folder)
                base = rows[0]
                print(f"\n{variant}, {mode} clients (flags: {' '.join(VARIANTS[variant]) or 'defaults'}); "
                      f"idle RSS {base['rss']:.0f} MiB after {base['answers']} warm-up answers "
                      f"(largest {base['largest']:,} bytes); load average {os.getloadavg()[0]:.1f}")
                print(f"  {'N':>4} {'RSS':>7} {'HWM':>7} {'growth':>7} {'per stream':>10} {'HWM/stream':>10} "
                      f"{'sent/stream':>11} {'s':>5} {'answers':>8}")
                for row in rows:
                    growth, hwm_growth = row["rss"] - base["rss"], row["hwm"] - base["hwm"]
                    per = f"{growth / row['n']:10.2f}" if row["n"] else f"{'':10}"
                    per_hwm = f"{hwm_growth / row['n']:10.2f}" if row["n"] else f"{'':10}"
                    print(f"  {row['n']:4} {row['rss']:7.0f} {row['hwm']:7.0f} {growth:7.0f} {per} {per_hwm} "
                          f"{row['sent']:11.0f} {row['seconds']:5.1f} {row['answers']:8}", flush=True)
    print(f"\nall MiB; took {time.monotonic() - began:.0f} s; machine: {os.cpu_count()} cores, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")


if __name__ == "__main__":
    main()
