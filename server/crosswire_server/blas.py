"""Keep numpy's BLAS to a thread or two inside the server.

OpenBLAS starts a thread per core and spins them while it waits, so alignment's
matrix products took CPU from translation: a 30-sentence Compare against five
articles cost 2.11 s of server CPU with OpenBLAS's default threads against
0.52 s with one on 2 cores (`python benchmarks/capacity.py --part translation`,
its Compare line; for the default threads run it with OPENBLAS_NUM_THREADS=2
and CROSSWIRE_BLAS_THREADS=0, which the server process inherits). Requests
run side by side on their own threads, which is where the server's parallelism
comes from.
"""

from __future__ import annotations

from threadpoolctl import threadpool_info, threadpool_limits


def limit_blas_threads(count: int) -> bool:
    """Cap the BLAS libraries loaded so far at `count` threads (0 leaves their default); False if none is loaded."""
    if count <= 0:
        return False
    threadpool_limits(limits=count, user_api="blas")
    return any(pool["user_api"] == "blas" for pool in threadpool_info())
