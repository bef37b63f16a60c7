"""Model loading: one CTranslate2 translator plus its sentencepiece models per installed model."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import ctranslate2
import sentencepiece as spm

from crosswire.types import LanguagePair, ModelInfo
from crosswire_models.registry import default_model_name
from crosswire_models.store import InstalledModel, installed_models

from crosswire_server.config import ServerConfig

log = logging.getLogger("crosswire.engine")


def resolve_device(device: str) -> str:
    """'auto' becomes 'cuda' when CTranslate2 sees a GPU, else 'cpu'."""
    if device != "auto":
        return device
    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def resolve_compute_type(compute_type: str, device: str) -> str:
    """'auto' becomes int8 on CPU and int8_float16 on GPU."""
    if compute_type != "auto":
        return compute_type
    return "int8_float16" if device == "cuda" else "int8"


@dataclass
class LoadedModel:
    """A model ready to translate: the CTranslate2 translator and its tokenizers."""

    installed: InstalledModel
    translator: ctranslate2.Translator
    source_sp: spm.SentencePieceProcessor
    target_sp: spm.SentencePieceProcessor
    device: str
    compute_type: str
    is_default: bool = False

    @property
    def name(self) -> str:
        return self.installed.name

    @property
    def pairs(self) -> list[LanguagePair]:
        return [LanguagePair(s, t) for s, t in self.installed.pairs]

    def encode(self, sentences: list[str]) -> list[list[str]]:
        """Source sentences → sentencepiece pieces (the model adds </s> itself)."""
        return self.source_sp.encode(sentences, out_type=str)

    def decode(self, pieces: list[str]) -> str:
        """Target pieces → detokenised text.

        Some converted vocabularies hold merged pieces the sentencepiece model does
        not know ("was▁appointed"); those decode literally, so their ▁ become spaces.
        """
        return " ".join(self.target_sp.decode_pieces(pieces).replace("▁", " ").split())

    def info(self) -> ModelInfo:
        return ModelInfo(
            name=self.name,
            pairs=self.pairs,
            quantization=self.installed.quantization,
            compute_type=self.compute_type,
            device=self.device,
            license=self.installed.license,
            source=self.installed.source,
            is_default=self.is_default,
        )


def load_model(installed: InstalledModel, config: ServerConfig) -> LoadedModel:
    """Load one installed model with the configured device, compute type and threads."""
    device = resolve_device(config.device)
    compute_type = resolve_compute_type(config.compute_type, device)
    inter, intra = config.threads(device)
    translator = ctranslate2.Translator(
        str(installed.model_path),
        device=device,
        compute_type=compute_type,
        inter_threads=inter,
        intra_threads=intra,
    )
    source_sp = spm.SentencePieceProcessor(model_file=str(installed.source_spm))
    target_sp = (
        source_sp
        if installed.target_spm == installed.source_spm
        else spm.SentencePieceProcessor(model_file=str(installed.target_spm))
    )
    log.info(
        "loaded model %s (%s) on %s as %s, inter_threads=%d intra_threads=%d",
        installed.name, ", ".join(f"{s}->{t}" for s, t in installed.pairs), device, compute_type, inter, intra,
    )
    return LoadedModel(installed, translator, source_sp, target_sp, device, compute_type)


def load_models(config: ServerConfig, models_dir: Path | None = None) -> list[LoadedModel]:
    """Load every installed model and mark one default per language pair.

    The registry's default wins for its pair; otherwise the first model by name.
    """
    models = [load_model(m, config) for m in installed_models(models_dir or config.models_dir)]
    claimed: set[LanguagePair] = set()
    for prefer_registry in (True, False):
        for model in models:
            for pair in model.pairs:
                if pair in claimed:
                    continue
                if not prefer_registry or default_model_name(pair.source, pair.target) == model.name:
                    model.is_default = True
                    claimed.add(pair)
    return models
