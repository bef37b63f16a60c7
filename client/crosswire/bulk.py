"""Bulk translation: many texts (a JSONL corpus or files) to JSONL records, in input order, resumable.

Texts are read a pool at a time, sorted by length as CTranslate2 sorts a
whole file, and sent in chunks (one `Translate` call each), several at once,
so the server's batch scheduler always holds the next chunk when a translator
replica frees, and its batches are of like lengths: one stream message per
text, 64 at a time, left the replicas small batches of mixed lengths. A chunk
refused for one of its texts is sent again text by text, so that text fails
alone. Memory stays bounded: at most two pools are held until written.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import os
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from crosswire.types import Translation

#: The field a record's translation is written to.
TRANSLATION_FIELD = "translation"
#: Texts and characters per chunk (one Translate call; a longer text goes alone). Sized in characters, so that
#: chunks of short sentences still fill a batch or two (1,024 tokens by default: some 1,500 characters of Chinese,
#: 3,700 of Russian): counted in texts, the short end of a pool left the replicas waiting for the next chunk.
CHUNK_TEXTS = 256
CHUNK_CHARS = 8_000
#: Chunks being translated at once, by default: on one 2-core server, one batch running and one waiting per replica.
PARALLEL = 4
#: Texts read ahead and sorted by length together (memory: about two pools of texts and translations).
POOL_TEXTS = 2048
#: Attempts of a chunk the server turned away because its queue was full (it says when to retry).
OVERLOADED_ATTEMPTS = 30


@dataclass
class Item:
    """One input record: its id (as given), the text, and why it cannot be sent, if it cannot."""

    id: Any
    record: dict[str, Any]
    text: str = ""
    problem: str = ""

    @property
    def key(self) -> str:
        """The id as resume compares it: its JSON form (so 1 and "1" differ, as they do in the file)."""
        return json.dumps(self.id, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class Failure:
    """An input that got no translation, and why."""

    id: Any
    reason: str


@dataclass
class Summary:
    """What a run did: texts translated, sentences in them, skipped as already done, failures."""

    translated: int = 0
    sentences: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)


class ChunkError(Exception):
    """A chunk the backend did not translate.

    `per_text`: the refusal may concern one text (a bad or over-long text), so
    sending the texts one by one isolates it. `retry_after`: seconds after which
    the same chunk may be sent again (a full queue); None when that cannot help.
    """

    def __init__(self, message: str, *, per_text: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.per_text = per_text
        self.retry_after = retry_after


#: Translates texts, one result per text in order, or raises ChunkError.
Translate = Callable[[list[str]], Awaitable[list[Translation]]]


def corpus_items(path: str, lines: Iterable[str | bytes]) -> Iterator[Item]:
    """Items of a JSONL corpus: one object per line with "id" and "text"; a bad line is an item with a problem."""
    for number, line in enumerate(lines, 1):
        where = f"{path}:{number}"
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                yield Item(where, {}, problem=f"line {number} is not UTF-8")
                continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Item(where, {}, problem=f"line {number} is not JSON ({exc.msg})")
            continue
        if not isinstance(record, dict) or "id" not in record:
            yield Item(where, {}, problem=f'line {number} is not a JSON object with an "id"')
            continue
        text = record.get("text")
        if not isinstance(text, str):
            yield Item(record["id"], record, problem=f'line {number} has no "text" string')
        else:
            yield Item(record["id"], record, text, "" if text.strip() else "the text is empty")


def text_items(name: str, text: str, presegmented: bool) -> Iterator[Item]:
    """Items of a text file: the whole file as one text, or (presegmented) each line, with id NAME:LINE."""
    if not presegmented:
        yield Item(name, {"id": name, "text": text}, text, "" if text.strip() else "the file has no text")
        return
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            yield Item(f"{name}:{number}", {"id": f"{name}:{number}", "text": line}, line)


def unique(items: Iterable[Item], done: set[str], summary: Summary | None = None) -> Iterator[Item]:
    """Items whose ids are not in `done` (already in the output, counted as skipped in `summary`);
    an id seen earlier in the input makes the later item a failure."""
    seen: set[str] = set()
    for item in items:
        key = item.key
        if key in done:
            if summary is not None:
                summary.skipped += 1
            continue
        if key in seen and not item.problem:
            item.problem = "the id is repeated (an earlier record has it)"
        seen.add(key)
        yield item


def resume(path: Path) -> set[str]:
    """Ids (as Item.key) already in an output file; a partial last line (from a killed run) is cut off.

    Raises ValueError naming the line when a complete line is not a JSON object with an "id":
    such a file was not written by this command, and appending to it would mix two things.
    """
    if not path.exists():
        return set()
    done: set[str] = set()
    with path.open("rb+") as handle:
        keep = 0
        for number, line in enumerate(handle, 1):
            if not line.endswith(b"\n"):
                break  # the last write of a killed run
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise ValueError(f"{path}: line {number} is not JSON; not an output of this command?") from None
            if not isinstance(record, dict) or "id" not in record:
                raise ValueError(f'{path}: line {number} has no "id"; not an output of this command?')
            done.add(json.dumps(record["id"], ensure_ascii=False, sort_keys=True))
            keep += len(line)
        handle.truncate(keep)
    return done


def output_record(item: Item, translation: Translation, extra: Callable[[Translation], dict[str, Any]] | None) -> str:
    """The input record with the translation added, as one JSON line."""
    record = {**item.record, TRANSLATION_FIELD: translation.text, **(extra(translation) if extra else {})}
    return json.dumps(record, ensure_ascii=False) + "\n"


async def translate_chunk(chunk: list[Item], translate: Translate) -> list[Translation | str]:
    """Each item's translation, or the reason it has none (items with a problem are not sent)."""
    outcomes: list[Translation | str] = [item.problem for item in chunk]
    sendable = [i for i, item in enumerate(chunk) if not item.problem]
    if not sendable:
        return outcomes
    try:
        results: list[Translation | str] = list(await _with_retries(translate, [chunk[i].text for i in sendable]))
    except ChunkError as error:
        if error.per_text and len(sendable) > 1:
            results = list(await asyncio.gather(*(_one(translate, chunk[i].text) for i in sendable)))
        else:
            results = [_reason(error)] * len(sendable)
    for i, result in zip(sendable, results):
        outcomes[i] = result
    return outcomes


async def _one(translate: Translate, text: str) -> Translation | str:
    try:
        (result,) = await _with_retries(translate, [text])
        return result
    except ChunkError as error:
        return _reason(error)


def _reason(error: ChunkError) -> str:
    """The refusal as it concerns one text: without the "texts[0]: " of a one-text request."""
    return str(error).removeprefix("texts[0]: ")


async def _with_retries(translate: Translate, texts: list[str]) -> list[Translation]:
    for attempt in range(OVERLOADED_ATTEMPTS):
        try:
            return await translate(texts)
        except ChunkError as error:
            if error.retry_after is None or attempt == OVERLOADED_ATTEMPTS - 1:
                raise
            await asyncio.sleep(error.retry_after)
    raise AssertionError("unreachable")


async def translate_all(
    items: Iterable[Item],
    translate: Translate,
    write: Callable[[list[str]], None],
    *,
    parallel: int = PARALLEL,
    pool: int | None = None,
    done: set[str] | None = None,
    progress: Callable[[int, int], object] | None = None,
    extra: Callable[[Translation], dict[str, Any]] | None = None,
) -> Summary:
    """Translate items whose ids are not in `done`, `parallel` chunks at a time; `write` records in input order.

    Items are read `pool` at a time and each pool is sent longest text first,
    in chunks of like lengths, as CTranslate2 orders a whole file: batches of
    like lengths waste little on padding. The next pool is sent while the last
    chunks of the one before finish; a third is read only once the first is
    written, so one slow chunk cannot make results pile up behind it. `progress(texts, sentences)` is called as each
    chunk comes back. Failed items are left out of the output (a re-run tries
    them again) and listed in the summary.
    """
    summary = Summary()
    running = asyncio.Semaphore(parallel)
    held = asyncio.Semaphore(2)  # pools read and not yet written
    pool_ends: collections.deque[int] = collections.deque()  # the number after each held pool's last item
    outcomes: dict[int, tuple[Item, Translation | str]] = {}
    written = 0

    def flush() -> None:
        nonlocal written
        lines: list[str] = []
        while written in outcomes:
            item, outcome = outcomes.pop(written)
            if isinstance(outcome, str):
                summary.failures.append(Failure(item.id, outcome))
            else:
                lines.append(output_record(item, outcome, extra))
            written += 1
        if lines:
            write(lines)
        while pool_ends and written >= pool_ends[0]:
            pool_ends.popleft()
            held.release()

    async def work(chunk: list[tuple[int, Item]]) -> None:
        async with running:  # waiters are served in turn, so chunks go out in the order they were made
            results = await translate_chunk([item for _, item in chunk], translate)
        translated = [r for r in results if not isinstance(r, str)]
        summary.translated += len(translated)
        sentences = sum(len(t.segments) for t in translated)
        summary.sentences += sentences
        outcomes.update((number, (item, result)) for (number, item), result in zip(chunk, results))
        flush()
        if progress is not None:
            progress(len(chunk), sentences)

    numbered = enumerate(unique(items, done or set(), summary))
    async with asyncio.TaskGroup() as group:
        while True:
            await held.acquire()
            batch = list(itertools.islice(numbered, pool or POOL_TEXTS))
            if not batch:
                break
            pool_ends.append(batch[-1][0] + 1)
            for chunk in pool_chunks(batch):
                group.create_task(work(chunk))
    return summary


def pool_chunks(numbered: list[tuple[int, Item]]) -> list[list[tuple[int, Item]]]:
    """A pool's items in chunks of like lengths, longest first; items that cannot be sent come first, together."""
    problems = [pair for pair in numbered if pair[1].problem]
    sendable = sorted((pair for pair in numbered if not pair[1].problem), key=lambda pair: -len(pair[1].text))
    result: list[list[tuple[int, Item]]] = [problems] if problems else []
    chunk: list[tuple[int, Item]] = []
    size = 0
    for pair in sendable:
        if chunk and (len(chunk) >= CHUNK_TEXTS or size + len(pair[1].text) > CHUNK_CHARS):
            result.append(chunk)
            chunk, size = [], 0
        chunk.append(pair)
        size += len(pair[1].text)
    if chunk:
        result.append(chunk)
    return result


def summary_lines(summary: Summary, seconds: float, shown: int = 10) -> list[str]:
    """The end-of-run report: counts and rate, then failures grouped by reason with their first ids."""
    rate = summary.sentences / seconds if seconds > 0 else 0.0
    lines = [f"translated {summary.translated} texts ({summary.sentences} sentences) in {seconds:.1f} s, "
             f"{rate:.1f} sentences/s"
             + (f"; {summary.skipped} already in the output, skipped" if summary.skipped else "")]
    if not summary.failures:
        return lines
    lines.append(f"{len(summary.failures)} failed (not written; a re-run with the same output tries them again):")
    reasons = collections.Counter(f.reason for f in summary.failures)
    for reason, count in reasons.most_common():
        ids = [f.id for f in summary.failures if f.reason == reason]
        listed = ", ".join(json.dumps(i, ensure_ascii=False) for i in ids[:shown])
        more = f" and {count - shown} more" if count > shown else ""
        lines.append(f"  {count} × {reason}: {listed}{more}")
    return lines


def open_output(path: Path) -> BinaryIO:
    """The output file opened for appending (after `resume` cut a partial line), created if missing."""
    if path.parent and not path.parent.exists():
        os.makedirs(path.parent, exist_ok=True)
    return path.open("ab")
