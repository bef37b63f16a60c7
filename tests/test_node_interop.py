"""crosswire.v1 from Node.js: a default-configured @grpc/grpc-js client, built from proto/ alone, against a real server.

tests/interop/client.mjs makes every call and prints what it got as JSON; the tests here judge it. `make test`
installs the Node packages (npm ci in tests/interop) where npm exists; without node or them, these tests skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.server import ServerThread

INTEROP = Path(__file__).parent / "interop"
README = Path(__file__).parents[1] / "README.md"
# A stock gRPC client's receive limit, which no answer to an accepted request may exceed.
DEFAULT_CLIENT_LIMIT = 4 * 1024 * 1024


def node_or_skip() -> str:
    """The node executable, skipping where Node.js or the interop packages are absent."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the Node interop test needs node and npm (apt-get install nodejs npm)")
    if not (INTEROP / "node_modules" / "@grpc" / "grpc-js").is_dir():
        pytest.skip("the Node packages are not installed: run `npm ci` in tests/interop (make test does where npm exists)")
    return node


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    # A batch window long enough that an item refused at once overtakes the ones being translated, and that a
    # 30 ms deadline expires while the server holds the call (no cache to answer at once); every limit is the
    # server's default otherwise.
    library = tmp_path_factory.mktemp("node-library") / "library.sqlite3"
    with ServerThread(tiny_models_dir, max_decoding_length=16, batch_window_ms=100, cache_size=0,
                      library=str(library)) as handle:
        yield handle


@pytest.fixture(scope="module")
def node() -> str:
    return node_or_skip()


@pytest.fixture(scope="module")
def results(node: str, server: ServerThread) -> dict:
    """What tests/interop/client.mjs got from every call."""
    done = subprocess.run([node, INTEROP / "client.mjs", server.address], capture_output=True, text=True,
                          timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_health(results: dict) -> None:
    assert results["health"] == {"code": "OK", "status": "SERVING"}
    assert results["healthTranslation"] == {"code": "OK", "status": "SERVING"}


@pytest.mark.parametrize("version", ["reflectionV1", "reflectionV1alpha"])
def test_reflection_lists_every_service_and_names_the_standard_health_file(results: dict, version: str) -> None:
    answer = results[version]
    assert answer["code"] == "OK", answer
    assert {"crosswire.v1.TranslationService", "crosswire.v1.SegmentationService", "crosswire.v1.AlignmentService",
            "crosswire.v1.LibraryService", "grpc.health.v1.Health"} <= set(answer["services"])
    assert answer["healthFile"] == "grpc/health/v1/health.proto"


def test_list_models_and_translate(results: dict) -> None:
    assert results["models"] == {"code": "OK", "models": [{"name": "tiny-ru-en", "pairs": ["ru->en"]}]}
    first, empty = results["translate"]["results"]
    assert first["model"] == "tiny-ru-en" and first["segments"] == 1 and first["text"]
    assert empty == {"model": "", "segments": 0, "text": ""} or empty["segments"] == 0


def test_the_request_id_comes_back_in_the_trailers(results: dict) -> None:
    assert results["requestId"] == {"code": "OK", "requestId": "node-interop-1"}


def test_stream_answers_out_of_order_told_apart_by_id_and_sequence(results: dict) -> None:
    stream = results["stream"]
    assert stream["code"] == "OK", stream
    arrived = stream["arrived"]
    assert sorted(answer["sequence"] for answer in arrived) == [0, 1, 2, 3]
    by_sequence = {answer["sequence"]: answer for answer in arrived}
    # The two refused at once overtake the two being translated: answers do not come in request order.
    assert {arrived[0]["sequence"], arrived[1]["sequence"]} == {2, 3}
    assert by_sequence[2]["id"] == "no-model" and by_sequence[2]["code"] == 3 and "fr->en" in by_sequence[2]["message"]
    # A reused id is answered under that id with its own sequence and ALREADY_EXISTS, not as the first's result.
    assert by_sequence[3]["id"] == "first" and by_sequence[3]["code"] == 6 and "first" in by_sequence[3]["message"]
    assert by_sequence[0] == {"id": "first", "sequence": 0, "segments": 1}
    assert by_sequence[1] == {"id": "second", "sequence": 1, "segments": 2}


def test_segment_offsets_slice_the_text_outside_the_basic_plane(results: dict) -> None:
    segment = results["segment"]
    assert segment["code"] == "OK" and segment["texts"] == ["Привет 👋 мир.", "Второе 𝔘 предложение.", "Третье."]
    # String.slice counts UTF-16 units (JavaScript, Java, C#), Go slices bytes, Python code points: each
    # kind of offset must cut out exactly the sentence, emoji and 𝔘 (outside the Basic Multilingual Plane) included.
    assert segment["slices"] == {"code_points": True, "utf16": True, "utf8": True}


def test_align_and_compare(results: dict) -> None:
    assert results["align"] == {"code": "OK", "mode": "ALIGN_MODE_PARALLEL", "links": [[[0], [0]], [[1], [1]]]}
    # "PARALLEL" is no AlignMode name, so it went out as 0: the response says comparable mode ran.
    assert results["mistypedMode"] == {"code": "OK", "mode": "ALIGN_MODE_COMPARABLE"}
    assert results["compare"]["code"] == "OK" and results["compare"]["documents"] == ["bbc"]
    assert results["compare"]["rows"] == 2


def test_the_library_with_timestamps_durations_and_a_refusal(results: dict) -> None:
    assert results["libraryAdd"] == {"code": "OK", "statuses": ["ADD_STATUS_ADDED", "ADD_STATUS_REFUSED"]}
    assert results["librarySearch"] == {"code": "OK", "hits": [
        {"name": "bbc", "published": 1469439000, "coverage": "COVERAGE_SAME_EVENT"}]}
    assert results["compareLibrary"]["code"] == "OK" and results["compareLibrary"]["documents"] == ["bbc"]
    assert results["compareLibrary"]["texts"] and results["compareLibrary"]["texts"][0].startswith("NATO")


def test_error_codes_with_standard_details(results: dict) -> None:
    bad_field, unknown_pair = results["badField"], results["unknownPair"]
    assert bad_field["code"] == "INVALID_ARGUMENT" and "max_beam_size" in bad_field["details"]
    assert unknown_pair["code"] == "INVALID_ARGUMENT" and "available pairs: ru->en" in unknown_pair["details"]
    # google.rpc details in the grpc-status-details-bin trailer, and the request id for the server's log.
    assert {"type": "google.rpc.BadRequest", "fields": ["options.beam_size"]} in bad_field["errorDetails"]
    assert {"type": "google.rpc.ErrorInfo"} in bad_field["errorDetails"]
    assert {"type": "google.rpc.ErrorInfo"} in unknown_pair["errorDetails"]
    assert bad_field["requestId"] and unknown_pair["requestId"]
    assert results["deadline"]["code"] == "DEADLINE_EXCEEDED"


def test_a_large_reply_never_exceeds_a_default_client_limit(results: dict) -> None:
    """Segment of a long text the server accepts: the answer arrives, or the server refuses it in words."""
    large = results["largeReply"]
    assert large["requestBytes"] < DEFAULT_CLIENT_LIMIT  # a request any stock client may send
    assert "Received message larger than max" not in (large.get("details") or ""), large
    if large["code"] != "OK":
        assert large["code"] in {"RESOURCE_EXHAUSTED", "INVALID_ARGUMENT"}, large
        assert re.search(r"max_\w+=\d+", large["details"]), large  # names the limit


@pytest.mark.parametrize("example", ["example.mjs", "go/main.go"])
def test_the_readme_examples_are_these_files(example: str) -> None:
    assert (INTEROP / example).read_text() in README.read_text(), f"README's example differs from tests/interop/{example}"


def test_the_readme_node_example_runs(node: str, server: ServerThread) -> None:
    """README's Node example (tests/interop/example.mjs) runs as written from the repository root."""
    done = subprocess.run([node, INTEROP / "example.mjs", server.address], capture_output=True, text=True,
                          timeout=120, check=False, cwd=README.parent)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith('"Правительство объявило о мерах 📈." -> ') and lines[1].startswith('"Суд вынес')
    assert lines[-1] == "request id: example-1"


def test_the_readme_go_example_compiles(tmp_path: Path) -> None:
    """README's Go example (tests/interop/go/main.go) builds against the stubs buf generates from proto/."""
    missing = [tool for tool in ("go", "protoc-gen-go", "protoc-gen-go-grpc") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"no Go toolchain here ({', '.join(missing)} not on PATH): the Go example is compiled only "
                    "where there is one (see proto/buf.gen.yaml for the plugins)")
    module = tmp_path / "module"
    (module / "example").mkdir(parents=True)
    shutil.copy(INTEROP / "go" / "main.go", module / "example" / "main.go")
    template = tmp_path / "buf.gen.yaml"
    template.write_text("version: v2\nplugins:\n"
                        "  - {local: protoc-gen-go, out: gen/go, opt: paths=source_relative}\n"
                        "  - {local: protoc-gen-go-grpc, out: gen/go, opt: paths=source_relative}\n")
    buf = Path(sys.executable).parent / "buf"
    for command in ([buf, "generate", "proto", "--path", "proto/crosswire", "--template", template, "-o", module],
                    ["go", "mod", "init", "crosswire"], ["go", "mod", "tidy"],
                    ["go", "build", "-o", os.devnull, "./example"]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False,
                              cwd=module if command[0] == "go" else README.parent)
        if command[-1] == "tidy" and re.search(r"dial tcp|no such host|proxy", done.stderr):
            reason = done.stderr.strip().splitlines()[-1]
            pytest.skip(f"Go's module proxy is unreachable, so grpc-go cannot be fetched: {reason}")
        assert done.returncode == 0, f"{' '.join(map(str, command))}: {done.stderr}"
