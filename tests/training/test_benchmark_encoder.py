"""The encoder classifier: a tiny BERT built in the test (no downloads), fine-tuned on CPU alone and in a benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.training.test_benchmark import cli, make_synthetic_corpus, toy_notes, write_notes

CODES = ["M54", "J06", "K29", "N30"]


def make_tiny_bert(out_dir: Path, texts: list[str], seed: int = 0) -> Path:
    """Save a 2-layer BERT (~60k parameters) with a word-level tokenizer over `texts` to `out_dir`.

    The vocabulary is the sorted word set, not a trained WordPiece: the tokenizers trainers break ties in a
    process-dependent order, which would make the model (and the test) differ from run to run.
    """
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]"]
    splitter = pre_tokenizers.BertPreTokenizer()
    words = sorted({w for text in texts for w, _ in splitter.pre_tokenize_str(text.lower())})
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(specials + words)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = splitter
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(fast), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, pad_token_id=fast.pad_token_id)
    BertModel(config).save_pretrained(out_dir)
    fast.save_pretrained(out_dir)
    return out_dir


@pytest.fixture(scope="module")
def notes():
    return toy_notes(CODES, per_code=10, seed=0)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory, notes):
    return make_tiny_bert(tmp_path_factory.mktemp("bert"), [n["symptoms"] for n in notes] * 3)


def test_encoder_fine_tunes_and_ranks_codes(tiny_bert, notes):
    from medsyn.training.benchmark.classifiers import EncoderClassifier

    texts, codes = [n["symptoms"] for n in notes], [n["code"] for n in notes]
    model = EncoderClassifier(tiny_bert, seed=0, epochs=30, batch_size=8, learning_rate=3e-3, max_length=64)
    model.fit(texts, codes)
    predictions = model.predict_top_k(texts, k=3)
    assert all(len(p) == 3 and set(p) <= set(CODES) for p in predictions)
    accuracy = sum(p[0] == c for p, c in zip(predictions, codes)) / len(codes)
    assert accuracy >= 0.75  # 4 codes with distinct symptom words: chance is 25%
    # Seeded: the same fit gives the same scores (up to float noise of threaded CPU kernels).
    again = EncoderClassifier(tiny_bert, seed=0, epochs=30, batch_size=8, learning_rate=3e-3, max_length=64)
    np.testing.assert_allclose(again.fit(texts, codes).scores(texts), model.scores(texts), atol=1e-4)


def test_benchmark_runs_with_the_encoder(tiny_bert, notes, tmp_path):
    train = write_notes(tmp_path / "train.jsonl", notes)
    evaluation = write_notes(tmp_path / "eval.jsonl", toy_notes(CODES, per_code=3, seed=1))
    corpus = make_synthetic_corpus(tmp_path / "corpus", CODES, per_code=5)
    out = tmp_path / "out"
    code = cli(["benchmark", "--train", str(train), "--eval", str(evaluation), "--synthetic", str(corpus),
                "--classifier", "encoder", "--encoder", str(tiny_bert), "--epochs", "1", "--batch-size", "16",
                "--seeds", "1", "--ratios", "1", "--bootstrap", "20", "--out", str(out)])
    assert code == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert {e["classifier"] for e in results["settings"]} == {"encoder"}
    assert results["config"]["epochs"] == 1
    for entry in results["settings"]:
        path = out / entry["predictions"]
        assert path.parts[-6:-3] == ("predictions", "encoder", f"real{entry['real_fraction']:g}")
        assert len(path.read_text(encoding="utf-8").splitlines()) == 12


def test_encoder_needs_a_local_model(tmp_path, notes, capsys):
    train = write_notes(tmp_path / "train.jsonl", notes)
    corpus = make_synthetic_corpus(tmp_path / "corpus", CODES, per_code=2)
    args = ["benchmark", "--train", str(train), "--eval", str(train), "--synthetic", str(corpus),
            "--classifier", "encoder", "--out", str(tmp_path / "out")]
    assert cli(args) == 2
    assert "needs --encoder PATH" in capsys.readouterr().err
    assert cli(args + ["--encoder", str(tmp_path / "missing")]) == 2
    assert "no config.json" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
