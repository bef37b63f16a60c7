"""Generate the Python code of the contract into client/crosswire/v1.

Run after editing a .proto file: `python proto/generate.py`. The generated
modules are committed; tests/test_contract.py fails when they are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent
DEFAULT_OUT = PROTO_ROOT.parent / "client"


def proto_files() -> list[Path]:
    """All .proto files of the contract, in a stable order."""
    return sorted(PROTO_ROOT.glob("crosswire/v1/*.proto"))


def generate(out_dir: Path = DEFAULT_OUT) -> None:
    """Run protoc (from grpcio-tools) over every contract file into out_dir."""
    from importlib.resources import files

    from grpc_tools import protoc

    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{files('grpc_tools') / '_proto'}",  # the well-known types (google/protobuf/timestamp.proto, ...)
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(path.relative_to(PROTO_ROOT)) for path in proto_files()],
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed: " + " ".join(args))


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
