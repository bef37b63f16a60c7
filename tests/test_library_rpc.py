"""LibraryService over gRPC, and Compare taking its articles from the library: a real server, a SQLite library
in a temporary folder, the real sentence encoder; through the Python clients and the raw stubs."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc
import pytest

from crosswire import AsyncClient, Client, CrosswireError
from crosswire.types import AddStatus, Article, Coverage, LibrarySelection
from crosswire.v1 import article_pb2, library_pb2, library_pb2_grpc
from support.server import ServerThread

RU = ("Генсек НАТО Йенс Столтенберг призвал Россию прекратить бои в Сирии. "
      "Госсекретарь США Джон Керри проинформировал союзников о ходе переговоров.")
NATO = ("NATO Secretary General Jens Stoltenberg called on Russia to stop the fighting in Syria. "
        "US Secretary of State John Kerry briefed the allies on the talks.")
FOOTBALL = "Manchester United beat Chelsea 2-1 on Saturday. The winning goal came in the final minute."
MARKETS = "Shares in the carmaker rose after the results. Investors welcomed the higher profit forecast."
JULY = datetime(2016, 7, 25, 9, 30, tzinfo=timezone.utc)
BASE = [
    Article("nato.txt", NATO, outlet="Reuters", url="https://example.com/nato", title="NATO urges Russia",
            published=JULY),
    Article("football.txt", FOOTBALL, outlet="BBC", published=JULY - timedelta(days=40)),
    Article("markets.txt", MARKETS, outlet="Reuters"),
]
BATCH_LIMIT = 4


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    location = tmp_path_factory.mktemp("library") / "coverage.sqlite3"
    with ServerThread(tiny_models_dir, max_decoding_length=16, library=str(location),
                      max_library_batch=BATCH_LIMIT, max_library_results=10) as handle:
        with Client(handle.address, timeout=120) as client:
            handle.base = client.add_articles(BASE)
        handle.location = location
        yield handle


@pytest.fixture
def client(server: ServerThread):
    with Client(server.address, timeout=120) as c:
        yield c


def failure(call) -> CrosswireError:
    with pytest.raises(CrosswireError) as info:
        call()
    return info.value


def test_the_library_is_the_configured_file_and_serving(server: ServerThread, client: Client) -> None:
    assert [r.status for r in server.base] == [AddStatus.ADDED] * 3 and all(r.id for r in server.base)
    assert server.location.is_file()
    assert client.health("crosswire.v1.LibraryService") == "SERVING"


def test_a_batch_with_bad_articles_adds_the_others_and_answers_for_each(client: Client) -> None:
    batch = [
        Article("empty.txt", ""),
        Article("weather.txt", "Heavy rain flooded the streets of Lisbon on Tuesday. Trains were cancelled."),
        Article("", "An article without a name about the Lisbon floods."),
        Article("binary.bin", "\x00\x01\x02 binary \x00\x00 data"),
    ]
    results = client.add_articles(batch)
    assert [r.name for r in results] == ["empty.txt", "weather.txt", "", "binary.bin"]
    assert [r.status for r in results] == [AddStatus.REFUSED, AddStatus.ADDED, AddStatus.REFUSED, AddStatus.REFUSED]
    assert "text" in results[0].reason and "name" in results[2].reason and results[3].reason
    assert results[1].id and not results[0].id
    assert client.get_article(results[1].id).name == "weather.txt"


def test_the_same_text_is_one_article_and_new_text_under_a_url_replaces_it(client: Client) -> None:
    url = "https://example.com/storm"
    first, = client.add_articles([Article("storm.txt", "A storm hit the coast of Norway overnight.", url=url)])
    again, = client.add_articles([Article("storm.txt", "A storm hit the coast of Norway overnight.", url=url)])
    replaced, = client.add_articles([Article("storm.txt", "A storm hit the coast of Norway. Ferries stopped.",
                                             url=url)])
    assert (first.status, again.status, replaced.status) == (AddStatus.ADDED, AddStatus.UNCHANGED,
                                                             AddStatus.REPLACED)
    assert again.id == first.id
    assert replaced.id and client.get_article("storm.txt").text.endswith("Ferries stopped.")


def test_get_by_id_and_by_name_with_every_field(server: ServerThread, client: Client) -> None:
    by_id = client.get_article(server.base[0].id)
    by_name = client.get_article("nato.txt")
    assert by_id == by_name
    assert (by_id.text, by_id.outlet, by_id.url, by_id.title, by_id.published) == (
        NATO, "Reuters", "https://example.com/nato", "NATO urges Russia", JULY)
    assert by_id.language == "en" and by_id.sentence_count == 2 and by_id.added is not None


def test_get_of_an_unknown_article_is_not_found_naming_the_key(client: Client) -> None:
    error = failure(lambda: client.get_article("no-such-article"))
    assert error.code == grpc.StatusCode.NOT_FOUND and "no-such-article" in error.details
    assert ("key", error.details) in error.violations


def test_delete_removes_by_name_and_ignores_unknown_keys(client: Client) -> None:
    added, = client.add_articles([Article("to-delete.txt", "The museum in Porto reopened after two years.")])
    assert client.delete_articles(["to-delete.txt", "never-added"]) == 1
    assert failure(lambda: client.get_article(added.id)).code == grpc.StatusCode.NOT_FOUND
    assert client.delete_articles([added.id]) == 0


def test_list_pages_through_every_article_without_texts(server: ServerThread, client: Client) -> None:
    channel = grpc.insecure_channel(server.address)
    stub = library_pb2_grpc.LibraryServiceStub(channel)
    first = stub.ListArticles(library_pb2.ListArticlesRequest(page_size=2), timeout=60)
    assert len(first.articles) == 2 and first.next_page_token
    second = stub.ListArticles(library_pb2.ListArticlesRequest(page_size=2, page_token=first.next_page_token),
                               timeout=60)
    assert {a.id for a in first.articles}.isdisjoint(a.id for a in second.articles)
    channel.close()
    everything = list(client.list_articles(page_size=2))
    assert {"nato.txt", "football.txt", "markets.txt"} <= {a.name for a in everything}
    assert all(a.text == "" and a.id for a in everything)
    assert len({a.id for a in everything}) == len(everything)
    assert {a.name for a in client.list_articles(outlet="BBC")} == {"football.txt"}


def test_stats_count_articles_outlets_and_times(client: Client) -> None:
    stats = client.library_stats()
    assert stats.backend == "sqlite" and stats.bytes_on_disk > 0
    assert stats.articles == len(list(client.list_articles())) and stats.sentences >= 6
    assert stats.outlets["Reuters"] >= 2 and stats.outlets["BBC"] == 1 and stats.languages["en"] >= 3
    assert stats.oldest == JULY - timedelta(days=40) and stats.newest == JULY


def test_search_finds_the_article_that_covers_the_report(client: Client) -> None:
    hits = client.search(RU, "ru", selection=LibrarySelection(k=3))
    assert hits[0].article.name == "nato.txt" and hits[0].article.text == ""
    assert hits[0].coverage is Coverage.SAME_EVENT
    assert {"Kerry", "Stoltenberg"} <= set(hits[0].shared_names)
    assert hits[0].pairs and {(p.report_sentence, p.article_sentence) for p in hits[0].pairs} >= {(1, 1)}
    kerry = next(p for p in hits[0].pairs if p.report_sentence == 1)
    assert kerry.report_text.startswith("Госсекретарь США") and kerry.article_text.startswith("US Secretary")
    assert [p.similarity for p in hits[0].pairs] == sorted((p.similarity for p in hits[0].pairs), reverse=True)
    assert all(hits[0].score > hit.score for hit in hits[1:]) and len(hits) <= 3


def test_search_filters_by_outlet_through_the_async_client(server: ServerThread) -> None:
    async def search() -> list:
        async with AsyncClient(server.address, timeout=120) as client:
            return await client.search(RU, "ru", selection=LibrarySelection(k=5, outlets=("BBC",)))

    hits = asyncio.run(search())
    assert [hit.article.name for hit in hits] == ["football.txt"]


@pytest.mark.parametrize(("request_", "field"), [
    (library_pb2.SearchRequest(report=" "), "report"),
    (library_pb2.SearchRequest(report=RU, language="russian!"), "language"),
    (library_pb2.SearchRequest(report=RU, selection=article_pb2.LibrarySelection(k=11)), "selection.k"),
    (library_pb2.SearchRequest(report=RU, selection=article_pb2.LibrarySelection(outlets=[""])),
     "selection.outlets[0]"),
])
def test_bad_searches_are_invalid_argument_naming_the_field(server: ServerThread, request_, field: str) -> None:
    with grpc.insecure_channel(server.address) as channel, pytest.raises(grpc.RpcError) as info:
        library_pb2_grpc.LibraryServiceStub(channel).Search(request_, timeout=60)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert CrosswireError.from_rpc(info.value).violations[0][0] == field


def test_a_negative_window_is_refused(client: Client) -> None:
    error = failure(lambda: client.search(RU, "ru", selection=LibrarySelection(window=timedelta(days=-1))))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT and error.violations[0][0] == "selection.window"


def test_bad_add_delete_and_list_requests_name_the_field(server: ServerThread) -> None:
    too_many = [article_pb2.Article(name=f"a{i}", text="Text.") for i in range(BATCH_LIMIT + 1)]
    cases = [
        ("AddArticles", library_pb2.AddArticlesRequest(), "articles"),
        ("AddArticles", library_pb2.AddArticlesRequest(articles=too_many), "articles"),
        ("DeleteArticles", library_pb2.DeleteArticlesRequest(), "keys"),
        ("DeleteArticles", library_pb2.DeleteArticlesRequest(keys=["x", ""]), "keys[1]"),
        ("ListArticles", library_pb2.ListArticlesRequest(page_token="not-a-token"), "page_token"),
        ("GetArticle", library_pb2.GetArticleRequest(), "key"),
    ]
    with grpc.insecure_channel(server.address) as channel:
        stub = library_pb2_grpc.LibraryServiceStub(channel)
        for method, request, field in cases:
            with pytest.raises(grpc.RpcError) as info:
                getattr(stub, method)(request, timeout=60)
            error = CrosswireError.from_rpc(info.value)
            assert (method, error.code, error.violations[0][0]) == (method, grpc.StatusCode.INVALID_ARGUMENT, field)
            if isinstance(request, library_pb2.AddArticlesRequest) and request.articles:
                assert error.limit == "max_library_batch" and str(BATCH_LIMIT) in error.details


def test_the_client_splits_a_large_ingest_into_batches_the_server_takes(client: Client) -> None:
    articles = [Article(f"note-{i}.txt", f"Council meeting number {i} in Bergen approved the budget of {i} million.")
                for i in range(BATCH_LIMIT * 2 + 1)]
    sizes: list[int] = []
    results = client.add_articles(articles, batch_size=BATCH_LIMIT, progress=sizes.append)
    assert sizes == [BATCH_LIMIT, BATCH_LIMIT, 1]
    assert [r.name for r in results] == [a.name for a in articles]
    assert all(r.status is AddStatus.ADDED for r in results)
    assert client.delete_articles([r.id for r in results]) == len(articles)


def test_compare_takes_its_articles_from_the_library(client: Client) -> None:
    comparison = client.compare(RU, [], library=LibrarySelection(k=2))
    assert [a.name for a in comparison.library_articles][0] == "nato.txt"
    assert comparison.library_articles[0].text == NATO
    assert comparison.alignment.targets[0].text == NATO
    assert comparison.documents[0].name == "nato.txt"
    assert comparison.documents[0].coverage is Coverage.SAME_EVENT
    assert len(comparison.alignment.targets) == len(comparison.library_articles) == 2


def test_compare_takes_the_library_articles_after_the_requests_own(client: Client) -> None:
    comparison = client.compare(RU, [FOOTBALL], names=["mine.txt"], library=LibrarySelection(k=1))
    assert comparison.alignment.target_names == ["mine.txt", "nato.txt"]
    assert comparison.alignment.targets[1].text == NATO
    assert comparison.documents[0].target_doc == 1


def test_compare_refuses_a_library_k_over_the_target_limit(server: ServerThread, client: Client) -> None:
    over = server.config.max_align_targets + 1
    error = failure(lambda: client.compare(RU, [], library=LibrarySelection(k=over)))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT and error.violations[0][0] == "library.k"
    assert error.limit == "max_align_targets"


def test_compare_with_no_match_in_the_library_and_no_articles_is_not_found(client: Client) -> None:
    error = failure(lambda: client.compare(RU, [], library=LibrarySelection(outlets=("Nobody",))))
    assert error.code == grpc.StatusCode.NOT_FOUND and error.violations[0][0] == "library"


def test_an_invalid_time_or_an_unsupported_language_refuses_only_that_article(server: ServerThread) -> None:
    bad_time = article_pb2.Article(name="future.txt", text="A ferry sank near Bergen.")
    bad_time.published.seconds = 10**13  # past year 9999
    articles = [bad_time, article_pb2.Article(name="other.txt", text="Ein Zug entgleiste bei Bern.", language="de"),
                article_pb2.Article(name="fine.txt", text="A bridge opened in Bergen on Monday.")]
    with grpc.insecure_channel(server.address) as channel:
        response = library_pb2_grpc.LibraryServiceStub(channel).AddArticles(
            library_pb2.AddArticlesRequest(articles=articles), timeout=60)
    statuses = [(r.name, library_pb2.AddStatus.Name(r.status)) for r in response.results]
    assert statuses == [("future.txt", "ADD_STATUS_REFUSED"), ("other.txt", "ADD_STATUS_REFUSED"),
                        ("fine.txt", "ADD_STATUS_ADDED")]
    assert "published" in response.results[0].reason and "language" in response.results[1].reason


def test_a_library_article_over_an_alignment_limit_is_named_as_from_the_library(
        server: ServerThread, tiny_models_dir: Path) -> None:
    with ServerThread(tiny_models_dir, max_decoding_length=16, library=str(server.location),
                      max_align_sentences=1) as strict, Client(strict.address, timeout=120) as client:
        error = failure(lambda: client.compare(RU.split(". ")[0], [], library=LibrarySelection(k=1)))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT and error.violations[0][0] == "library"
    assert error.details == "library article 'nato.txt' (library_articles[0]): 2 sentences, the limit is 1 per document"


def test_an_article_larger_than_a_request_message_is_refused_alone(server: ServerThread, tiny_models_dir: Path) -> None:
    huge = Article("huge.txt", "The council met again. " * 20_000)  # 460 KB, over max_message_bytes below
    small = [Article("ok-1.txt", "The harbour in the northern city froze over after a week of record cold weather."),
             Article("ok-2.txt", "A new ferry line between the two islands opened on Monday with three daily trips.")]
    with ServerThread(tiny_models_dir, library=str(server.location), max_message_bytes=200_000) as strict, \
            Client(strict.address, timeout=120) as client:
        results = client.add_articles([small[0], huge, small[1]])
    assert [(r.name, r.status) for r in results] == [("ok-1.txt", AddStatus.ADDED), ("huge.txt", AddStatus.REFUSED),
                                                     ("ok-2.txt", AddStatus.ADDED)]
    assert "max_message_bytes" in results[1].reason


def test_a_library_that_cannot_be_opened_is_unavailable_saying_why(tiny_models_dir: Path) -> None:
    with ServerThread(tiny_models_dir, library="/proc/no-such-folder/library.sqlite3") as broken, \
            grpc.insecure_channel(broken.address) as channel:
        with pytest.raises(grpc.RpcError) as info:
            library_pb2_grpc.LibraryServiceStub(channel).Stats(library_pb2.StatsRequest(), timeout=60)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "cannot open the library at /proc/no-such-folder/library.sqlite3" in info.value.details()


def test_the_same_service_on_a_postgresql_library(tiny_models_dir: Path, postgres_server) -> None:
    with ServerThread(tiny_models_dir, max_decoding_length=16, library=postgres_server.new_database()) as served, \
            Client(served.address, timeout=120) as client:
        results = client.add_articles([*BASE, Article("empty.txt", "")])
        hits = client.search(RU, "ru", selection=LibrarySelection(k=2, outlets=("Reuters",)))
        stats = client.library_stats()
        comparison = client.compare(RU, [], library=LibrarySelection(k=1))
    assert [r.status for r in results] == [AddStatus.ADDED] * 3 + [AddStatus.REFUSED]
    assert [hit.article.name for hit in hits][0] == "nato.txt" and {h.article.outlet for h in hits} == {"Reuters"}
    assert (stats.backend, stats.articles) == ("postgres", 3)
    assert comparison.library_articles[0].text == NATO


def test_every_library_call_of_the_async_client(server: ServerThread) -> None:
    async def calls() -> tuple:
        async with AsyncClient(server.address, timeout=120) as client:
            added = await client.add_articles([Article("async.txt", "The lighthouse on the island was restored "
                                                       "by volunteers and opened to visitors this summer.",
                                                       outlet="Async Times")])
            article = await client.get_article("async.txt")
            listed = [a.name async for a in client.list_articles(outlet="Async Times", page_size=1)]
            stats = await client.library_stats()
            deleted = await client.delete_articles(["async.txt"])
            return added, article, listed, stats, deleted

    added, article, listed, stats, deleted = asyncio.run(calls())
    assert added[0].status is AddStatus.ADDED and article.id == added[0].id and article.outlet == "Async Times"
    assert listed == ["async.txt"] and stats.outlets["Async Times"] == 1 and deleted == 1


def test_what_the_library_refuses_in_a_report_names_the_requests_field(client: Client) -> None:
    german = "Der Bundestag hat am Donnerstag nach langer Debatte ein neues Gesetz zur Energiewende beschlossen."
    error = failure(lambda: client.search(german))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT and error.violations[0][0] == "language"
    error = failure(lambda: client.compare(german, [], source_language="de", library=LibrarySelection()))
    assert error.violations[0][0] == "source_language" and error.details.startswith("source_language: ")
