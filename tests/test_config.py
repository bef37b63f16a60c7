"""ServerConfig: defaults, CROSSWIRE_* variables and flags, in that order of precedence."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from crosswire_server.config import ServerConfig


def test_environment_overrides_defaults() -> None:
    config = ServerConfig.from_env({"CROSSWIRE_PORT": "6000", "CROSSWIRE_MODELS_DIR": "/m", "CROSSWIRE_BATCH_WINDOW_MS": "7.5"})
    assert config.port == 6000
    assert config.models_dir == Path("/m")
    assert config.batch_window_ms == 7.5
    assert config.max_texts == ServerConfig.__dataclass_fields__["max_texts"].default


def test_flags_override_environment() -> None:
    parser = argparse.ArgumentParser()
    ServerConfig.add_arguments(parser)
    args = parser.parse_args(["--port", "7000", "--max-texts", "3"])
    config = ServerConfig.from_args(args, {"CROSSWIRE_PORT": "6000", "CROSSWIRE_MAX_CHARS": "99"})
    assert (config.port, config.max_texts, config.max_chars) == (7000, 3, 99)


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ValueError, match="CROSSWIRE_PORT"):
        ServerConfig.from_env({"CROSSWIRE_PORT": "many"})


def test_thread_defaults_follow_the_rule() -> None:
    config = ServerConfig.from_env({})
    assert config.threads("cpu", cores=2) == (2, 1)
    assert config.threads("cpu", cores=16) == (16, 1)
    assert config.threads("cuda", cores=16) == (1, 1)
    assert ServerConfig.from_env({}, inter_threads=1, intra_threads=2).threads("cpu", cores=2) == (1, 2)


def test_cores_come_from_the_affinity_mask_where_there_is_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 2, 5}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert ServerConfig.from_env({}).threads("cpu") == (3, 1)


def test_cores_without_an_affinity_mask_are_all_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS and Windows have no os.sched_getaffinity."""
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert ServerConfig.from_env({}).threads("cpu") == (6, 1)


@pytest.mark.parametrize(("cert", "key", "message"), [
    ("cert.pem", "", "--tls-cert needs --tls-key too"),
    ("", "key.pem", "--tls-key needs --tls-cert too"),
    ("missing.pem", "key.pem", "--tls-cert: no such file"),
])
def test_half_configured_tls_is_refused(tmp_path, cert: str, key: str, message: str) -> None:
    (tmp_path / "cert.pem").write_text("x")
    (tmp_path / "key.pem").write_text("x")
    paths = {name: str(tmp_path / value) if value else "" for name, value in (("tls_cert", cert), ("tls_key", key))}
    with pytest.raises(ValueError, match=message):
        ServerConfig.from_env({}, **paths)


def test_serve_with_a_certificate_and_no_key_exits_with_one_line(tmp_path, capsys) -> None:
    from crosswire.cli import main

    (tmp_path / "cert.pem").write_text("x")
    assert main(["serve", "--port", "0", "--models-dir", str(tmp_path), "--tls-cert", str(tmp_path / "cert.pem")]) == 1
    assert capsys.readouterr().err.strip() == (
        "crosswire: error: --tls-cert needs --tls-key too (TLS takes a certificate and its private key); "
        "give both, or neither for plaintext"
    )
