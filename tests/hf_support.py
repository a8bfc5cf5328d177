"""Tiny Hugging Face encoders made in the test: a WordPiece tokenizer built with the
``tokenizers`` library over a given word list, and a BERT (or DistilBERT) configuration
with random weights from a seeded generator, saved as safetensors — what ``train hf`` and
``import hf`` read, without pretrained weights or the network."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

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
