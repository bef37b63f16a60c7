"""Build a tiny OPUS-MT/Marian release with random weights, for tests and benchmarks.

The release has exactly the files and parameter names of a real one (decoder.yml,
a Marian .npz, a vocabulary .yml, source.spm and target.spm trained on a few
sentences), so ctranslate2's OpusMTConverter converts it like a real model.
Its translations are garbage, but they are produced by a real model.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import sentencepiece
import yaml

RUSSIAN = [
    "Правительство объявило о новых мерах поддержки экономики.",
    "В Москве прошла встреча министров иностранных дел.",
    "Цены на нефть выросли после заявления ОПЕК.",
    "Президент подписал закон о бюджете на следующий год.",
    "Центральный банк сохранил ключевую ставку.",
    "На выборах победила оппозиционная партия.",
    "Погода в выходные будет тёплой и солнечной.",
    "Учёные сообщили о новом открытии в медицине.",
    "Футбольный клуб выиграл кубок страны.",
    "Переговоры продолжатся на следующей неделе.",
    "Компания объявила о сокращении сотрудников.",
    "В регионе начались сильные дожди.",
    "Министр заявил, что инфляция замедлится.",
    "Жители города вышли на митинг.",
    "Новый мост откроют в конце года.",
    "Экспорт зерна увеличился на десять процентов.",
    "Суд вынес приговор бывшему губернатору.",
    "Туристы вернулись на морские курорты.",
    "Эксперты ожидают роста цен на жильё.",
    "Школы перейдут на новую программу обучения.",
    "Россия и Китай подписали торговое соглашение.",
    "Пожар на складе потушили к утру.",
    "Рубль укрепился по отношению к доллару.",
    "Депутаты обсудили реформу пенсионной системы.",
]
ENGLISH = [
    "The government announced new measures to support the economy.",
    "A meeting of foreign ministers took place in Moscow.",
    "Oil prices rose after the OPEC statement.",
    "The president signed the budget law for next year.",
    "The central bank kept its key rate unchanged.",
    "The opposition party won the election.",
    "The weather at the weekend will be warm and sunny.",
    "Scientists reported a new discovery in medicine.",
    "The football club won the national cup.",
    "The talks will continue next week.",
    "The company announced job cuts.",
    "Heavy rains began in the region.",
    "The minister said that inflation would slow down.",
    "Residents of the city held a rally.",
    "The new bridge will open at the end of the year.",
    "Grain exports increased by ten percent.",
    "The court sentenced the former governor.",
    "Tourists returned to the seaside resorts.",
    "Experts expect housing prices to rise.",
    "Schools will switch to a new curriculum.",
    "Russia and China signed a trade agreement.",
    "The warehouse fire was put out by the morning.",
    "The rouble strengthened against the dollar.",
    "Deputies discussed the reform of the pension system.",
]

NPZ = "opus.spm1k-spm1k.transformer-align.model1.npz.best-perplexity.npz"
VOCAB = "opus.spm1k-spm1k.vocab.yml"
SPECIAL = ("<unk>", "<s>", "</s>")
# Added to the end-of-sentence logit (token 0) so that, like real translations, outputs end
# at varied lengths instead of all running to the maximum decoding length.
EOS_BIAS = 5.0


def _train_spm(sentences: list[str], vocab_size: int) -> bytes:
    """A SentencePiece unigram model trained on `sentences`, as bytes."""
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=model,
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        model_type="unigram",
        character_coverage=1.0,
        num_threads=1,
        minloglevel=2,
    )
    return model.getvalue()


def _pieces(spm_model: bytes) -> list[str]:
    processor = sentencepiece.SentencePieceProcessor(model_proto=spm_model)
    return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]


def _vocab_yml(tokens: list[str]) -> str:
    """Marian's vocabulary format: one `"token": index` line per token."""
    def quoted(token: str) -> str:
        return '"' + token.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "".join(f"{quoted(token)}: {index}\n" for index, token in enumerate(tokens))


def _weights(vocab_size: int, d_model: int, ffn: int, layers: int, heads: int, seed: int) -> dict[str, np.ndarray]:
    """Random parameters under the names Marian gives a post-norm transformer with tied embeddings."""
    rng = np.random.default_rng(seed)

    def rand(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    config = {
        "type": "transformer",
        "dim-emb": d_model,
        "dim-vocabs": [vocab_size, vocab_size],
        "enc-depth": layers,
        "dec-depth": layers,
        "transformer-heads": heads,
        "transformer-dim-ffn": ffn,
        "transformer-ffn-activation": "swish",
        "transformer-preprocess": "",
        "transformer-postprocess": "dan",
        "transformer-postprocess-emb": "d",
        "transformer-decoder-autoreg": "self-attention",
        "transformer-no-projection": False,
        "transformer-guided-alignment-layer": "last",
        "tied-embeddings-all": True,
    }
    params = {
        "special:model.yml": np.frombuffer(yaml.safe_dump(config).encode() + b"\0", dtype=np.int8),
        "Wemb": rand(vocab_size, d_model),
        "decoder_ff_logit_out_b": rand(1, vocab_size),
    }
    params["decoder_ff_logit_out_b"][0, 0] += EOS_BIAS

    def attention(scope: str) -> None:
        for part in "qkvo":
            params[f"{scope}_W{part}"] = rand(d_model, d_model)
            params[f"{scope}_b{part}"] = rand(1, d_model)
        params[f"{scope}_Wo_ln_scale"] = 1 + rand(1, d_model)
        params[f"{scope}_Wo_ln_bias"] = rand(1, d_model)

    def feed_forward(scope: str) -> None:
        params[f"{scope}_W1"], params[f"{scope}_b1"] = rand(d_model, ffn), rand(1, ffn)
        params[f"{scope}_W2"], params[f"{scope}_b2"] = rand(ffn, d_model), rand(1, d_model)
        params[f"{scope}_ffn_ln_scale"] = 1 + rand(1, d_model)
        params[f"{scope}_ffn_ln_bias"] = rand(1, d_model)

    for layer in range(1, layers + 1):
        attention(f"encoder_l{layer}_self")
        feed_forward(f"encoder_l{layer}_ffn")
        attention(f"decoder_l{layer}_self")
        attention(f"decoder_l{layer}_context")
        feed_forward(f"decoder_l{layer}_ffn")
    return params


def build_tiny_marian(
    dest: Path,
    *,
    source: str = "ru",
    target: str = "en",
    d_model: int = 16,
    layers: int = 1,
    heads: int = 2,
    ffn: int = 32,
    seed: int = 0,
) -> Path:
    """Write a tiny OPUS-MT release (random weights, real tokenisers) into `dest` and return `dest`.

    The tokenisers are always trained on the Russian and English sentences above;
    `source` and `target` are the languages its README declares.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    source_spm, target_spm = _train_spm(RUSSIAN, 120), _train_spm(ENGLISH, 120)
    (dest / "source.spm").write_bytes(source_spm)
    (dest / "target.spm").write_bytes(target_spm)
    pieces = [p for p in dict.fromkeys(_pieces(source_spm) + _pieces(target_spm)) if p not in SPECIAL]
    tokens = ["</s>", "<unk>", *pieces]
    (dest / VOCAB).write_text(_vocab_yml(tokens), encoding="utf-8")
    np.savez(dest / NPZ, **_weights(len(tokens), d_model, ffn, layers, heads, seed))
    decoder = {"models": [NPZ], "vocabs": [VOCAB, VOCAB], "beam-size": 4, "normalize": 1, "relative-paths": True}
    (dest / "decoder.yml").write_text(yaml.safe_dump(decoder), encoding="utf-8")
    (dest / "README.md").write_text(
        f"# tiny-{source}-{target}\n\n"
        "* dataset: a few sentences (random weights: a test fixture, not a translation model)\n"
        "* model: transformer-align\n"
        f"* source language(s): {source}\n"
        f"* target language(s): {target}\n"
        "* pre-processing: normalization + SentencePiece\n",
        encoding="utf-8",
    )
    (dest / "LICENSE").write_text("Creative Commons Attribution 4.0 International (CC-BY 4.0)\n", encoding="utf-8")
    return dest


def zip_release(release: Path, zip_path: Path) -> Path:
    """Pack a release folder into a flat zip, as OPUS-MT publishes them."""
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(Path(release).iterdir()):
            zf.write(file, file.name)
    return zip_path


def pack_argos(model_dir: Path, spm: Path, dest: Path, *, source: str = "ru", target: str = "en") -> Path:
    """Pack a CTranslate2 model folder and a SentencePiece model as an Argos Translate .argosmodel."""
    package = f"translate-{source}_{target}-tiny"
    metadata = {"package_version": "1.9", "argos_version": "1.9.0", "from_code": source, "to_code": target}
    readme = f"# {source} - {target} (tiny test package)\n\nThe original model is licensed CC-BY 4.0\n"
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{package}/metadata.json", json.dumps(metadata))
        zf.writestr(f"{package}/README.md", readme)
        zf.write(spm, f"{package}/sentencepiece.model")
        for file in sorted(Path(model_dir).iterdir()):
            zf.write(file, f"{package}/model/{file.name}")
        zf.writestr(f"{package}/stanza/resources.json", "{}")
    return dest
