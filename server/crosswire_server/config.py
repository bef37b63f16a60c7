"""All server settings in one dataclass, read from flags and CROSSWIRE_* variables.

Precedence: command-line flag > environment variable > default. Every field
becomes a flag (`--batch-tokens`) and a variable (`CROSSWIRE_BATCH_TOKENS`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

ENV_PREFIX = "CROSSWIRE_"


def _default_models_dir() -> Path:
    from crosswire_models.store import default_models_dir

    return default_models_dir()


def _setting(default: Any, help: str, **extra: Any) -> Any:
    """A dataclass field that also carries its help text for the flag."""
    if callable(default):
        return field(default_factory=default, metadata={"help": help, **extra})
    return field(default=default, metadata={"help": help, **extra})


@dataclass(frozen=True)
class ServerConfig:
    """Settings of a Crosswire server (and of the in-process engine the CLI uses)."""

    models_dir: Path = _setting(_default_models_dir, "folder of installed models")
    host: str = _setting("127.0.0.1", "address to listen on (0.0.0.0 or [::] for all)")
    port: int = _setting(50051, "port to listen on (0 = pick a free one)")
    device: str = _setting("auto", "where models run", choices=("auto", "cpu", "cuda"))
    compute_type: str = _setting("auto", "CTranslate2 compute type; auto = int8 on CPU, int8_float16 on GPU")
    inter_threads: int = _setting(0, "batches translated in parallel; 0 = one per CPU core (1 on GPU)")
    intra_threads: int = _setting(0, "threads inside one batch; 0 = 1 on CPU")
    beam_size: int = _setting(2, "default beam width")
    max_beam_size: int = _setting(8, "largest beam a request may ask for")
    max_decoding_length: int = _setting(256, "default and largest number of target tokens per sentence")
    max_input_tokens: int = _setting(256, "longer source sentences are split at safe points, never truncated")
    batch_tokens: int = _setting(1024, "source tokens per CTranslate2 batch (benchmarks/batch_size.py: as fast "
                                 "as 2,048 on CPU, with half the decoding memory)")
    batch_window_ms: float = _setting(10.0, "how long the scheduler waits to gather sentences into a batch")
    max_queued_sentences: int = _setting(20000, "queued sentences per model before RESOURCE_EXHAUSTED; a request "
                                         "with more distinct sentences is INVALID_ARGUMENT")
    cache_size: int = _setting(20000, "translations kept for repeated sentences (LRU entries; 0 = off)")
    cache_bytes: int = _setting(32 * 1024 * 1024, "most bytes the translation cache holds, keys and hypotheses "
                                "together (0 = no byte cap, only cache_size)")
    embedding_cache_mb: int = _setting(32, "MiB of sentence vectors Align, Compare and the library keep for "
                                       "sentences seen before (about 2.3 KB a sentence: 32 MiB ~ 14,500; 0 = none)")
    metrics_port: int = _setting(0, "serve Prometheus metrics on this port of the same host (0 = off)")
    malloc_arenas: int = _setting(2, "glibc malloc arenas of `serve` (0 = glibc's default); few keep peak memory low")
    blas_threads: int = _setting(1, "threads numpy's BLAS may use in `serve` (0 = its default: one per core, "
                                 "which spin and take CPU from translation)")
    max_texts: int = _setting(1024, "texts per Translate request")
    max_chars: int = _setting(1_000_000, "characters per request, all texts together")
    max_message_bytes: int = _setting(4 * 1024 * 1024, "largest request message in bytes (gRPC's own default: "
                                      "max_chars of any script fit)")
    max_response_bytes: int = _setting(4 * 1024 * 1024, "largest response message in bytes; a larger one is "
                                       "refused (INVALID_ARGUMENT): stock gRPC clients accept at most 4 MiB")
    retry_after_s: float = _setting(1.0, "retry delay suggested (RetryInfo) when the translation queue is full")
    max_stream_in_flight: int = _setting(64, "texts of one stream being translated at once")
    memory_budget_mb: int = _setting(288, "memory the requests in progress may take, all together, estimated "
                                     "from their size: RESOURCE_EXHAUSTED over it, INVALID_ARGUMENT for one "
                                     "request larger than all of it (0 = no budget)")
    memory_per_request_byte: float = _setting(48.0, "bytes of memory a request is estimated to take per byte "
                                              "of its message, and at least 1.25 KiB per sentence once its texts "
                                              "are segmented (benchmarks/memory.py measures both)")
    max_align_targets: int = _setting(200, "target documents per Align/Compare request")
    max_align_source_by_targets: int = _setting(50_000, "source sentences times target documents per "
                                                "Align/Compare request (each such pair costs 1 KiB and its "
                                                "share of CPU: 1,000 sentences against 50 documents)")
    max_align_sentences: int = _setting(1000, "sentences per document in Align/Compare")
    max_align_target_sentences: int = _setting(4000, "target sentences per Align/Compare request, all together "
                                               "(1,000 x 4,000 sentence pairs in 50 documents are charged 232 MiB)")
    library: str = _setting("", "the article library: a SQLite file path or a postgresql:// URL "
                            "(\"\" = library.sqlite3 in the user's data directory)")
    max_library_batch: int = _setting(500, "articles per AddArticles request")
    max_library_results: int = _setting(100, "articles per Search answer and per ListArticles page")
    grace_period_s: float = _setting(10.0, "seconds in-flight requests get to finish on SIGTERM")
    max_connection_age_s: float = _setting(0.0, "ask clients to reconnect after a connection is this old (GOAWAY; "
                                           "its calls finish), so dns:/// clients find replicas added since; 0 = never")
    log_format: str = _setting("json", "request log format", choices=("json", "text"))
    tls_cert: str = _setting("", "PEM certificate chain; with tls_key, serve TLS instead of plaintext")
    tls_key: str = _setting("", "PEM private key for tls_cert")
    # Access control (access.py, rpc/auth.py): who may call what, and how much. Health is always open.
    api_keys: str = _setting("", "TOML file of hashed API keys (`crosswire keys create`); callers send "
                             "'authorization: Bearer TOKEN'; reread when it changes or on SIGHUP")
    tls_client_ca: str = _setting("", "PEM CA certificate(s); with TLS, every client must present a certificate "
                                  "it signed (mutual TLS); the certificate's subject names the caller")
    insecure: bool = _setting(False, "allow serving on a non-loopback address with neither API keys nor "
                              "client certificates (anyone who reaches the port may call)")
    reflection: str = _setting("open", "server reflection: open to all, behind the API keys, or off",
                               choices=("open", "keys", "off"))
    metrics_access: str = _setting("open", "/metrics: open to all, or only for API keys allowed 'metrics'",
                                   choices=("open", "keys"))
    cache_per_key: bool = _setting(False, "one translation cache partition per caller, so that no client can "
                                   "tell by timing what another translated")
    max_concurrent_rpcs: int = _setting(512, "calls in progress at once, all callers together, before "
                                        "RESOURCE_EXHAUSTED (0 = no cap; health checks are not counted)")
    max_open_streams: int = _setting(64, "streaming calls open at once, all callers together, before "
                                     "RESOURCE_EXHAUSTED (0 = no cap)")
    max_connections: int = _setting(1024, "client connections open at once; one more is closed as it is "
                                    "accepted, and its client sees UNAVAILABLE (0 = no cap)")

    def __post_init__(self) -> None:
        """Refuse settings that cannot work together (a server must never quietly serve less than asked)."""
        if bool(self.tls_cert) != bool(self.tls_key):
            given, missing = ("--tls-cert", "--tls-key") if self.tls_cert else ("--tls-key", "--tls-cert")
            raise ValueError(f"{given} needs {missing} too (TLS takes a certificate and its private key); "
                             "give both, or neither for plaintext")
        for name in ("tls_cert", "tls_key", "tls_client_ca", "api_keys"):
            value = getattr(self, name)
            if value and not Path(value).is_file():
                raise ValueError(f"--{name.replace('_', '-')}: no such file: {value}")
        if self.tls_client_ca and not self.tls_cert:
            raise ValueError("--tls-client-ca needs --tls-cert and --tls-key (client certificates are checked "
                             "during the TLS handshake)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ServerConfig:
        """Defaults overridden by CROSSWIRE_* variables, then by keyword arguments."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _parse(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser, only: tuple[str, ...] | None = None) -> None:
        """Add one optional flag per field (or per field in `only`); unset flags stay None."""
        for f in dataclasses.fields(cls):
            if only is not None and f.name not in only:
                continue
            env = ENV_PREFIX + f.name.upper()
            if str(f.type) == "bool":  # a switch: --insecure, or CROSSWIRE_INSECURE=1
                parser.add_argument("--" + f.name.replace("_", "-"), action="store_const", const=True, default=None,
                                    help=f"{f.metadata['help']} (env {env}=1)")
                continue
            parser.add_argument(
                "--" + f.name.replace("_", "-"),
                type=_field_type(f),
                default=None,
                choices=f.metadata.get("choices"),
                help=f"{f.metadata['help']} (env {env})",
            )

    @classmethod
    def from_args(cls, args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> ServerConfig:
        """Environment and defaults, overridden by the flags that were given."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls.from_env(environ, **{k: v for k, v in vars(args).items() if k in names})

    def threads(self, device: str, cores: int | None = None) -> tuple[int, int]:
        """(inter_threads, intra_threads) after resolving the 0 = auto defaults.

        On CPU one replica per core with one thread each: measured on 2 cores,
        inter=2/intra=1 translated 24.3 sentences/s, inter=1/intra=2 16.6 (README, Threads).
        """
        cores = cores or usable_cores()
        inter = self.inter_threads or (1 if device == "cuda" else cores)
        intra = self.intra_threads or 1
        return inter, intra


def usable_cores() -> int:
    """CPU cores this process may run on: its affinity mask where the OS has one (Linux), else all cores."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _field_type(f: dataclasses.Field) -> Any:
    kind = {"int": int, "float": float, "Path": Path, "bool": _switch}.get(str(f.type), str)
    return kind


def _switch(raw: str) -> bool:
    """A boolean variable: 1/true/yes/on or 0/false/no/off."""
    value = raw.strip().lower()
    if value not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise ValueError(raw)
    return value in ("1", "true", "yes", "on")


def _parse(f: dataclasses.Field, raw: str) -> Any:
    try:
        return _field_type(f)(raw)
    except ValueError:
        expected = "switch (1/true/yes/on or 0/false/no/off)" if str(f.type) == "bool" else str(f.type)
        raise ValueError(f"{ENV_PREFIX}{f.name.upper()}={raw!r} is not a valid {expected}") from None
