"""Alignment next to other work: the encoder loads off the event loop, concurrent requests encode side by side."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

from crosswire import Client, CrosswireError
from crosswire_server.alignment import embeddings
from crosswire_server.errors import Stopped
from support.server import ServerThread

ALIGNMENT = "crosswire.v1.AlignmentService"


class _GatedModel:
    """Stands in for the sentence encoder: each call waits at a barrier, so calls that cannot overlap time out."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=10)
        self.texts: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.texts += texts
        self.barrier.wait()
        vectors = np.ones((len(texts), embeddings.DIMENSION), dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _loaded_embedder(model: object) -> embeddings.Embedder:
    embedder = embeddings.Embedder()
    embedder._model = model
    embedder._loaded = True
    return embedder


def test_two_requests_with_different_texts_encode_at_the_same_time() -> None:
    model = _GatedModel(parties=2)
    embedder = _loaded_embedder(model)
    errors: list[BaseException] = []

    def encode(texts: list[str]) -> None:
        try:
            embedder.encode(texts)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=encode, args=([f"text {n}"],)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not errors, "one request waited for the other's encoding to finish"
    assert sorted(model.texts) == ["text 0", "text 1"]


def test_a_text_another_request_gave_up_on_is_encoded_by_the_one_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "CHUNK", 1)
    started, release = threading.Event(), threading.Event()

    class FirstCallBlocks:
        calls = 0

        def encode(self, texts: list[str]) -> np.ndarray:
            FirstCallBlocks.calls += 1
            if FirstCallBlocks.calls == 1:
                started.set()
                release.wait(10)
            return np.ones((len(texts), embeddings.DIMENSION), dtype=np.float32)

    embedder = _loaded_embedder(FirstCallBlocks())
    stop = threading.Event()
    outcome: list[object] = []

    def first() -> None:
        try:
            embedder.encode(["a", "shared"], stop)
        except Stopped as exc:
            outcome.append(exc)

    worker = threading.Thread(target=first)
    worker.start()
    started.wait(10)
    # "shared" is claimed by the first request (its second chunk): the second request waits for it.
    waiter_result: list[np.ndarray] = []
    waiter = threading.Thread(target=lambda: waiter_result.append(embedder.encode(["shared"])))
    waiter.start()
    time.sleep(0.2)
    stop.set()
    release.set()
    worker.join(10)
    waiter.join(10)
    assert outcome and isinstance(outcome[0], Stopped)
    assert waiter_result and waiter_result[0].shape == (1, embeddings.DIMENSION)
    assert embedder.encoded == 2  # "a" by the first request, "shared" once, by the second


def test_health_answers_while_the_encoder_loads(tiny_models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loading, finish = threading.Event(), threading.Event()

    def slow_load(self: embeddings.Embedder) -> None:
        loading.set()
        finish.wait(30)

    monkeypatch.setattr(embeddings.Embedder, "load", slow_load)
    handle = ServerThread(tiny_models_dir, wait_ready=False)
    try:
        assert loading.wait(30)
        with Client(handle.address, retries=0, timeout=5) as client:
            assert client.health("crosswire.v1.SegmentationService") == "SERVING"
            assert client.health(ALIGNMENT) == "NOT_SERVING"
            # A request that comes meanwhile waits for the encoder within its deadline, without blocking the loop.
            with pytest.raises(CrosswireError) as info:
                client.align("Текст.", ["Text."], timeout=0.5)
            assert info.value.code is grpc.StatusCode.DEADLINE_EXCEEDED
            assert client.health("crosswire.v1.SegmentationService") == "SERVING"
            finish.set()
            handle.call(handle.server.wait_until_ready())
            assert client.health(ALIGNMENT) == "SERVING"
    finally:
        finish.set()
        handle.stop()


def test_an_encoder_that_fails_to_load_makes_alignment_unavailable(tiny_models_dir: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_load(self: embeddings.Embedder) -> None:
        raise OSError("weights.npz: no such file")

    monkeypatch.setattr(embeddings.Embedder, "load", broken_load)
    with ServerThread(tiny_models_dir) as handle, Client(handle.address, retries=0, timeout=10) as client:
        assert client.health(ALIGNMENT) == "NOT_SERVING"
        with pytest.raises(CrosswireError) as info:
            client.align("Текст.", ["Text."])
        assert info.value.code is grpc.StatusCode.UNAVAILABLE
        assert "sentence encoder failed to load: weights.npz" in info.value.details
        assert client.health("crosswire.v1.SegmentationService") == "SERVING"
