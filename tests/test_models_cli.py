"""`crosswire models …`: exit codes, one-line errors, the models folder from flag or environment."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from crosswire.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["models", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_import_list_remove(capsys: pytest.CaptureFixture[str], tiny_marian_zip: Path, tmp_path: Path) -> None:
    models = str(tmp_path / "models")
    code, out, _ = run(capsys, "import", str(tiny_marian_zip), "--name", "cli-ru-en", "--models-dir", models)
    assert code == 0 and "cli-ru-en (ru-en, int8) is installed" in out
    code, out, _ = run(capsys, "list", "--models-dir", models)
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["NAME", "PAIRS", "QUANTIZATION", "LICENSE", "SOURCE"]
    assert row.split()[:4] == ["cli-ru-en", "ru-en", "int8", "CC-BY-4.0"]
    assert run(capsys, "remove", "cli-ru-en", "--models-dir", models)[0] == 0
    code, out, err = run(capsys, "list", "--models-dir", models)
    assert code == 0 and out == "" and "no models installed" in err


def test_models_dir_from_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tiny_models_dir: Path
) -> None:
    monkeypatch.setenv("CROSSWIRE_MODELS_DIR", str(tiny_models_dir))
    code, out, _ = run(capsys, "list")
    assert code == 0 and out.splitlines()[1].startswith("tiny-ru-en")


def test_import_with_pair_and_replace(
    capsys: pytest.CaptureFixture[str], tiny_marian_zip: Path, tmp_path: Path
) -> None:
    models = str(tmp_path)
    assert run(capsys, "import", str(tiny_marian_zip), "--name", "x", "--pair", "uk-en", "--models-dir", models)[0] == 0
    code, _, err = run(capsys, "import", str(tiny_marian_zip), "--name", "x", "--models-dir", models)
    assert code == 1 and "already installed" in err and "--force" in err
    code, out, _ = run(capsys, "import", str(tiny_marian_zip), "--name", "x", "--force", "--models-dir", models)
    assert code == 0 and "(ru-en, int8)" in out


def test_available_models(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "list", "--available", "--models-dir", str(tmp_path))
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert code == 0 and {"opus-mt-ru-en", "translate-ru_en", "translate-zh_en-1_9"} <= rows.keys()
    assert rows["opus-mt-ru-en"][1:3] == ["ru-en", "yes"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["import", "/no/such/model.zip"], "no such file or folder: /no/such/model.zip"),
        (["import", "model.zip", "--pair", "russian"], "invalid language pair 'russian'"),
        (["fetch", "opus-mt-xx-yy"], "unknown model 'opus-mt-xx-yy'"),
        (["remove", "nothing-here"], "no model named nothing-here is installed"),
    ],
)
def test_expected_failures_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv, "--models-dir", str(tmp_path))
    assert code == 1 and out == ""
    assert err.startswith("crosswire: error: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_fetch_offline_is_one_clear_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/opus-2020-02-26.zip"
    registry = tmp_path / "registry.toml"
    registry.write_text(
        f'[[model]]\nname = "opus-mt-ru-en"\npairs = ["ru-en"]\n'
        f'[[model.sources]]\nkind = "url"\nformat = "opus-mt"\nurl = "{url}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("CROSSWIRE_REGISTRY", str(registry))
    code, out, err = run(capsys, "fetch", "opus-mt-ru-en", "--no-progress", "--models-dir", str(tmp_path / "m"))
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "network is unreachable" in err
    assert "crosswire models import opus-2020-02-26.zip --name opus-mt-ru-en" in err
