"""Where a command's work runs: in this process (server side installed) or on a server (--server)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from crosswire.cli import CLIError, require_server_side
from crosswire.types import Alignment, Comparison, Document, Translation

ENGINE_FLAGS = ("models_dir", "device", "compute_type", "inter_threads", "intra_threads")


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """--server and friends, plus the engine flags used in-process (when the server side is installed)."""
    group = parser.add_argument_group("where to run")
    group.add_argument("--server", metavar="HOST:PORT", help="use this Crosswire server instead of running in-process")
    group.add_argument("--timeout", type=float, default=300.0, help="deadline per call to the server, seconds")
    group.add_argument("--tls", action="store_true", help="connect to the server over TLS")
    try:
        from crosswire_server.config import ServerConfig
    except ImportError:
        return
    ServerConfig.add_arguments(group, only=ENGINE_FLAGS)


@contextlib.contextmanager
def core_errors() -> Iterator[None]:
    """Turn the core's expected failures into one-line CLI errors."""
    from crosswire_server.errors import CrosswireError

    try:
        yield
    except CrosswireError as exc:
        raise CLIError(str(exc)) from None


class RemoteBackend:
    """Runs calls on a Crosswire server through the blocking client."""

    def __init__(self, args: argparse.Namespace) -> None:
        from crosswire.client import Client

        self.address = args.server
        self._client = Client(args.server, timeout=args.timeout, tls=args.tls)
        self.call("health", timeout=min(args.timeout, 10.0))

    def call(self, method: str, *positional: Any, **settings: Any) -> Any:
        from crosswire.client import CrosswireError

        try:
            return getattr(self._client, method)(*positional, **settings)
        except CrosswireError as exc:
            if exc.code.name == "UNAVAILABLE" or (method == "health" and exc.code.name == "DEADLINE_EXCEEDED"):
                raise CLIError(f"server {self.address} is unavailable: {exc.details}") from None
            raise CLIError(f"{exc.code.name}: {exc.details}") from None

    def translate(self, texts: Sequence[str], **settings: Any) -> list[Translation]:
        return self.call("translate", list(texts), **settings)

    def segment(self, text: str, language: str | None) -> Document:
        return self.call("segment", text, language)

    def align(self, source: str, targets: Sequence[str], **settings: Any) -> Alignment:
        return self.call("align", source, list(targets), **settings)

    def compare(self, report: str, articles: Sequence[str], **settings: Any) -> Comparison:
        return self.call("compare", report, list(articles), **settings)

    def close(self) -> None:
        self._client.close()


class LocalBackend:
    """Runs calls in this process with the server's core; models load on first use."""

    def __init__(self, args: argparse.Namespace) -> None:
        require_server_side()
        from crosswire_server.config import ServerConfig

        self.config = ServerConfig.from_args(args)
        self._loop = asyncio.new_event_loop()
        self._engine = None
        self._aligner = None

    @property
    def engine(self) -> Any:
        if self._engine is None:
            from crosswire_server.translation import TranslationEngine

            self._engine = TranslationEngine.load(self.config)
            if not self._engine.models():
                raise CLIError(f"no model installed in {self.config.models_dir}; "
                               "install one with `crosswire models fetch NAME` or `crosswire models import PATH`")
        return self._engine

    def run(self, coroutine: Any) -> Any:
        with core_errors():
            return self._loop.run_until_complete(coroutine)

    def translate(self, texts: Sequence[str], **settings: Any) -> list[Translation]:
        engine = self.engine
        with core_errors():
            options = engine.decode_options(
                settings.pop("beam_size", None) or 0,
                settings.pop("num_hypotheses", None) or 0,
                settings.pop("return_scores", False),
                settings.pop("max_decoding_length", None) or 0,
            )
        return self.run(engine.translate(
            list(texts), source=settings.pop("source", None) or "", target=settings.pop("target", None) or "",
            model=settings.pop("model", None) or "", options=options, **settings,
        ))

    def segment(self, text: str, language: str | None) -> Document:
        from crosswire_server.segmentation import detect_language, segment

        with core_errors():
            return segment(text, language or detect_language(text) or "en")

    def _alignment_job(self, method: str, texts: tuple[str, Sequence[str]], settings: dict[str, Any]) -> Any:
        """Run an alignment job in-process, translating the source when a model for the pair is installed."""
        from crosswire_server.alignment import Aligner, AlignmentLimits, jobs

        job = jobs.AlignJob(texts[0], list(texts[1]), **settings)
        pair = (job.source_language, job.target_language)
        translate = None
        if any((p.source, p.target) == pair for p in self._engine_if_installed()):
            translate = jobs.in_batches(self.engine.translate_sentences, self.config.max_texts)
        if self._aligner is None:
            self._aligner = Aligner(limits=AlignmentLimits.from_config(self.config))
        return self.run(getattr(jobs, method)(self._aligner, job, translate))

    def _engine_if_installed(self) -> list[Any]:
        """Language pairs of the installed models; none (and no error) when nothing is installed."""
        try:
            return self.engine.pairs()
        except CLIError:
            return []

    def align(self, source: str, targets: Sequence[str], **settings: Any) -> Alignment:
        return self._alignment_job("align_texts", (source, targets), settings)

    def compare(self, report: str, articles: Sequence[str], **settings: Any) -> Comparison:
        return self._alignment_job("compare_texts", (report, articles), settings)

    def close(self) -> None:
        if self._engine is not None:
            self._loop.run_until_complete(self._engine.close())
        self._loop.close()


def connect(args: argparse.Namespace) -> RemoteBackend | LocalBackend:
    """The backend the arguments ask for: --server HOST:PORT, else in-process."""
    return RemoteBackend(args) if args.server else LocalBackend(args)
