"""The command line as a new user meets it: bad values refused, plain messages, one JSON shape, typed backends."""

from __future__ import annotations

import inspect
import io
import json
import shutil
import time
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crosswire.cli import build_parser, main
from crosswire.cli.backend import Backend, LocalBackend, RemoteBackend, remote_failure
from crosswire.client import AlignSettings, Client, CompareSettings, CrosswireError, TranslateSettings, translate_request
from crosswire.convert import align_request, compare_request
from crosswire.types import AlignMode, Role
from crosswire_server.config import ServerConfig
from crosswire.v1 import alignment_pb2, segmentation_pb2, translation_pb2
from support.certificates import needs_openssl, self_signed
from support.server import ServerThread

RU = "Госсекретарь США Джон Керри проинформировал союзников о ходе переговоров. Цены на нефть выросли."
EN = "US Secretary of State John Kerry briefed the allies on the talks. Oil prices rose."


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    texts = {"ru.txt": RU, "en.txt": EN, "empty.txt": "", "blank.txt": " \n\n\t\n", "digits.txt": "2024. 17:45"}
    for name, text in texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return {name: str(tmp_path / name) for name in texts}


@pytest.fixture
def no_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """In-process runs see an empty models folder."""
    monkeypatch.setenv("CROSSWIRE_MODELS_DIR", str(tmp_path / "no-models"))
    return tmp_path / "no-models"


def usage_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run argv, expect argparse's usage error (exit 2), return its message line."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def failure(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run argv, expect an expected failure (exit 1, one line, no traceback), return the line."""
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    return err.strip()


# --- values refused before any work -------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["segment", "--lang", "xx", "{ru.txt}"], "argument --lang: 'xx' is not supported; use one of ru, en, zh"),
        (["translate", "--beam-size", "0", "{ru.txt}"], "argument --beam-size: must be at least 1, got 0"),
        (["translate", "--num-hypotheses", "0", "{ru.txt}"], "argument --num-hypotheses: must be at least 1"),
        (["translate", "--max-decoding-length", "-3", "{ru.txt}"], "argument --max-decoding-length: must be at least 1"),
        (["translate", "--from", "russian", "{ru.txt}"], "argument --from: not a language code"),
        (["translate", "--timeout", "0", "--server", "localhost", "{ru.txt}"], "argument --timeout: must be a number"),
        (["segment", "--server", "localhost:http", "{ru.txt}"], "the port must be a number from 1 to 65535"),
        (["align", "--to", "xx", "{ru.txt}", "{en.txt}"], "argument --to: 'xx' is not supported"),
        (["compare", "--from", "fr", "{ru.txt}", "{en.txt}"], "argument --from: 'fr' is not supported"),
    ],
)
def test_bad_values_are_usage_errors(capsys, files, argv, message) -> None:
    line = usage_error(capsys, [files[a[1:-1]] if a.startswith("{") else a for a in argv])
    assert message in line


@pytest.mark.parametrize("command", [["translate"], ["segment"], ["align"], ["compare"]])
@pytest.mark.parametrize("name", ["empty.txt", "blank.txt"])
def test_an_input_without_text_is_refused(capsys, files, no_models, command, name) -> None:
    inputs = [files[name]] if command[0] in ("translate", "segment") else [files[name], files["en.txt"]]
    assert failure(capsys, [*command, *inputs]) == f"crosswire: error: {files[name]} has no text " + (
        "(empty)" if name == "empty.txt" else "(only blanks)")


def test_empty_stdin_is_refused(capsys, no_models, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert failure(capsys, ["segment", "-"]) == "crosswire: error: stdin has no text (empty)"


def test_server_without_port_means_50051() -> None:
    parser = build_parser()
    assert parser.parse_args(["segment", "--server", "localhost"]).server == "localhost:50051"
    assert parser.parse_args(["segment", "--server", "[::1]"]).server == "[::1]:50051"
    assert parser.parse_args(["segment", "--server", "10.0.0.1:7000"]).server == "10.0.0.1:7000"
    with Client("localhost") as client:
        assert client.address == "localhost:50051"


def test_segment_language_is_the_same_in_process_and_through_a_server(capsys, files, tiny_models_dir) -> None:
    assert main(["segment", files["digits.txt"]]) == 0
    local = capsys.readouterr()
    with ServerThread(tiny_models_dir) as server:
        assert main(["segment", files["digits.txt"], "--server", server.address]) == 0
        remote = capsys.readouterr()
    assert local == remote


# --- messages a person can act on ---------------------------------------------------------------


def test_unreachable_server_is_named_without_grpc_internals(capsys, files) -> None:
    line = failure(capsys, ["segment", files["ru.txt"], "--server", "127.0.0.1:1", "--timeout", "5"])
    assert line == ("crosswire: error: cannot reach a Crosswire server at 127.0.0.1:1: "
                    "connection refused (is `crosswire serve` running there?)")


class SlowHealth(health_pb2_grpc.HealthServicer):
    def Check(self, request, context):
        time.sleep(1.0)
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


def test_a_timeout_is_not_called_unavailable(capsys, files) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(2))
    health_pb2_grpc.add_HealthServicer_to_server(SlowHealth(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        line = failure(capsys, ["segment", files["ru.txt"], "--server", f"127.0.0.1:{port}", "--timeout", "0.2"])
    finally:
        server.stop(0)
    assert line == f"crosswire: error: no answer from the server at 127.0.0.1:{port} within 0.2 s (raise --timeout)"


@needs_openssl
def test_tls_failures_say_what_to_change(capsys, files, tiny_models_dir, tmp_path) -> None:
    key, cert = self_signed(tmp_path)
    with ServerThread(tiny_models_dir, tls_cert=str(cert), tls_key=str(key)) as server:
        argv = ["segment", files["ru.txt"], "--server", server.address]
        assert failure(capsys, [*argv, "--tls"]).endswith("its TLS certificate is not trusted "
                                                          "(name the CA that signed it with --tls-ca PEM)")
        assert failure(capsys, argv).endswith("the connection failed (add --tls if the server uses TLS)")
        assert main([*argv, "--tls-ca", str(cert)]) == 0


# --- polish -------------------------------------------------------------------------------------


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == "crosswire 0.1.0"


def _subparser(parser, *names: str):
    for name in names:
        parser = next(a for a in parser._actions if a.dest in ("command", "action")).choices[name]
    return parser


def test_help_lists_only_what_a_command_uses() -> None:
    parser = build_parser()
    segment_help = _subparser(parser, "segment").format_help()
    assert "--device" not in segment_help and "--compute-type" not in segment_help
    assert "--inter-threads" not in segment_help and "--models-dir" not in segment_help
    assert "see the docs" not in _subparser(parser, "align").format_help()
    for action in ("list", "fetch", "import", "remove"):
        assert _subparser(parser, "models", action).description, f"models {action} has no description"


def test_from_defaults_to_detect_in_every_command(files) -> None:
    parser = build_parser()
    for argv in (["translate", "x"], ["align", "x", "y"], ["compare", "x", "y"]):
        assert parser.parse_args(argv).source_language == "", argv
        assert parser.parse_args([*argv, "--from", "detect"]).source_language == "", argv
        assert parser.parse_args([*argv, "--from", "ru"]).source_language == "ru", argv


def test_segment_listing_has_a_header(capsys, files) -> None:
    assert main(["segment", files["ru.txt"]]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["#", "START", "END", "PARA", "ROLE", "DUP", "TEXT"]
    assert rows[0].split()[:5] == ["0", "0", str(RU.index(" Цены")), "0", "body"]


# --- one JSON shape -----------------------------------------------------------------------------


def _parses_as(record: dict, message_type) -> None:
    json_format.ParseDict(record, message_type())


def test_one_json_shape_for_a_sentence_the_protobuf_mapping(capsys, files, no_models) -> None:
    fields = [f.name for f in segmentation_pb2.Sentence.DESCRIPTOR.fields]
    assert main(["segment", files["ru.txt"], "--format", "jsonl"]) == 0
    segmented = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["align", files["ru.txt"], files["en.txt"], "--format", "json"]) == 0
    aligned = json.loads(capsys.readouterr().out)
    assert main(["compare", files["ru.txt"], files["en.txt"], "--format", "json"]) == 0
    compared = json.loads(capsys.readouterr().out)
    for sentences in (segmented, aligned["source"]["sentences"], compared["alignment"]["source"]["sentences"]):
        assert [list(s) for s in sentences] == [fields] * 2  # every field, in the .proto's order
        assert sentences == segmented
    assert segmented[0]["role"] == "SEGMENT_ROLE_BODY"
    _parses_as(aligned, alignment_pb2.AlignResponse)
    _parses_as(compared, alignment_pb2.CompareResponse)
    assert aligned["source"]["name"] == files["ru.txt"] and compared["alignment"]["targets"][0]["name"] == files["en.txt"]


def test_translate_jsonl_is_the_protobuf_mapping(capsys, files, tiny_models_dir, monkeypatch) -> None:
    monkeypatch.setenv("CROSSWIRE_MODELS_DIR", str(tiny_models_dir))
    monkeypatch.setenv("CROSSWIRE_MAX_DECODING_LENGTH", "8")
    assert main(["translate", "--from", "ru", "--format", "jsonl", files["ru.txt"]]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record.pop("input") == files["ru.txt"]
    _parses_as(record, translation_pb2.TranslationResult)
    assert [s["role"] for s in record["segments"]] == ["SEGMENT_ROLE_BODY"] * 2


# --- backends -----------------------------------------------------------------------------------


def _keywords(function) -> set[str]:
    return {p.name for p in inspect.signature(function).parameters.values() if p.kind is p.KEYWORD_ONLY}


def test_client_settings_name_every_request_option() -> None:
    assert set(AlignSettings.__annotations__) == _keywords(align_request)
    assert set(CompareSettings.__annotations__) == _keywords(compare_request)
    assert set(TranslateSettings.__annotations__) == set(inspect.signature(translate_request).parameters) - {"texts"}
    members = {name for name, _ in inspect.getmembers(Backend) if not name.startswith("_")}
    assert members == {"translate", "segment", "align", "compare", "close"}
    assert all(members <= set(dir(backend)) for backend in (LocalBackend, RemoteBackend))


def test_local_backend_takes_every_client_setting(tiny_models_dir: Path) -> None:
    backend = LocalBackend(ServerConfig.from_env({}, models_dir=tiny_models_dir, max_decoding_length=8))
    try:
        (translation,) = backend.translate(
            [RU], source="ru", target="en", model="tiny-ru-en", beam_size=2, num_hypotheses=2, return_scores=True,
            max_decoding_length=8, presegmented=False, roles=[Role.BODY], translate_duplicates=True)
        assert translation.model == "tiny-ru-en" and len(translation.segments[0].alternatives) == 1  # besides the best
        alignment = backend.align(RU, [EN], source_language="ru", target_language="en", mode="parallel",
                                  presegmented=False, names=["en"], source_name="ru", roles=[Role.BODY])
        assert alignment.mode is AlignMode.PARALLEL and alignment.target_names == ["en"]
        comparison = backend.compare(RU, [EN], source_language="ru", target_language="en", presegmented=True,
                                     names=["en"], report_name="ru", roles=[Role.BODY])
        assert len(comparison.alignment.source.sentences) == 1
        with pytest.raises(TypeError):
            backend.align(RU, [EN], language="ru")
    finally:
        backend.close()


def test_in_process_alignment_reads_pairs_from_manifests(capsys, files, tiny_models_dir, monkeypatch) -> None:
    """With only a ru->en model installed, an en->ru alignment never loads a model."""

    def refuse(*args, **kwargs):
        raise AssertionError("a translation model was loaded")

    monkeypatch.setattr("crosswire_server.translation.TranslationEngine.load", refuse)
    assert main(["align", "--from", "en", "--to", "ru", files["en.txt"], files["ru.txt"],
                 "--models-dir", str(tiny_models_dir)]) == 0
    assert "links" in capsys.readouterr().out


def test_unreadable_input_and_unknown_device_are_one_line(capsys, files, tmp_path, tiny_models_dir, monkeypatch) -> None:
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe not text")
    assert failure(capsys, ["segment", str(binary)]) == (
        f"crosswire: error: cannot read {binary}: not UTF-8 text (byte 0xff at offset 0)")
    monkeypatch.setenv("CROSSWIRE_DEVICE", "gpu")
    assert "gpu" in failure(capsys, ["translate", "--from", "ru", files["ru.txt"], "--models-dir", str(tiny_models_dir)])


def test_an_unexpected_error_is_still_one_line(capsys, files, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise KeyError("sentences")

    monkeypatch.setattr("crosswire.cli.segment.connect", broken)
    assert failure(capsys, ["segment", files["ru.txt"]]) == "crosswire: internal error: KeyError: 'sentences'"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_reading_from_a_terminal_says_how_to_end(capsys, no_models, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", Terminal(RU))
    assert main(["segment"]) == 0
    assert capsys.readouterr().err.startswith("crosswire: reading the text from the terminal; end it with Ctrl-D")


def test_a_damaged_model_is_one_line(capsys, files, tiny_models_dir, tmp_path) -> None:
    models = tmp_path / "models"
    shutil.copytree(tiny_models_dir, models)
    for spm in models.rglob("*.spm"):
        spm.write_bytes(b"not a sentencepiece model")
    line = failure(capsys, ["translate", "--from", "ru", files["ru.txt"], "--models-dir", str(models)])
    assert line.startswith(f"crosswire: error: cannot load the models in {models} (device auto): ")


@pytest.mark.parametrize(
    ("code", "details", "message"),
    [
        (grpc.StatusCode.UNIMPLEMENTED, "Method not found!",
         "the server at h:1 does not offer this call: is it a Crosswire server?"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "queue full", "the server at h:1 is busy, try again later: queue full"),
        (grpc.StatusCode.UNAVAILABLE, "no translation model is loaded",
         "the server at h:1 is not ready: no translation model is loaded"),
        (grpc.StatusCode.UNAVAILABLE, "errors resolving h:1: Domain name not found",
         "cannot reach a Crosswire server at h:1: unknown host"),
        (grpc.StatusCode.INTERNAL, "boom", "INTERNAL: boom"),
    ],
)
def test_server_answers_in_words(code, details, message) -> None:
    assert remote_failure("h:1", 5, CrosswireError(code, details)) == message
