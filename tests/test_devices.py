"""Device, compute type and memory set-up; the GPU path runs where CTranslate2 sees a CUDA device, else skips."""

from __future__ import annotations

import asyncio
import platform
import subprocess
import sys
from pathlib import Path

import ctranslate2
import pytest

from crosswire_server.config import ServerConfig
from crosswire_server.engine import resolve_compute_type, resolve_device
from crosswire_server.translation import TranslationEngine

needs_gpu = pytest.mark.skipif(ctranslate2.get_cuda_device_count() == 0,
                               reason="no CUDA device visible to CTranslate2")


def test_auto_compute_type_is_int8_on_cpu_and_int8_float16_on_gpu() -> None:
    assert resolve_compute_type("auto", "cpu") == "int8"
    assert resolve_compute_type("auto", "cuda") == "int8_float16"
    assert resolve_compute_type("float16", "cuda") == "float16"


@pytest.mark.parametrize("gpus, auto", [(0, "cpu"), (1, "cuda"), (4, "cuda")])
def test_auto_device_is_cuda_only_where_ctranslate2_sees_a_gpu(monkeypatch: pytest.MonkeyPatch, gpus: int,
                                                               auto: str) -> None:
    monkeypatch.setattr(ctranslate2, "get_cuda_device_count", lambda: gpus)
    assert resolve_device("auto") == auto
    assert (resolve_device("cpu"), resolve_device("cuda")) == ("cpu", "cuda")  # an explicit choice stands


@needs_gpu
def test_translates_on_cuda_with_int8_float16(tiny_models_dir: Path) -> None:
    engine = TranslationEngine.load(
        ServerConfig.from_env({}, models_dir=tiny_models_dir, device="cuda", max_decoding_length=16))

    async def body():
        try:
            return await engine.translate(["Правительство объявило о новых мерах.", "Суд вынес приговор."],
                                          source="ru", presegmented=True)
        finally:
            await engine.close()

    (model,) = engine.models()
    assert (model.device, model.compute_type) == ("cuda", "int8_float16")
    results = asyncio.run(body())
    assert len(results) == 2 and all(r.text for r in results)


# Eight threads that hold memory at the same time, then glibc's own count of its arenas (malloc_stats, on stderr).
ARENAS = """
import ctypes, sys, threading
from crosswire_server.memory import limit_malloc_arenas
cap = int(sys.argv[1])
assert limit_malloc_arenas(cap) is (cap > 0)
together = threading.Barrier(8)
def hold():
    kept = [bytearray(50_000) for _ in range(4)]
    together.wait()
threads = [threading.Thread(target=hold) for _ in range(8)]
for thread in threads: thread.start()
for thread in threads: thread.join()
ctypes.CDLL(None).malloc_stats()
"""


def arenas_used(cap: int) -> int:
    done = subprocess.run([sys.executable, "-c", ARENAS, str(cap)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc arenas are glibc's")
def test_malloc_arenas_can_be_capped() -> None:
    cap = ServerConfig.from_env({}).malloc_arenas
    assert 1 <= arenas_used(cap) <= cap < arenas_used(0)  # 0 leaves glibc's default: an arena per thread
