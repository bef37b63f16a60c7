"""The model store against careless and hostile use: leftovers of killed processes, concurrent
imports of one model, archives that unpack to too much, and a download child outliving its parent."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

import crosswire_models.importing as importing
import crosswire_models.store as store
from crosswire_models.errors import InvalidModelError, ModelExistsError
from crosswire_models.importing import import_model
from crosswire_models.store import InstalledModel, installed_models, model_lock, staging
from support.tiny_marian import pack_argos

REPO = Path(__file__).resolve().parents[1]


def dead_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_leftovers_of_killed_processes_are_removed(tmp_path: Path) -> None:
    models = tmp_path / "models"
    stale = models / f".staging-import-{dead_pid()}-abcd1234"
    retired = models / ".retired-old-model-1a2b3c4d"
    for folder in (stale, retired):
        folder.mkdir(parents=True)
        (folder / "model.bin").write_bytes(b"\0" * 1024)
    with staging(models, "import") as mine:
        assert installed_models(models) == []  # a listing cleans up too, and keeps what is in use
        assert mine.exists() and str(os.getpid()) in mine.name
    assert sorted(p.name for p in models.iterdir()) == []


def test_concurrent_imports_of_one_model_build_it_once(
    tiny_marian_zip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = []
    build = importing._BUILDERS["opus-mt"]

    def counted(*args: object) -> object:
        builds.append(threading.get_ident())
        time.sleep(0.2)  # a long conversion, so the imports overlap
        return build(*args)

    monkeypatch.setitem(importing._BUILDERS, "opus-mt", counted)
    outcomes: list[object] = []

    def run() -> None:
        try:
            outcomes.append(import_model(tiny_marian_zip, tmp_path / "models", "tiny"))
        except ModelExistsError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    assert sum(isinstance(o, InstalledModel) for o in outcomes) == 1
    assert sum(isinstance(o, ModelExistsError) for o in outcomes) == 3


def test_the_lock_holds_across_processes_and_leaves_no_file(tmp_path: Path) -> None:
    models = tmp_path / "models"
    started, got = tmp_path / "started", tmp_path / "got"
    child_code = (
        "import sys; from pathlib import Path; from crosswire_models.store import model_lock\n"
        f"Path({str(started)!r}).touch()\n"
        f"with model_lock(Path({str(models)!r}), 'tiny'):\n"
        f"    Path({str(got)!r}).touch()\n"
    )
    with model_lock(models, "tiny"):
        child = subprocess.Popen([sys.executable, "-c", child_code])
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert started.exists() and not got.exists()  # the child waits for this process's lock
    assert child.wait(timeout=30) == 0
    assert got.exists()
    assert list(models.iterdir()) == []


def zip_bomb(tiny_model: InstalledModel, path: Path, members: int = 1, size: int = 3 * 2**20) -> Path:
    """An Argos package with extra members of zeros that compress to almost nothing."""
    package = pack_argos(tiny_model.model_path, tiny_model.source_spm, path)
    with zipfile.ZipFile(package, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        for n in range(members):
            zf.writestr(f"translate-ru_en-tiny/model/padding-{n}.bin", b"\0" * size)
    return package


def test_an_archive_that_unpacks_to_too_much_is_refused_before_writing(
    tiny_model: InstalledModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = zip_bomb(tiny_model, tmp_path / "bomb.argosmodel")
    assert package.stat().st_size < 2**20
    monkeypatch.setattr(importing, "MAX_ARCHIVE_BYTES", 2 * 2**20)
    with pytest.raises(InvalidModelError, match=r"the archive unpacks to 3\.[0-9] MiB, the limit is 2\.0 MiB"):
        import_model(package, tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_an_archive_with_too_many_files_is_refused(
    tiny_model: InstalledModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = zip_bomb(tiny_model, tmp_path / "many.argosmodel", members=20, size=10)
    monkeypatch.setattr(importing, "MAX_ARCHIVE_FILES", 10)
    with pytest.raises(InvalidModelError, match=r"files to extract, the limit is 10"):
        import_model(package, tmp_path / "models")


def test_a_member_that_unpacks_to_more_than_it_declares_is_cut_off(tmp_path: Path) -> None:
    source = tmp_path / "big"
    source.write_bytes(b"\0" * 5000)
    with open(source, "rb") as src, open(tmp_path / "out", "wb") as dst:
        with pytest.raises(InvalidModelError, match="more than the 1000 bytes it declares"):
            store.copy_at_most(src, dst, 1000, "model.bin")
    assert (tmp_path / "out").stat().st_size <= 1000


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_download_child_dies_with_its_parent() -> None:
    parent_code = (
        "import subprocess, time; from crosswire_models.fetch import die_with_parent\n"
        "child = subprocess.Popen(['sleep', '60'], preexec_fn=die_with_parent)\n"
        "print(child.pid, flush=True); time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _running(child):
        time.sleep(0.05)
    assert not _running(child)


def _running(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")
