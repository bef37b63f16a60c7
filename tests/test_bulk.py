"""Bulk translation (`crosswire translate --corpus/--output`): order, ids, fields, resume, failures, exit codes.

The pipeline is checked with a fake translator that answers out of order and
refuses chosen texts; the command end to end with the tiny model, in-process
and through a real server.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crosswire import bulk
from crosswire.cli import main
from crosswire.types import Translation
from support.server import ServerThread

SENTENCES = [
    "Правительство объявило о новых мерах.",
    "Цены на нефть выросли.",
    "Суд вынес приговор по делу о мошенничестве в особо крупном размере.",
    "Вице-премьер встретился с послом.",
    "Москва.",
]


def write_corpus(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def corpus_records(count: int) -> list[dict]:
    """Records with ids of both JSON kinds and fields of their own."""
    return [{"id": i if i % 2 else f"doc-{i}", "text": SENTENCES[i % len(SENTENCES)], "outlet": f"o{i % 3}",
             "meta": {"n": i}} for i in range(count)]


@pytest.fixture
def models_env(tiny_models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CROSSWIRE_MODELS_DIR", str(tiny_models_dir))
    monkeypatch.setenv("CROSSWIRE_MAX_DECODING_LENGTH", "8")
    return tiny_models_dir


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 3 texts and pools of 7, so a short corpus spans several of each."""
    monkeypatch.setattr(bulk, "CHUNK_TEXTS", 3)
    monkeypatch.setattr(bulk, "POOL_TEXTS", 7)


# --- the pipeline, with a fake translator --------------------------------------------------------------------------

def fake_translator(refused: set[str], calls: list[list[str]]) -> bulk.Translate:
    """Answers after a random delay (so chunks finish out of order); a chunk holding a refused text is refused."""
    rng = random.Random(7)

    async def translate(texts: list[str]) -> list[Translation]:
        calls.append(list(texts))
        await asyncio.sleep(rng.random() / 100)
        bad = [t for t in texts if t in refused]
        if bad:
            raise bulk.ChunkError(f"texts[0]: {bad[0]} is refused", per_text=True)
        return [Translation(t.upper(), "ru", "en", "fake", []) for t in texts]

    return translate


def run_pipeline(items: list[bulk.Item], translate: bulk.Translate, **settings) -> tuple[list[dict], bulk.Summary]:
    lines: list[str] = []
    summary = asyncio.run(bulk.translate_all(items, translate, lines.extend, **settings))
    return [json.loads(line) for line in lines], summary


def test_pipeline_keeps_input_order_when_chunks_finish_out_of_order(small_chunks) -> None:
    texts = [f"text {i} " + "x" * random.Random(i).randrange(40) for i in range(50)]
    items = [bulk.Item(i, {"id": i, "text": t}, t) for i, t in enumerate(texts)]
    calls: list[list[str]] = []
    records, summary = run_pipeline(items, fake_translator(set(), calls), parallel=3)
    assert [r["id"] for r in records] == list(range(50))
    assert all(r["translation"] == r["text"].upper() for r in records)
    assert summary.translated == 50 and not summary.failures
    assert max(len(c) for c in calls) == 3 and len(calls) >= 50 / 3
    # each pool goes out longest first: within the first pool's chunks, lengths do not grow
    first_pool = [len(t) for call in calls[:3] for t in call]
    assert first_pool == sorted(first_pool, reverse=True)


def test_a_slow_chunk_holds_back_reading_after_two_pools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "CHUNK_TEXTS", 2)
    consumed = []

    def items():
        for i in range(40):
            consumed.append(i)
            yield bulk.Item(i, {"id": i}, "slow" if i == 0 else f"text {i}")

    async def scenario() -> tuple[int, list[str]]:
        release = asyncio.Event()
        lines: list[str] = []

        async def translate(texts: list[str]) -> list[Translation]:
            if "slow" in texts:
                await release.wait()
            return [Translation(t, "ru", "en", "fake", []) for t in texts]

        run = asyncio.create_task(bulk.translate_all(items(), translate, lines.extend, pool=4, parallel=2))
        for _ in range(50):  # let every other chunk go through
            await asyncio.sleep(0)
        read_while_stuck = len(consumed)
        release.set()
        await run
        return read_while_stuck, lines

    read_while_stuck, lines = asyncio.run(scenario())
    assert read_while_stuck <= 8  # the first pool, unwritten, and one more
    assert [json.loads(line)["id"] for line in lines] == list(range(40))


def test_pipeline_isolates_a_refused_text_and_retries_a_full_queue(small_chunks) -> None:
    items = [bulk.Item(i, {"id": i}, f"text {i}") for i in range(10)]
    refused_calls: list[list[str]] = []
    translate = fake_translator({"text 4"}, refused_calls)
    full_once = {"pending": True}

    async def busy_then_fine(texts: list[str]) -> list[Translation]:
        if full_once["pending"]:
            full_once["pending"] = False
            raise bulk.ChunkError("queue full", retry_after=0.01)
        return await translate(texts)

    records, summary = run_pipeline(items, busy_then_fine)
    assert [r["id"] for r in records] == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert summary.failures == [bulk.Failure(4, "text 4 is refused")]
    assert ["text 4"] in refused_calls  # sent alone after its chunk was refused


def test_pipeline_fails_a_whole_chunk_on_an_error_that_is_not_about_one_text(small_chunks) -> None:
    async def down(texts: list[str]) -> list[Translation]:
        raise bulk.ChunkError("cannot reach a Crosswire server")

    items = [bulk.Item(i, {"id": i}, f"text {i}") for i in range(4)]
    records, summary = run_pipeline(items, down)
    assert records == [] and [f.id for f in summary.failures] == [0, 1, 2, 3]
    assert {f.reason for f in summary.failures} == {"cannot reach a Crosswire server"}


def test_resume_reads_ids_and_cuts_a_partial_last_line(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"id": 1, "translation": "a"}\n{"id": "1", "translation": "b"}\n{"id": 7, "transl')
    assert bulk.resume(out) == {"1", '"1"'}
    assert out.read_bytes() == b'{"id": 1, "translation": "a"}\n{"id": "1", "translation": "b"}\n'
    out.write_text('{"id": 1}\nnot json\n{"id": 2}\n')
    with pytest.raises(ValueError, match="line 2 is not JSON"):
        bulk.resume(out)


def test_summary_groups_failures_by_reason_with_the_first_ids() -> None:
    summary = bulk.Summary(translated=5, sentences=9, skipped=2,
                           failures=[bulk.Failure(i, "the text is empty") for i in range(12)]
                           + [bulk.Failure("x", "too long")])
    lines = bulk.summary_lines(summary, 3.0)
    assert lines[0] == "translated 5 texts (9 sentences) in 3.0 s, 3.0 sentences/s; 2 already in the output, skipped"
    assert lines[1].startswith("13 failed")
    assert lines[2] == "  12 × the text is empty: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 2 more"
    assert lines[3] == '  1 × too long: "x"'


# --- the command, with the tiny model ------------------------------------------------------------------------------

def test_corpus_in_process_keeps_order_ids_and_fields(models_env, small_chunks, tmp_path, capsys) -> None:
    records = corpus_records(17)
    corpus = write_corpus(tmp_path / "corpus.jsonl", records)
    out = tmp_path / "out.jsonl"
    assert main(["translate", "--from", "ru", "--corpus", str(corpus), "--output", str(out), "--parallel", "2"]) == 0
    written = read_records(out)
    assert [r["id"] for r in written] == [r["id"] for r in records]
    for given, got in zip(records, written):
        assert {k: v for k, v in got.items() if k != "translation"} == given
        assert isinstance(got["translation"], str) and got["translation"]
    err = capsys.readouterr().err
    assert "translated 17 texts (17 sentences)" in err and "failed" not in err


def test_corpus_through_a_server_matches_in_process(models_env, small_chunks, tmp_path) -> None:
    corpus = write_corpus(tmp_path / "corpus.jsonl", corpus_records(9))
    local, remote = tmp_path / "local.jsonl", tmp_path / "remote.jsonl"
    assert main(["translate", "--from", "ru", "--corpus", str(corpus), "-o", str(local)]) == 0
    with ServerThread(models_env, max_decoding_length=8) as handle:
        assert main(["translate", "--from", "ru", "--corpus", str(corpus), "-o", str(remote),
                     "--server", handle.address]) == 0
    assert read_records(remote) == read_records(local)


def test_failures_are_summarised_while_the_rest_goes_through(models_env, small_chunks, tmp_path, capsys) -> None:
    records = corpus_records(8)
    records[2]["text"] = "Очень длинный текст. " * 20  # over the server's max_chars
    records[5]["text"] = "   "
    del records[6]["text"]
    records.append({"id": 1, "text": "Повтор."})  # the id of records[1] again
    corpus = write_corpus(tmp_path / "corpus.jsonl", records)
    with corpus.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    out = tmp_path / "out.jsonl"
    with ServerThread(models_env, max_decoding_length=8, max_chars=300) as handle:
        code = main(["translate", "--from", "ru", "--corpus", str(corpus), "-o", str(out), "--server", handle.address])
    assert code == 1
    assert [r["id"] for r in read_records(out)] == [records[i]["id"] for i in (0, 1, 3, 4, 7)]
    err = capsys.readouterr().err
    assert "translated 5 texts" in err and "5 failed" in err
    assert "over the limit max_chars=300: \"doc-2\"" in err
    assert "the text is empty: 5" in err
    assert 'line 7 has no "text" string: "doc-6"' in err
    assert "the id is repeated (an earlier record has it): 1" in err
    assert f'line 10 is not JSON (Expecting property name enclosed in double quotes): "{corpus}:10"' in err


def test_rerun_skips_what_is_there_and_completes_a_killed_run(models_env, small_chunks, tmp_path, capsys) -> None:
    records = corpus_records(12)
    corpus = write_corpus(tmp_path / "corpus.jsonl", records)
    out = tmp_path / "out.jsonl"
    # what a run killed mid-write leaves: three records (one kept as a marker) and half of a fourth
    kept = [{**records[0], "translation": "KEPT"}, {**records[1], "translation": "KEPT"},
            {**records[2], "translation": "KEPT"}]
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept)
                   + json.dumps({**records[3], "translation": "x"})[:25], encoding="utf-8")
    assert main(["translate", "--from", "ru", "--corpus", str(corpus), "-o", str(out)]) == 0
    written = read_records(out)
    assert [r["id"] for r in written] == [r["id"] for r in records]
    assert [r["translation"] for r in written[:3]] == ["KEPT"] * 3
    assert all(r["translation"] != "KEPT" for r in written[3:])
    assert "translated 9 texts" in capsys.readouterr().err
    # a third run has nothing to do
    assert main(["translate", "--from", "ru", "--corpus", str(corpus), "-o", str(out)]) == 0
    assert "translated 0 texts (0 sentences)" in capsys.readouterr().err and read_records(out) == written


def test_a_failed_text_is_tried_again_by_a_rerun(models_env, tmp_path, capsys) -> None:
    corpus = write_corpus(tmp_path / "corpus.jsonl", [{"id": "a", "text": SENTENCES[0]}, {"id": "b", "text": ""}])
    out = tmp_path / "out.jsonl"
    assert main(["translate", "--from", "ru", "--corpus", str(corpus), "-o", str(out)]) == 1
    write_corpus(corpus, [{"id": "a", "text": SENTENCES[0]}, {"id": "b", "text": SENTENCES[1]}])
    capsys.readouterr()
    assert main(["translate", "--from", "ru", "--corpus", str(corpus), "-o", str(out)]) == 0
    assert [r["id"] for r in read_records(out)] == ["a", "b"]
    assert "1 already in the output, skipped" in capsys.readouterr().err


def test_many_text_files_become_records(models_env, tmp_path, capsys) -> None:
    files = []
    for i in range(4):
        path = tmp_path / f"report{i}.txt"
        path.write_text(f"{SENTENCES[i]}\n{SENTENCES[i + 1]}\n", encoding="utf-8")
        files.append(str(path))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["translate", "--from", "ru", "-o", str(out), *files, str(empty)]) == 1
    written = read_records(out)
    assert [r["id"] for r in written] == files
    assert all(r["text"] == Path(r["id"]).read_text(encoding="utf-8") and r["translation"] for r in written)
    assert f'the file has no text: "{empty}"' in capsys.readouterr().err
    lines = tmp_path / "lines.jsonl"
    assert main(["translate", "--from", "ru", "--presegmented", "-o", str(lines), *files[:2]]) == 0
    assert [r["id"] for r in read_records(lines)] == [f"{name}:{n}" for name in files[:2] for n in (1, 2)]


def test_corpus_to_stdout_with_full_results_and_a_progress_bar(models_env, tmp_path, capsys) -> None:
    corpus = write_corpus(tmp_path / "corpus.jsonl", corpus_records(3))
    assert main(["translate", "--from", "ru", "--corpus", "--presegmented", "--format", "jsonl", "--scores",
                 "--progress", str(corpus)]) == 0
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["id"] for r in records] == ["doc-0", 1, "doc-2"]
    assert all(r["result"]["text"] == r["translation"] and isinstance(r["result"]["segments"][0]["score"], float)
               for r in records)
    assert "3/3" in captured.err and "sentence" in captured.err


@pytest.mark.parametrize("content, message", [
    ('{"id": 1, "translation": "a"}\n[1, 2]\n', 'line 2 has no "id"; not an output of this command?'),
    ("plain text\n", "line 1 is not JSON; not an output of this command?"),
])
def test_an_output_file_of_something_else_is_refused(models_env, tmp_path, capsys, content, message) -> None:
    corpus = write_corpus(tmp_path / "corpus.jsonl", corpus_records(2))
    out = tmp_path / "out.jsonl"
    out.write_text(content, encoding="utf-8")
    assert main(["translate", "--from", "ru", "--corpus", str(corpus), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert out.read_text(encoding="utf-8") == content


def test_missing_input_and_unreachable_server_are_one_line(models_env, tmp_path, capsys) -> None:
    out = tmp_path / "out.jsonl"
    assert main(["translate", "--corpus", str(tmp_path / "missing.jsonl"), "-o", str(out)]) == 1
    assert capsys.readouterr().err == f"crosswire: error: file not found: {tmp_path / 'missing.jsonl'}\n"
    corpus = write_corpus(tmp_path / "corpus.jsonl", corpus_records(2))
    assert main(["translate", "--corpus", str(corpus), "-o", str(out), "--server", "127.0.0.1:1",
                 "--timeout", "3"]) == 1
    assert "connection refused" in capsys.readouterr().err and not out.exists()


def test_spread_over_two_replicas(models_env, small_chunks, tmp_path) -> None:
    corpus = write_corpus(tmp_path / "corpus.jsonl",
                          [{"id": i, "text": f"{SENTENCES[i % 5]} Номер {i}."} for i in range(40)])
    out = tmp_path / "out.jsonl"
    with ServerThread(models_env, max_decoding_length=8) as one, ServerThread(models_env, max_decoding_length=8) as two:
        assert main(["translate", "--from", "ru", "--corpus", str(corpus), "-o", str(out),
                     "--server", f"{one.address},{two.address}"]) == 0
        misses = [handle.server.runtime.engine.cache_stats().misses for handle in (one, two)]
    assert [r["id"] for r in read_records(out)] == list(range(40))
    assert all(count > 0 for count in misses)


def test_a_killed_run_resumes_to_the_whole_corpus_once(models_env, tmp_path) -> None:
    records = [{"id": i, "text": f"{SENTENCES[i % 5]} Номер {i}."} for i in range(3000)]
    corpus = write_corpus(tmp_path / "corpus.jsonl", records)
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "crosswire", "translate", "--from", "ru", "--corpus", str(corpus),
               "-o", str(out), "--parallel", "1"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    while process.poll() is None and not (out.exists() and out.stat().st_size > 0):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    killed = process.wait() == -signal.SIGKILL  # else it had finished: the re-run below has nothing to do
    left = out.read_bytes().count(b"\n")
    assert subprocess.run(command, env=env, stderr=subprocess.DEVNULL).returncode == 0
    assert [r["id"] for r in read_records(out)] == list(range(3000))
    assert left < 3000 if killed else left == 3000
