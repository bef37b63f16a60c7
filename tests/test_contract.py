"""The contract in proto/ passes buf lint, breaks nothing of the previous commit's, and its generated code is fresh.

The rules live in proto/buf.yaml: buf's STANDARD lint plus COMMENTS (every
message, field, enum value and RPC documented), and FILE-level breaking-change
detection, which flags removed or renamed fields, types and RPCs but not additions.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def load_generate():
    """proto/generate.py as a module; proto/ on sys.path would make its crosswire/ folder shadow the package."""
    spec = importlib.util.spec_from_file_location("generate", REPO / "proto" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# What `buf breaking` compares against: the contract as the commit before HEAD had it.
PREVIOUS = "HEAD~1"


def buf() -> str:
    """The buf binary of the dev extra (buf-bin), next to this Python or on PATH."""
    beside = Path(sys.executable).with_name("buf")
    found = str(beside) if beside.exists() else shutil.which("buf")
    if found is None:
        pytest.skip("buf is not installed (pip install -e '.[dev]' brings buf-bin)")
    return found


def run_buf(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([buf(), *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools", reason="grpcio-tools (dev extra) regenerates the code")
    load_generate().generate(tmp_path)
    committed = REPO / "client"
    for fresh in sorted((tmp_path / "crosswire" / "v1").glob("*.py*")):
        old = committed / fresh.relative_to(tmp_path)
        assert old.exists(), f"{old} is missing: run python proto/generate.py"
        assert old.read_text() == fresh.read_text(), f"{old} is stale: run python proto/generate.py"


def test_buf_lint_is_clean() -> None:
    done = run_buf("lint", "proto")
    assert done.returncode == 0, f"buf lint proto:\n{done.stdout}{done.stderr}"


def test_no_breaking_change_since_the_previous_commit() -> None:
    history = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{PREVIOUS}^{{commit}}"],
                             cwd=REPO, capture_output=True, text=True)
    if history.returncode != 0:
        pytest.skip(f"no git history to compare the contract with ({PREVIOUS} is not a commit here)")
    done = run_buf("breaking", "proto", "--against", f".git#ref={PREVIOUS},subdir=proto")
    assert done.returncode == 0, f"buf breaking against {PREVIOUS}:\n{done.stdout}{done.stderr}"


def test_the_shipped_health_proto_is_the_one_the_server_serves(tmp_path: Path) -> None:
    """proto/grpc/health/v1/health.proto (for other languages' stubs) matches grpcio-health-checking's service."""
    from google.protobuf import descriptor_pb2
    from grpc_health.v1 import health_pb2

    image = tmp_path / "image.binpb"
    done = run_buf("build", "proto", "--path", "proto/grpc/health/v1/health.proto", "-o", str(image))
    assert done.returncode == 0, done.stderr
    (shipped,) = [f for f in descriptor_pb2.FileDescriptorSet.FromString(image.read_bytes()).file
                  if f.name == "grpc/health/v1/health.proto"]
    shipped.ClearField("source_code_info")
    for message in shipped.message_type:
        for nested in (message, *message.nested_type):
            for field in nested.field:
                field.ClearField("json_name")
    served = descriptor_pb2.FileDescriptorProto()
    health_pb2.DESCRIPTOR.CopyToProto(served)
    served.name = shipped.name
    assert str(shipped) == str(served)  # as text: without the field buf adds to image files
