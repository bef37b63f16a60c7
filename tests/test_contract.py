"""The contract in proto/ follows its own rules, and the committed generated code is fresh."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "proto"))
import generate  # noqa: E402  (proto/generate.py)

PROTOS = generate.proto_files()
FIELD = re.compile(r"^\s*(optional\s+|repeated\s+)?[\w.]+\s+\w+\s*=\s*\d+;")
ENUM_VALUE = re.compile(r"^\s*\w+\s*=\s*\d+;")


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools", reason="grpcio-tools (dev extra) regenerates the code")
    generate.generate(tmp_path)
    committed = REPO / "client"
    for fresh in sorted((tmp_path / "crosswire" / "v1").glob("*.py*")):
        old = committed / fresh.relative_to(tmp_path)
        assert old.exists(), f"{old} is missing: run python proto/generate.py"
        assert old.read_text() == fresh.read_text(), f"{old} is stale: run python proto/generate.py"


@pytest.mark.parametrize("proto", PROTOS, ids=lambda p: p.name)
def test_every_field_and_value_has_a_comment(proto: Path) -> None:
    lines = proto.read_text().splitlines()
    for number, line in enumerate(lines):
        if FIELD.match(line) or ENUM_VALUE.match(line):
            previous = lines[number - 1].strip()
            assert previous.startswith("//"), f"{proto.name}:{number + 1} has no comment: {line.strip()}"


@pytest.mark.parametrize("proto", PROTOS, ids=lambda p: p.name)
def test_buf_style(proto: Path) -> None:
    text = proto.read_text()
    assert "package crosswire.v1;" in text
    for rpc, request, response in re.findall(r"rpc (\w+)\((?:stream )?(\w+)\) returns \((?:stream )?(\w+)\)", text):
        assert request == f"{rpc}Request" and response == f"{rpc}Response", rpc
    for enum, body in re.findall(r"enum (\w+) \{(.*?)\}", text, re.S):
        prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum).upper()
        values = re.findall(r"(\w+)\s*=\s*(\d+);", body)
        assert (f"{prefix}_UNSPECIFIED", "0") in values, enum
        assert all(name.startswith(prefix + "_") for name, _ in values), enum
