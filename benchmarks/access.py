"""What access control costs a call: the same Segment calls on an open server and on one checking API keys.

    python benchmarks/access.py [--calls 2000] [--rounds 5]

Both servers run in this process on loopback (no model needed); the keyed one reads a keys file of
--keys keys (the looked-up key is the last, so every key is compared) with per-key limits on, the
open one has no keys. Rounds alternate between the two so that other load on the machine falls on
both; it prints the median seconds per call of each and their ratio (keys / open).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from crosswire.v1 import segmentation_pb2, segmentation_pb2_grpc  # noqa: E402
from crosswire_server.access import Limits, add_key  # noqa: E402
from support.server import ServerThread  # noqa: E402


def per_call(address: str, calls: int, metadata: tuple | None) -> float:
    """Seconds per sequential Segment call of a one-sentence text."""
    with grpc.insecure_channel(address) as channel:
        stub = segmentation_pb2_grpc.SegmentationServiceStub(channel)
        request = segmentation_pb2.SegmentRequest(text="Суд вынес приговор.", language="ru")
        for _ in range(50):  # warm the connection and the segmenter
            stub.Segment(request, timeout=30, metadata=metadata)
        started = time.perf_counter()
        for _ in range(calls):
            stub.Segment(request, timeout=30, metadata=metadata)
        return (time.perf_counter() - started) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keys", type=int, default=100)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    keys = folder / "keys.toml"
    token = ""
    for index in range(args.keys):
        token = add_key(keys, f"key-{index}", ["*"], Limits(max_concurrent_calls=8, sentences_per_second=1000))
    metadata = (("authorization", f"Bearer {token}"),)
    with ServerThread(folder, wait_ready=False) as open_server, \
            ServerThread(folder, wait_ready=False, api_keys=str(keys)) as keyed_server:
        times: dict[str, list[float]] = {"open": [], "keys": []}
        for _ in range(args.rounds):
            times["open"].append(per_call(open_server.address, args.calls, None))
            times["keys"].append(per_call(keyed_server.address, args.calls, metadata))
    open_s, keys_s = (statistics.median(times[name]) for name in ("open", "keys"))
    print(f"open server:  {open_s * 1e6:8.1f} µs per Segment call (median of {args.rounds} rounds of {args.calls})")
    print(f"API keys:     {keys_s * 1e6:8.1f} µs per Segment call ({args.keys} keys in the file, limits on)")
    print(f"ratio keys/open: {keys_s / open_s:.3f}")


if __name__ == "__main__":
    main()
