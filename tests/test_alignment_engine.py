"""The alignment engine on hand-made documents: both modes, compare, translations, and every bad input."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import numpy as np
import pytest

from crosswire.types import AlignMode, Document, Grade, Role, Sentence
from crosswire_server.alignment import Aligner, AlignmentLimits, eligible, prepare, presegment
from crosswire_server.alignment.jobs import AlignJob, align_texts, compare_texts
from crosswire_server.errors import InvalidInput, Stopped

RU = [
    "Генсек НАТО Йенс Столтенберг призвал Россию прекратить бои в Сирии.",
    "По его словам, наступление на Алеппо привело к гуманитарной катастрофе.",
    "Госсекретарь США Джон Керри проинформировал союзников о ходе переговоров.",
    "Коалиция освободила 6 000 квадратных километров территории.",
    "Министры встретятся снова в феврале.",
]
EN = [
    "NATO Secretary General Jens Stoltenberg called on Russia to stop the fighting in Syria.",
    "He said the offensive on Aleppo had caused a humanitarian catastrophe.",
    "US Secretary of State John Kerry briefed the allies on the talks.",
    "The coalition has freed 6,000 square kilometres of territory.",
    "The ministers will meet again in February.",
]
UNRELATED = [
    "Manchester United beat Chelsea 2-1 on Saturday.",
    "The winning goal came in the final minute.",
    "Shares in the carmaker rose by ten percent after the results.",
    "The museum will reopen after a two-year renovation.",
]


@pytest.fixture(scope="module")
def aligner() -> Aligner:
    return Aligner()


def lines(texts: list[str], language: str) -> Document:
    return presegment("\n".join(texts), language)


def pairs(result) -> set[tuple[int, int, int]]:
    return {(i, link.target_doc, j) for link in result.links for i in link.source for j in link.target}


def test_parallel_links_a_translation_one_to_one_in_order(aligner: Aligner) -> None:
    result = aligner.align(lines(RU, "ru"), [lines(EN, "en")], AlignMode.PARALLEL)
    assert pairs(result) == {(i, 0, i) for i in range(len(RU))}
    assert all(link.grade is Grade.SAME for link in result.links)
    assert result.unaligned_source == [] and result.unaligned_targets == [[]]


def test_parallel_finds_a_split_sentence_and_an_extra_one(aligner: Aligner) -> None:
    english = [
        EN[0],
        "He said the offensive on Aleppo had been a disaster.", "It caused a humanitarian catastrophe, he added.",
        EN[2],
        "Turkey's foreign ministry made no comment on Friday.",
        EN[3], EN[4],
    ]
    result = aligner.align(lines(RU, "ru"), [lines(english, "en")], AlignMode.PARALLEL)
    assert [(link.source, link.target) for link in result.links] == [
        ([0], [0]), ([1], [1, 2]), ([2], [3]), ([3], [5]), ([4], [6])
    ]
    assert result.unaligned_targets == [[4]]


def test_comparable_links_shuffled_partial_coverage_and_leaves_the_rest(aligner: Aligner) -> None:
    english = [EN[3], UNRELATED[0], EN[0], UNRELATED[1], EN[2], UNRELATED[2]]
    result = aligner.align(lines(RU, "ru"), [lines(english, "en")], AlignMode.COMPARABLE)
    same = {(link.source[0], link.target[0]) for link in result.links if link.grade is Grade.SAME}
    assert same == {(3, 0), (0, 2), (2, 4)}
    assert set(result.unaligned_targets[0]) >= {1, 3, 5}
    names = {(t.source, t.target) for link in result.links for t in link.evidence.names}
    assert {("Столтенберг", "Stoltenberg"), ("Керри", "Kerry")} <= names
    numbers = {(t.source, t.target) for link in result.links for t in link.evidence.numbers}
    assert ("6 000", "6,000") in numbers


def test_comparable_links_into_several_documents(aligner: Aligner) -> None:
    first, second = [EN[0], UNRELATED[0]], [UNRELATED[1], EN[2], EN[3]]
    result = aligner.align(lines(RU, "ru"), [lines(first, "en"), lines(second, "en")], "comparable", names=["a", "b"])
    same = {(i, k, j) for i, k, j in pairs(result)} & {(0, 0, 0), (2, 1, 1), (3, 1, 2)}
    assert same == {(0, 0, 0), (2, 1, 1), (3, 1, 2)}
    assert result.target_names == ["a", "b"]


@pytest.mark.parametrize("mode", ["parallel", "comparable"])
def test_identical_documents_link_every_sentence(aligner: Aligner, mode: str) -> None:
    document = lines(EN, "en")
    result = aligner.align(document, [lines(EN, "en")], mode)
    assert pairs(result) == {(i, 0, i) for i in range(len(EN))}
    assert result.unaligned_source == [] and result.unaligned_targets == [[]]


@pytest.mark.parametrize("mode", ["parallel", "comparable"])
def test_documents_with_nothing_in_common_stay_unaligned(aligner: Aligner, mode: str) -> None:
    result = aligner.align(lines(RU[:4], "ru"), [lines(UNRELATED, "en")], mode)
    assert result.links == []
    assert result.unaligned_source == [0, 1, 2, 3]
    assert result.unaligned_targets == [[0, 1, 2, 3]]


def test_presegmented_indices_are_line_numbers(aligner: Aligner) -> None:
    source = presegment(f"{RU[0]}\n\n{RU[2]}\n", "ru")
    target = presegment(f"\n{EN[2]}\n{EN[0]}", "en")
    assert [s.text for s in source.sentences] == [RU[0], "", RU[2]]
    result = aligner.align(source, [target], "comparable")
    assert pairs(result) == {(0, 0, 2), (2, 0, 1)}
    assert eligible(source) == [0, 2]


def test_only_headline_and_body_that_are_not_duplicates_take_part(aligner: Aligner) -> None:
    sentences = [
        Sentence(0, 0, 1, RU[0], role=Role.HEADLINE),
        Sentence(1, 0, 1, "Фото: EPA/ Stephanie Lecocq", role=Role.CAPTION),
        Sentence(2, 0, 1, RU[0], role=Role.HEADLINE, duplicate_of=0),
        Sentence(3, 0, 1, RU[2]),
    ]
    source = Document("", "ru", sentences)
    result = aligner.align(source, [lines([EN[2], EN[0]], "en")], "comparable")
    assert {i for link in result.links for i in link.source} == {0, 3}
    assert result.unaligned_source == []
    caption = Document("", "en", [Sentence(0, 0, 1, "Photo: EPA/ Stephanie Lecocq", role=Role.CAPTION)])
    captions = aligner.align(source, [caption], "comparable", roles=frozenset({Role.CAPTION}))
    assert [link.source for link in captions.links] == [[1]]


def test_translations_add_the_translation_signal(aligner: Aligner) -> None:
    source, target = lines(RU[:3], "ru"), [lines(EN[:3], "en")]
    plain = aligner.align(source, target, "comparable")
    assert all(link.evidence.translation_similarity is None for link in plain.links)
    given = aligner.align(source, target, "comparable", translations=EN[:3])
    assert all(link.evidence.translation_similarity == pytest.approx(1.0) for link in given.links)
    calls = []
    translated = aligner.align(source, target, "comparable", translations=lambda texts: calls.append(texts) or EN[:3])
    assert calls == [RU[:3]] and pairs(translated) == pairs(given)


def test_compare_ranks_the_article_that_covers_the_report_first(aligner: Aligner) -> None:
    report = prepare(" ".join(RU), "ru")
    articles = [lines(UNRELATED, "en"), lines([EN[4], UNRELATED[3], EN[1], EN[0]], "en"), lines(EN[2:4], "en")]
    comparison = aligner.compare(report, articles, names=["sport", "nato", "kerry"])
    assert [d.name for d in comparison.documents][0] == "nato"
    assert comparison.documents[-1].name == "sport" and comparison.documents[-1].linked_source == 0
    assert [row.source for row in comparison.rows] == eligible(report)
    assert all(row.matches for row in comparison.rows)
    assert comparison.only_in_report == []
    assert {(ref.target_doc, ref.index) for ref in comparison.only_in_coverage} == {(1, 1)}
    assert comparison.documents[0].score > comparison.documents[-1].score


def test_compare_rows_carry_translations(aligner: Aligner) -> None:
    report = lines(RU[:2], "ru")
    comparison = aligner.compare(report, [lines(EN[:2], "en")], translations=lambda texts: [t.upper() for t in texts])
    assert [row.translation for row in comparison.rows] == [RU[0].upper(), RU[1].upper()]


def test_jobs_segment_translate_and_align() -> None:
    seen = []

    async def translate(sentences: list[str], source: str, target: str) -> list[str]:
        seen.append((sentences, source, target))
        return EN[: len(sentences)]

    aligner = Aligner()
    job = AlignJob(" ".join(RU[:2]), [" ".join(EN[:2])], names=["en"])
    result = asyncio.run(align_texts(aligner, job, translate))
    assert seen == [(RU[:2], "ru", "en")]
    assert pairs(result) == {(0, 0, 0), (1, 0, 1)}
    assert result.links[0].evidence.translation_similarity == pytest.approx(1.0)
    comparison = asyncio.run(compare_texts(aligner, job))
    assert comparison.documents[0].name == "en"


@pytest.mark.parametrize(
    ("job", "message"),
    [
        (AlignJob("Текст.", []), "targets: at least one target document is required"),
        (AlignJob("", ["Text."]), "source: the document has no sentence to align"),
        (AlignJob("Текст.", ["Text.", "  \n"]), "targets[1]: the document has no sentence to align"),
        (AlignJob("Текст.", [" ".join(EN)]), None),
        (AlignJob("Текст.", [" ".join(RU)]), "targets[0]: declared language is 'en' but the text looks 'ru'"),
        (AlignJob(" ".join(EN), ["Text."]), "source: declared language is 'ru' but the text looks 'en'"),
        (AlignJob("Текст.", ["Text."], source_language="xx"), "source_language: 'xx' is not supported"),
        (AlignJob("Текст.", ["Text."], target_language="de"), "target_language: 'de' is not supported"),
        (AlignJob("Текст.", ["Text."], names=["a", "b"]), "names: 2 names for 1 target documents"),
    ],
)
def test_bad_input_is_refused_naming_the_field(job: AlignJob, message: str | None) -> None:
    aligner = Aligner()
    if message is None:
        asyncio.run(align_texts(aligner, job))
        return
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace("]", r"\]")):
        asyncio.run(align_texts(aligner, job))


def test_limits_are_enforced_with_their_numbers() -> None:
    aligner = Aligner(limits=AlignmentLimits(max_targets=2, max_sentences_per_document=50, max_target_sentences=60))
    many = "\n".join(f"Sentence number {n} is here." for n in range(51))
    with pytest.raises(InvalidInput, match=r"targets\[0\]: 51 sentences, the limit is 50 per document"):
        asyncio.run(align_texts(aligner, AlignJob("Текст.", [many], presegmented=True)))
    with pytest.raises(InvalidInput, match=r"source: 51 sentences, the limit is 50"):
        asyncio.run(align_texts(aligner, AlignJob(many.replace("Sentence", "Предложение"), ["Text."], presegmented=True)))
    with pytest.raises(InvalidInput, match="targets: 3 documents, the limit is 2"):
        asyncio.run(align_texts(aligner, AlignJob("Текст.", ["A.", "B.", "C."])))
    forty = "\n".join(f"Line {n} of the text." for n in range(40))
    with pytest.raises(InvalidInput, match="targets: 80 sentences in all, the limit is 60"):
        asyncio.run(align_texts(aligner, AlignJob("Текст.", [forty, forty], presegmented=True)))


def test_translations_of_the_wrong_length_are_refused(aligner: Aligner) -> None:
    with pytest.raises(InvalidInput, match="translations: 1 given for 2 source sentences"):
        aligner.align(lines(RU[:2], "ru"), [lines(EN[:2], "en")], translations=["one"])


def test_every_sentence_is_embedded_once(aligner: Aligner) -> None:
    from crosswire_server.alignment.embeddings import Embedder

    embedder = Embedder()
    local = Aligner(embedder=embedder)
    rng = random.Random(1)
    shuffled = rng.sample(EN, len(EN))
    local.compare(lines(RU, "ru"), [lines(shuffled, "en"), lines(EN[:2], "en")])
    assert embedder.encoded == len(RU) + len(EN)


def test_compare_with_other_roles_ranks_by_those_sentences(aligner: Aligner) -> None:
    report = Document("", "ru", [Sentence(0, 0, 1, "Фото: Йенс Столтенберг на встрече в Брюсселе.", role=Role.CAPTION),
                                 Sentence(1, 0, 1, RU[4])])
    article = Document("", "en", [Sentence(0, 0, 1, "Photo: Jens Stoltenberg at the meeting in Brussels.",
                                           role=Role.CAPTION)])
    comparison = aligner.compare(report, [article], roles=frozenset({Role.CAPTION}))
    assert [row.source for row in comparison.rows] == [0]
    assert comparison.documents[0].linked_source == 1 and comparison.only_in_coverage == []


class _SlowModel:
    """Wraps the sentence encoder: each call takes at least 50 ms, and the calls are counted."""

    def __init__(self, model) -> None:
        self.model, self.calls = model, 0

    def encode(self, texts: list[str]):
        self.calls += 1
        time.sleep(0.05)
        return self.model.encode(texts)


def test_a_set_stop_abandons_embedding_between_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    from crosswire_server.alignment import embeddings

    monkeypatch.setattr(embeddings, "CHUNK", 2)
    embedder = embeddings.Embedder()
    stop = threading.Event()
    embedder.encode(EN[:2], stop)  # cached now
    stop.set()
    assert embedder.encode(EN[:2], stop).shape == (2, embeddings.DIMENSION)  # nothing left to encode: no need to stop
    with pytest.raises(Stopped, match="stopped waiting"):
        embedder.encode(EN, stop)
    assert embedder.encoded == 2


def test_a_cancelled_alignment_stops_its_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    from crosswire_server.alignment import embeddings

    monkeypatch.setattr(embeddings, "CHUNK", 4)
    embedder = embeddings.Embedder()
    slow = embedder._model = _SlowModel(embedder._model)
    source = "\n".join(f"Предложение номер {n} о переговорах в Женеве." for n in range(200))
    target = "\n".join(f"Sentence number {n} about the talks in Geneva." for n in range(200))
    job = AlignJob(source, [target], mode=AlignMode.PARALLEL, presegmented=True)

    async def cancel_soon() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(align_texts(Aligner(embedder=embedder), job), timeout=0.3)

    asyncio.run(cancel_soon())  # asyncio.run waits for the worker thread before returning
    calls = slow.calls
    time.sleep(0.2)
    assert slow.calls == calls, "the worker thread went on encoding after the request was cancelled"
    assert 0 < embedder.encoded < 400 and calls < 100  # 400 texts in chunks of 4 would be 100 calls


def test_concurrent_requests_embed_a_shared_text_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from crosswire_server.alignment import embeddings

    monkeypatch.setattr(embeddings, "CHUNK", 2)
    embedder = embeddings.Embedder()
    embedder._model = _SlowModel(embedder._model)
    results = []
    threads = [threading.Thread(target=lambda: results.append(embedder.encode(EN))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert embedder.encoded == len(EN)
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])
