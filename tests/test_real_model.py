"""The whole path on the real Argos zh→en 1.9 model: server output equals CTranslate2 called directly."""

from __future__ import annotations

from pathlib import Path

import ctranslate2
import pytest
import sentencepiece as spm

from crosswire import Client
from crosswire.cli import main
from support.server import ServerThread

pytestmark = pytest.mark.real_model

EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "eval" / "zh-en"
LINES = 200
BEAM = 2


@pytest.fixture(scope="module")
def newstest() -> tuple[list[str], list[str]]:
    if not EVAL.is_dir():
        pytest.skip(f"shared evaluation data is absent ({EVAL})")
    read = lambda name: (EVAL / name).read_text(encoding="utf-8").splitlines()[:LINES]  # noqa: E731
    return read("newstest2019.zh"), read("newstest2019.en")


def direct_translations(model, sentences: list[str]) -> list[str]:
    """CTranslate2 called directly with the server's options (int8, beam 2, token batches)."""
    translator = ctranslate2.Translator(str(model.model_path), compute_type="int8", inter_threads=2)
    sp = spm.SentencePieceProcessor(model_file=str(model.source_spm))
    results = translator.translate_batch(sp.encode(sentences, out_type=str), beam_size=BEAM,
                                         max_batch_size=2048, batch_type="tokens", max_decoding_length=256)
    return [" ".join("".join(r.hypotheses[0]).replace("▁", " ").split()) for r in results]


def test_bleu_through_the_server_equals_direct_ctranslate2(real_models_dir, real_model, newstest) -> None:
    import sacrebleu

    sources, references = newstest
    direct = direct_translations(real_model, sources)
    with ServerThread(real_models_dir) as handle, Client(handle.address, timeout=600) as client:
        served = [r.text for r in client.translate(sources, source="zh", beam_size=BEAM, presegmented=True)]
    bleu_direct = sacrebleu.corpus_bleu(direct, [references]).score
    bleu_served = sacrebleu.corpus_bleu(served, [references]).score
    print(f"BLEU direct {bleu_direct:.2f}, through the server {bleu_served:.2f}")
    assert bleu_direct > 15, "the real model should translate newstest sensibly"
    assert abs(bleu_served - bleu_direct) <= 0.1


def test_command_translates_chinese_news(real_models_dir, newstest, monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.setenv("CROSSWIRE_MODELS_DIR", str(real_models_dir))
    source = tmp_path / "zh.txt"
    source.write_text("\n".join(newstest[0][:3]) + "\n", encoding="utf-8")
    assert main(["translate", "--from", "zh", str(source)]) == 0
    local = capsys.readouterr().out
    assert len(local.splitlines()) == 3 and "Guangdong" in local
    with ServerThread(real_models_dir) as handle:
        assert main(["translate", "--from", "zh", "--server", handle.address, str(source)]) == 0
    assert capsys.readouterr().out == local
