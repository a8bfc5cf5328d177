"""Tiny Hugging Face model directories made in the test: random seeded weights saved with
``save_pretrained(safe_serialization=True)``, and real ``tokenizers`` tokenizers made here
(a WordPiece one for BERT / DistilBERT over a vocabulary built from a word list, a
byte-level BPE one for RoBERTa trained on a small corpus), saved as ``tokenizer.json``
through ``transformers``.

No pretrained weights: parity with torch does not need a trained model. Weights are drawn
with a larger spread than ``transformers``' default (0.02) so texts get visibly different
outputs (a classifier's labels are not all near-ties).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

HIDDEN, LAYERS, HEADS, INTERMEDIATE, POSITIONS = 32, 2, 4, 64, 64
SPREAD = 0.15

WORDS = [
    "the", "a", "an", "of", "to", "and", "in", "is", "was", "it", "that", "film", "movie",
    "story", "good", "bad", "great", "terrible", "actor", "actress", "plot", "charming",
    "boring", "journey", "river", "bank", "who", "what", "where", "when", "why", "wrote",
    "hamlet", "shakespeare", "play", "question", "answer", "tower", "paris", "metres", "tall",
    "completed", "café", "crème", "brûlée", "naïve", "zoë", "東京", "日本", "首都", "pizza", "fun",
    "long", "very", "often", "affecting", "don't", "stop", "believing", "1,000", "3.5",
    "u.s.", "mr.", "it's", "(really)", "—", "…", "🍕", "❤️", "👍🏽"
]

#: varied strings: accents, CJK, emoji, punctuation, unknown words, a very long text
VARIED = [
    "It's a charming, often affecting journey.", "Héllo wörld — café crème brûlée!",
    "東京は日本の首都です。", "I ❤️ 🍕 pizza 👍🏽 (really)", "who wrote hamlet ?", "",
    "   ", "Zoë's naïve façade", "xyzzyqux plugh frobnicate", "ÅNGSTRÖM ΑΒΓ абв",
    "tab\tseparated\nlines\r\nhere", "don't stop-believing 1,000% u.s. mr. smith",
    "a " + "very " * 200 + "long text", "the " * 70, "مرحبا بالعالم", "\u200bzero\u200dwidth",
]


def corpus(n: int = 400) -> list[str]:
    """Deterministic sentences over :data:`WORDS`."""
    import random

    rng = random.Random(7)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14))) for _ in range(n)]


def wordpiece_tokenizer(directory: Path) -> Any:
    """A BERT-style (uncased WordPiece) tokenizer saved in ``directory``; returns it.

    The vocabulary is built here, deterministically (the library's trainer breaks ties in
    hash order, so two trainings may differ): the special tokens, the words of
    :data:`WORDS` as BERT's normalizer and pre-tokenizer split them, every character alone
    and as a continuation (``##x``), and a few suffixes.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    normalizer = normalizers.BertNormalizer(lowercase=True)
    pieces = {w for text in WORDS for w, _ in pre_tokenizers.BertPreTokenizer()
              .pre_tokenize_str(normalizer.normalize_str(text))}
    chars = {c for p in pieces for c in p} | set("abcdefghijklmnopqrstuvwxyz0123456789")
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens = specials + sorted(pieces | chars | {"##" + c for c in chars}
                               | {"##ly", "##s", "##ing", "##ed", "##er", "##ean", "##ful"})
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(tokens)}, unk_token="[UNK]"))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    # as published files do: padding and truncation fixed (the importer must ignore them)
    tok.enable_truncation(16)
    tok.enable_padding(length=16, pad_id=0, pad_token="[PAD]")
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    fast.save_pretrained(directory)
    return fast


def bpe_tokenizer(directory: Path, vocab_size: int = 400) -> Any:
    """A RoBERTa-style (byte-level BPE) tokenizer saved in ``directory``; returns it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok.train_from_iterator(corpus(), trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                   sep_token="</s>", cls_token="<s>", unk_token="<unk>",
                                   pad_token="<pad>", mask_token="<mask>")
    fast.save_pretrained(directory)
    return fast


def _spread(model: Any, seed: int) -> Any:
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name:
                continue
            p.copy_(torch.randn(p.shape, generator=gen) * SPREAD)
    return model.eval()


def save_model(model: Any, directory: Path, seed: int = 0) -> Path:
    """Seeded weights, saved as safetensors."""
    _spread(model, seed).save_pretrained(directory, safe_serialization=True)
    return directory


def sentence_transformers_files(directory: Path, pooling: str = "mean", normalize: bool = True,
                                max_seq_length: int = 48) -> None:
    """modules.json, 1_Pooling/config.json and sentence_bert_config.json, as
    sentence-transformers writes them."""
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize",
                        "type": "sentence_transformers.models.Normalize"})
    (directory / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    (directory / "1_Pooling").mkdir(exist_ok=True)
    flags = {"word_embedding_dimension": HIDDEN, "pooling_mode_cls_token": pooling == "cls",
             "pooling_mode_mean_tokens": pooling == "mean", "pooling_mode_max_tokens": pooling == "max",
             "pooling_mode_mean_sqrt_len_tokens": pooling == "mean_sqrt_len"}
    (directory / "1_Pooling" / "config.json").write_text(json.dumps(flags), encoding="utf-8")
    (directory / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": max_seq_length, "do_lower_case": False}), encoding="utf-8")


def bert_dir(directory: Path, head: str = "base", labels: int = 3, seed: int = 0,
             st: bool = True) -> Path:
    """A tiny BERT: ``head`` base (+ sentence-transformers files when ``st``), ``classify``
    (``labels`` labels named) or ``rank`` (one logit)."""
    from transformers import BertConfig, BertForSequenceClassification, BertModel

    directory.mkdir(parents=True, exist_ok=True)
    tok = wordpiece_tokenizer(directory)
    kw: dict[str, Any] = {}
    if head == "classify":
        kw = {"num_labels": labels, "id2label": {i: f"label-{i}" for i in range(labels)}}
    elif head == "rank":
        kw = {"num_labels": 1}
    config = BertConfig(vocab_size=len(tok), hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                        num_attention_heads=HEADS, intermediate_size=INTERMEDIATE,
                        max_position_embeddings=POSITIONS, **kw)
    model = BertModel(config) if head == "base" else BertForSequenceClassification(config)
    save_model(model, directory, seed)
    if head == "base" and st:
        sentence_transformers_files(directory)
    return directory


def distilbert_dir(directory: Path, labels: int = 2, seed: int = 1) -> Path:
    """A tiny DistilBERT sequence classifier."""
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    directory.mkdir(parents=True, exist_ok=True)
    tok = wordpiece_tokenizer(directory)
    config = DistilBertConfig(vocab_size=len(tok), dim=HIDDEN, n_layers=LAYERS, n_heads=HEADS,
                              hidden_dim=INTERMEDIATE, max_position_embeddings=POSITIONS,
                              num_labels=labels,
                              id2label={i: ["negative", "positive", "neutral"][i] for i in range(labels)})
    save_model(DistilBertForSequenceClassification(config), directory, seed)
    return directory


def roberta_dir(directory: Path, head: str = "base", seed: int = 2, xlmr: bool = False) -> Path:
    """A tiny RoBERTa (or, ``xlmr``, XLM-R: the same network under its own model type):
    ``base`` (embed, CLS pooling), ``rank`` (two logits) or ``classify`` (three labels)."""
    import transformers as tf

    prefix = "XLMRoberta" if xlmr else "Roberta"
    directory.mkdir(parents=True, exist_ok=True)
    tok = bpe_tokenizer(directory)
    labels = 3 if head == "classify" else 2
    config = getattr(tf, f"{prefix}Config")(
        vocab_size=len(tok), hidden_size=HIDDEN, num_hidden_layers=LAYERS,
        num_attention_heads=HEADS, intermediate_size=INTERMEDIATE,
        max_position_embeddings=POSITIONS + 2, pad_token_id=1, bos_token_id=0, eos_token_id=2,
        type_vocab_size=1, num_labels=labels, id2label={i: f"c{i}" for i in range(labels)})
    if head == "base":
        save_model(getattr(tf, f"{prefix}Model")(config), directory, seed)
        sentence_transformers_files(directory, pooling="cls", normalize=False, max_seq_length=60)
    else:
        save_model(getattr(tf, f"{prefix}ForSequenceClassification")(config), directory, seed)
    return directory


# Tiny encoders over a given word list, as train hf's tests use them.
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SUFFIXES = ["##s", "##ing", "##ed", "##ly", "##er"]


def wordpiece(directory: Path, words: Iterable[str]) -> list[str]:
    """Write ``tokenizer.json`` (BERT-style: lower-casing, [CLS] A [SEP] B [SEP] with token
    types), ``vocab.txt``, ``tokenizer_config.json`` and ``special_tokens_map.json``;
    returns the vocabulary in id order."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = list(dict.fromkeys([*SPECIAL, *sorted({w.lower() for w in words}), *SUFFIXES]))
    ids = {token: i for i, token in enumerate(vocab)}
    tok = Tokenizer(models.WordPiece(ids, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])])
    tok.decoder = decoders.WordPiece()
    directory.mkdir(parents=True, exist_ok=True)
    tok.save(str(directory / "tokenizer.json"))
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    (directory / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 512}))
    (directory / "special_tokens_map.json").write_text(json.dumps(
        {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
         "mask_token": "[MASK]"}))
    return vocab


def tiny_bert(directory: Path, words: Iterable[str], seed: int = 0, hidden: int = 64,
              kind: str = "bert") -> Path:
    """A 2-layer BERT (or DistilBERT) with random seeded weights and a WordPiece tokenizer
    over ``words``, saved in ``directory`` (safetensors); returns the directory."""
    import torch
    from transformers import BertConfig, BertModel, DistilBertConfig, DistilBertModel

    vocab = wordpiece(directory, words)
    torch.manual_seed(seed)
    if kind == "distilbert":
        model = DistilBertModel(DistilBertConfig(
            vocab_size=len(vocab), dim=hidden, n_layers=2, n_heads=2, hidden_dim=2 * hidden,
            max_position_embeddings=64, pad_token_id=0))
    else:
        model = BertModel(BertConfig(
            vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=2 * hidden, max_position_embeddings=64, type_vocab_size=2,
            pad_token_id=0))
    model.save_pretrained(directory)
    return directory
