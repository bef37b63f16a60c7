"""The `crosswire` command: translate in-process and through a server, exit codes, serve + SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from crosswire import Client, CrosswireError
from crosswire.cli import main
from support.server import ServerThread

ARTICLE = "Правительство объявило о новых мерах. Цены на нефть выросли.\n\nСуд вынес приговор.\n"


@pytest.fixture
def article(tmp_path: Path) -> Path:
    path = tmp_path / "article.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    return path


@pytest.fixture
def models_env(tiny_models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CROSSWIRE_MODELS_DIR", str(tiny_models_dir))
    monkeypatch.setenv("CROSSWIRE_MAX_DECODING_LENGTH", "16")
    return tiny_models_dir


def test_translate_in_process_keeps_paragraphs(models_env, article, capsys) -> None:
    assert main(["translate", "--from", "ru", str(article)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n\n") == 1 and out.strip()


def test_translate_jsonl_and_presegmented(models_env, article, capsys) -> None:
    assert main(["translate", "--from", "ru", "--format", "jsonl", "--scores", str(article)]) == 0
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record["input"] == str(article) and record["model"] == "tiny-ru-en"
    assert len(record["segments"]) == 3
    assert all(isinstance(s["score"], float) and s["role"] == "SEGMENT_ROLE_BODY" for s in record["segments"])
    assert main(["translate", "--from", "ru", "--presegmented", str(article)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_translate_through_a_server_matches_in_process_errors_too(models_env, article, capsys) -> None:
    assert main(["translate", "--from", "ru", str(article)]) == 0
    local = capsys.readouterr().out
    assert main(["translate", "--from", "ru", "--to", "de", str(article)]) == 1
    local_error = capsys.readouterr().err
    with ServerThread(models_env, max_decoding_length=16) as handle:
        assert main(["translate", "--from", "ru", "--server", handle.address, str(article)]) == 0
        assert capsys.readouterr().out == local
        assert main(["translate", "--from", "ru", "--to", "de", "--server", handle.address, str(article)]) == 1
        assert capsys.readouterr().err == local_error


@pytest.mark.parametrize(
    "argv, message",
    [
        (["translate", "missing.txt"], "file not found: missing.txt"),
        (["translate", "--from", "ru", "--to", "de", "ARTICLE"], "no installed model translates ru->de"),
        (["translate", "--server", "127.0.0.1:1", "--timeout", "3", "ARTICLE"],
         "cannot reach a Crosswire server at 127.0.0.1:1: connection refused"),
    ],
)
def test_expected_failures_are_one_line_exit_1(models_env, article, capsys, argv, message) -> None:
    argv = [str(article) if a == "ARTICLE" else a for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_no_model_installed_says_how_to_get_one(tmp_path, article, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CROSSWIRE_MODELS_DIR", str(tmp_path / "none"))
    assert main(["translate", str(article)]) == 1
    assert "crosswire models fetch" in capsys.readouterr().err


def test_usage_error_is_exit_2() -> None:
    result = subprocess.run([sys.executable, "-m", "crosswire", "translate", "--beam-size", "wide"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "argument --beam-size: not an integer: 'wide'" in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_stops_gracefully_on_sigterm(tiny_models_dir: Path) -> None:
    port = _free_port()
    env = dict(os.environ, CROSSWIRE_MODELS_DIR=str(tiny_models_dir), CROSSWIRE_BATCH_WINDOW_MS="400",
               CROSSWIRE_MAX_DECODING_LENGTH="16")
    process = subprocess.Popen([sys.executable, "-m", "crosswire", "serve", "--port", str(port)],
                               env=env, stderr=subprocess.PIPE, text=True)
    address = f"127.0.0.1:{port}"
    try:
        # A generous deadline: on a loaded machine the first translation (lazy model start) can take seconds.
        with Client(address, timeout=30) as client:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if client.health() == "SERVING":
                        break
                except CrosswireError:
                    time.sleep(0.2)
            results: list = []
            worker = threading.Thread(target=lambda: results.append(client.translate(["Суд вынес приговор."],
                                                                                     source="ru")))
            worker.start()
            time.sleep(0.15)
            process.send_signal(signal.SIGTERM)
            worker.join(20)
        assert process.wait(30) == 0
        assert results and results[0][0].text, "the in-flight request must finish during the grace period"
        log = [json.loads(line) for line in process.stderr.read().splitlines() if line.startswith("{")]
        messages = [entry["message"] for entry in log]
        assert "shutting down" in messages and messages[-1] == "stopped"
        (request,) = [e for e in log if e["message"] == "request" and e["method"] == "Translate"]
        assert request["status"] == "OK" and request["texts"] == 1 and request["sentences"] == 1
        assert {"id", "characters", "ms"} <= set(request)
    finally:
        process.kill()
        process.wait()
