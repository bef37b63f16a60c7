"""Three `crosswire serve` replicas behind one address list: kill -9 one under 16 clients, and no call is lost."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from crosswire import Client, CrosswireError
from support.tiny_marian import RUSSIAN

CLIENTS = 16
#: Upper bound of every wait in this test; a call's own deadline is CALL_TIMEOUT_S.
WAIT_S = 90.0
CALL_TIMEOUT_S = 30.0
#: Calls each client makes after the kill before the run ends.
CALLS_AFTER_KILL = 4


@dataclass
class Replica:
    """One `crosswire serve` process, its port and its request log (stderr, one JSON line per event)."""

    process: subprocess.Popen
    log: Path
    port: int = 0

    def events(self) -> list[dict]:
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{") and line.endswith("}")]

    def translations_served(self) -> int:
        return sum(1 for e in self.events()
                   if e.get("message") == "request" and e.get("method") == "Translate" and e.get("status") == "OK")


def start_replica(models_dir: Path, log: Path) -> Replica:
    """A server on a free loopback port; every sentence is decoded (no cache) after a short batching window."""
    env = dict(os.environ, CROSSWIRE_MODELS_DIR=str(models_dir), CROSSWIRE_MAX_DECODING_LENGTH="16",
               CROSSWIRE_CACHE_SIZE="0", CROSSWIRE_BATCH_WINDOW_MS="20", CROSSWIRE_INTER_THREADS="1",
               CROSSWIRE_GRACE_PERIOD_S="1")
    with log.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "crosswire", "serve", "--host", "127.0.0.1", "--port", "0"],
                                   env=env, stdout=subprocess.DEVNULL, stderr=sink)
    return Replica(process, log)


def wait_until_serving(replica: Replica, deadline: float) -> None:
    """Read the port from the replica's "listening" line, wait for its health to be SERVING, then warm it up."""
    while not replica.port:
        assert replica.process.poll() is None, f"the replica exited: {replica.log.read_text()[-2000:]}"
        assert time.monotonic() < deadline, "the replica did not start listening in time"
        listening = [e for e in replica.events() if e.get("message") == "listening"]
        if listening:
            replica.port = int(listening[0]["address"].rpartition(":")[2])
        time.sleep(0.1)
    with Client(f"127.0.0.1:{replica.port}", retries=0, timeout=5) as client:
        while True:
            with contextlib.suppress(CrosswireError):
                if client.health() == "SERVING":
                    break
            assert time.monotonic() < deadline, "the replica did not become SERVING in time"
            time.sleep(0.2)
        # The first translation loads what the server loads lazily (seconds on a busy machine): not part of the run.
        assert client.translate([RUSSIAN[0]], source="ru", timeout=max(1.0, deadline - time.monotonic()))


@pytest.fixture
def replicas(tiny_models_dir: Path, tmp_path: Path) -> Iterator[list[Replica]]:
    started = [start_replica(tiny_models_dir, tmp_path / f"replica-{index}.log") for index in range(3)]
    try:
        deadline = time.monotonic() + WAIT_S
        with ThreadPoolExecutor(len(started)) as pool:
            list(pool.map(lambda replica: wait_until_serving(replica, deadline), started))
        yield started
    finally:
        for replica in started:
            replica.process.kill()
            replica.process.wait(10)


@dataclass
class Caller:
    """One client thread: translates in a loop until told to stop, keeping every outcome."""

    address: str
    index: int
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def run(self, stop: threading.Event) -> None:
        with Client(self.address, timeout=CALL_TIMEOUT_S) as client:
            while not stop.is_set():
                text = RUSSIAN[(self.index + len(self.done)) % len(RUSSIAN)]
                try:
                    (result,) = client.translate([text], source="ru")
                    self.done.append(result.text)
                except CrosswireError as error:
                    self.failed.append(f"{error.code.name}: {error.details}")


def wait_for(condition, what: str, deadline: float) -> None:
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def test_killing_one_of_three_replicas_loses_no_call(replicas: list[Replica]) -> None:
    listed = ",".join(f"127.0.0.1:{replica.port}" for replica in replicas)
    callers = [Caller(listed, index) for index in range(CLIENTS)]
    stop = threading.Event()
    threads = [threading.Thread(target=caller.run, args=(stop,), daemon=True) for caller in callers]
    for thread in threads:
        thread.start()
    victim, survivors = replicas[0], replicas[1:]
    try:
        deadline = time.monotonic() + WAIT_S
        wait_for(lambda: all(r.translations_served() >= 3 for r in replicas), "every replica served calls", deadline)
        victim.process.send_signal(signal.SIGKILL)
        assert victim.process.wait(10) == -signal.SIGKILL
        at_kill = [len(caller.done) for caller in callers]
        served_at_kill = [r.translations_served() for r in survivors]
        wait_for(lambda: all(len(c.done) >= n + CALLS_AFTER_KILL for c, n in zip(callers, at_kill, strict=True)),
                 f"every client made {CALLS_AFTER_KILL} more calls after the kill", deadline)
    finally:
        stop.set()
        for thread in threads:
            thread.join(CALL_TIMEOUT_S + 5)
    assert not any(thread.is_alive() for thread in threads), "every client call returns"
    failures = [failure for caller in callers for failure in caller.failed]
    assert failures == [], f"{len(failures)} calls were lost, e.g. {failures[:3]}"
    assert all(text for caller in callers for text in caller.done)
    served = [r.translations_served() for r in survivors]
    assert all(after > before for after, before in zip(served, served_at_kill, strict=True)), (
        f"both survivors carry on: {served_at_kill} at the kill, {served} at the end")
    calls = sum(len(caller.done) for caller in callers)
    assert sum(served) + victim.translations_served() >= calls, "each answer a client got was served by a replica"
