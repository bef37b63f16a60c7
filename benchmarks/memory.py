"""Peak memory of one large request, through a real `crosswire serve` process.

    python benchmarks/memory.py [--mb 3] [--text news|short] [--baseline REV] [--only segment translate]

For each request kind, a fresh server (the tiny ru->en model the tests build,
limits raised and no memory budget, so a request of --mb megabytes is accepted) is warmed up with a
small request; then its peak (VmHWM) is reset via /proc/PID/clear_refs, one
request of about --mb MB of Russian text is sent (news paragraphs, or with
--text short the worst case per byte: one-word sentences) and the peak read
back. Prints idle RSS, peak, the growth and the ratio growth / request bytes.
With --baseline REV it measures the same against the code of a git revision
(extracted with `git archive`, run from PYTHONPATH) in the same run, and
prints the ratio of the growths.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import grpc

from _setup import REPO, free_port, tiny_models_dir

PARAGRAPH = ("Правительство объявило о новых мерах поддержки экономики, сообщил министр. "
             "Суд вынес приговор бывшему губернатору области. Цены на нефть выросли после заявления ОПЕК. "
             "«Мы готовы к переговорам», — заявил он журналистам в Москве.\n\n")


SHORT = "Да. Нет. "


def russian_text(megabytes: float, kind: str = "news") -> str:
    """Russian text of about `megabytes` MB in UTF-8: news paragraphs, or one-word sentences."""
    unit = PARAGRAPH if kind == "news" else SHORT
    return unit * max(1, int(megabytes * 1_000_000 / len(unit.encode())))


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def reset_peak(pid: int) -> None:
    """Set the process's VmHWM back to its current RSS (Linux: clear_refs 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


class Server:
    """A `crosswire serve` child with the given source tree (None = this checkout) and limits."""

    def __init__(self, models: Path, source: Path | None, megabytes: float) -> None:
        self.port = free_port()
        env = dict(os.environ)
        if source is not None:
            env["PYTHONPATH"] = os.pathsep.join(str(source / part) for part in ("client", "server", "models"))
        big = str(int(megabytes * 4 * 1_000_000) + (1 << 20))
        flags = ["--max-chars", str(int(megabytes * 1_000_000)), "--max-message-bytes", big,
                 "--max-response-bytes", str(64 << 20), "--max-queued-sentences", "1000000",
                 "--max-decoding-length", "4", "--cache-size", "0", "--memory-budget-mb", "0"]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crosswire", "serve", "--models-dir", str(models), "--port", str(self.port),
             "--log-format", "text", *flags], env=env, stderr=subprocess.DEVNULL)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}", options=[
            ("grpc.max_receive_message_length", 256 << 20), ("grpc.max_send_message_length", 256 << 20)])
        self._wait_ready()

    def _wait_ready(self) -> None:
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        stub = health_pb2_grpc.HealthStub(self.channel)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=2).status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not become SERVING")

    def call(self, kind: str, text: str) -> str:
        from crosswire.v1 import segmentation_pb2, segmentation_pb2_grpc, translation_pb2, translation_pb2_grpc

        try:
            if kind == "segment":
                segmentation_pb2_grpc.SegmentationServiceStub(self.channel).Segment(
                    segmentation_pb2.SegmentRequest(text=text, language="ru"), timeout=600)
            else:
                translation_pb2_grpc.TranslationServiceStub(self.channel).Translate(
                    translation_pb2.TranslateRequest(texts=[text], source_language="ru"), timeout=600)
            return "OK"
        except grpc.RpcError as error:
            return f"{error.code().name}: {error.details()[:80]}"

    def stop(self) -> None:
        self.channel.close()
        self.process.terminate()
        self.process.wait(60)


def measure(models: Path, source: Path | None, megabytes: float, kind: str, text_kind: str) -> tuple:
    """(idle MB, peak MB, outcome) of one request of `kind` to a fresh server, after a warm-up."""
    server = Server(models, source, megabytes)
    try:
        server.call(kind, PARAGRAPH * 3)  # loads the language identifier, the tokenisers, the batch threads
        pid, text = server.process.pid, russian_text(megabytes, text_kind)
        time.sleep(0.5)
        idle = status_kb(pid, "VmRSS")
        reset_peak(pid)
        outcome = server.call(kind, text)
        return idle / 1024, status_kb(pid, "VmHWM") / 1024, outcome
    finally:
        server.stop()


def extract(revision: str, folder: Path) -> Path:
    """The tree of a git revision, written out under `folder`."""
    archive = folder / "tree.tar"
    subprocess.run(["git", "-C", str(REPO), "archive", "-o", str(archive), revision], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder / "tree", filter="data")
    return folder / "tree"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=3.0, help="request size in MB of UTF-8 text")
    parser.add_argument("--baseline", default="", help="git revision to measure the same way, in the same run")
    parser.add_argument("--only", nargs="+", default=["segment", "translate"], choices=["segment", "translate"])
    parser.add_argument("--text", default="news", choices=["news", "short"])
    args = parser.parse_args()
    request_mb = len(russian_text(args.mb, args.text).encode()) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        models = tiny_models_dir(Path(tmp))
        trees = {"this tree": None}
        if args.baseline:
            trees[args.baseline] = extract(args.baseline, Path(tmp))
        runs = {name: {kind: measure(models, tree, args.mb, kind, args.text) for kind in args.only}
                for name, tree in trees.items()}
    print(f"request: {request_mb:.2f} MB of UTF-8, {args.text} text; a fresh server per row "
          "(machine shared with other work: figures vary by a few MB)")
    print(f"{'code':12} {'request':10} {'idle MB':>8} {'peak MB':>8} {'growth':>8} {'growth/request':>15}  outcome")
    for name, found in runs.items():
        for kind, (idle, peak, outcome) in found.items():
            growth = peak - idle
            print(f"{name[:12]:12} {kind:10} {idle:8.0f} {peak:8.0f} {growth:8.0f} {growth / request_mb:15.1f}  {outcome}")
    if args.baseline:
        (new, old) = runs.values()
        for kind in args.only:
            ratio = (new[kind][1] - new[kind][0]) / max(1.0, old[kind][1] - old[kind][0])
            print(f"{kind}: growth this tree / {args.baseline} = {ratio:.2f}")


if __name__ == "__main__":
    main()
