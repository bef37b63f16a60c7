"""`serve` caps numpy's BLAS threads (server/crosswire_server/blas.py)."""

from __future__ import annotations

import numpy  # noqa: F401  (loads the BLAS library whose threads are capped)
from threadpoolctl import threadpool_info, threadpool_limits

from crosswire_server.blas import limit_blas_threads


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_blas_threads_are_capped_and_zero_leaves_them() -> None:
    with threadpool_limits(limits=2, user_api="blas"):  # restored afterwards, for the other tests
        assert _blas_threads() == {2}
        assert limit_blas_threads(0) is False
        assert _blas_threads() == {2}
        assert limit_blas_threads(1) is True
        assert _blas_threads() == {1}
