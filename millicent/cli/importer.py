"""``millicent import onnx MODEL.onnx --role classify|rank --out DIR ...``: bring your own
network; ``millicent import vectors SOURCE --role embed --out DIR``: a table of word vectors
as a sentence encoder (the mean of a text's word vectors); ``millicent import hf DIR --role
embed|classify|rank --out A``: a Hugging Face encoder, its token table in the store."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path
from typing import Any

from millicent import config
from millicent.cli._common import add_data_dir

DESCRIPTION = """\
Import a network exported to ONNX (e.g. torch.onnx.export) as a millicent artifact that
serve, invoke, bench, package, deploy and eval take like the built-in models. The graph
takes the embedded text(s), the word vectors stay in the store:

  classify  input float32 [batch, tokens, dim] (+ optional int64 [batch] lengths)
            output [batch, n_labels]: logits (default) or probabilities
  rank      inputs question, answer float32 [batch, tokens, dim] (+ optional int64 lengths
            of both); output [batch] / [batch, 1] score, or [batch, 2] logits/probabilities

Batch and token axes must be dynamic. The graph is run on zero inputs at 1 and 3 texts x
1, 2, 7 and 64 tokens before it is accepted; nothing is written unless every check passes.
"""


def register(subparsers: Any) -> None:
    """Add the ``import`` verb (``import onnx``)."""
    p = subparsers.add_parser("import", help="import a network of your own (ONNX) as an artifact",
                              description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    formats = p.add_subparsers(dest="import_format", metavar="FORMAT", required=True)
    onnx = formats.add_parser("onnx", help="an ONNX graph (.onnx, with its external data)",
                              description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    onnx.add_argument("model", metavar="MODEL.onnx", help="the graph (its external data beside it)")
    onnx.add_argument("--role", required=True, choices=("classify", "rank"))
    onnx.add_argument("--out", required=True, help="artifact directory to write")
    onnx.add_argument("--labels", default=None, metavar="A,B,...",
                      help="classify: one label per output column, in column order")
    onnx.add_argument("--outputs", default=None, choices=("logits", "probabilities", "score"),
                      help="what the output holds (default: logits; a one-column ranker: score)")
    vectors = onnx.add_mutually_exclusive_group()
    vectors.add_argument("--vectors", default=None, metavar="glove-50|PATH",
                         help="the pretrained vectors the graph reads (default glove-50)")
    vectors.add_argument("--learned-table", default=None, metavar="TABLE.npz",
                         help="the graph's own learned table (words + matrix), shipped in the "
                              "artifact and loaded into the store")
    onnx.add_argument("--tokenizer", default="ptb", choices=("ptb", "whitespace"))
    case = onnx.add_mutually_exclusive_group()
    case.add_argument("--lowercase", dest="lowercase", action="store_true", default=True,
                      help="lower-case tokens and vector keys (default)")
    case.add_argument("--no-lowercase", dest="lowercase", action="store_false",
                      help="keep the case (a cased model and cased vectors)")
    onnx.add_argument("--name", default=None, help="the model's name (default: the file's stem)")
    onnx.add_argument("--task", default="",
                      help="the dataset it is for (sst-1, sst-2, trecqa ...): eval and "
                           "embeddings --vocab-from use it")
    onnx.add_argument("--force", action="store_true", help="replace an existing --out artifact")
    add_data_dir(onnx)
    onnx.set_defaults(func=cmd_import_onnx)
    _register_vectors(formats)
    _register_hf(formats)


VECTORS_DESCRIPTION = """\
Make an embed model of a table of word vectors: a text's embedding is the mean of its known
words' vectors, L2-normalised (sentence-transformers' average_word_embeddings_glove.6B.300d
is this with GloVe 300-d). The artifact is a manifest naming the vectors and the tokenizer;
load the vectors into the store with `millicent embeddings load DIR --store URL`.
"""


def _register_vectors(formats: Any) -> None:
    """``import vectors``."""
    from millicent.tokenizers import TOKENIZERS

    p = formats.add_parser("vectors", help="a table of word vectors as an embed model (mean)",
                           description=VECTORS_DESCRIPTION,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", metavar="glove-50|PATH",
                   help="the vectors: glove-50 or a vector file (.txt, .txt.gz, .vec, .bin)")
    p.add_argument("--role", default="embed", choices=("embed",))
    p.add_argument("--out", required=True, help="artifact directory to write")
    p.add_argument("--tokenizer", default="ptb", choices=sorted(TOKENIZERS),
                   help="how texts are split and keyed (default ptb)")
    p.add_argument("--lowercase", action=argparse.BooleanOptionalAction, default=True,
                   help="lower-case tokens and vector keys (default: yes)")
    p.add_argument("--no-normalize", action="store_true",
                   help="answer the mean itself, not L2-normalised")
    p.add_argument("--name", default=None, help="the model's name (default: SOURCE-mean)")
    p.add_argument("--force", action="store_true", help="replace an existing --out artifact")
    add_data_dir(p)
    p.set_defaults(func=cmd_import_vectors)


def cmd_import_vectors(args: argparse.Namespace) -> int:
    from millicent.importer.vectors import VectorsImport, import_vectors

    words = ["millicent", "import", "vectors", args.source, "--role", args.role,
             "--out", str(args.out), "--tokenizer", args.tokenizer,
             "--lowercase" if args.lowercase else "--no-lowercase"]
    words += ["--no-normalize"] if args.no_normalize else []
    words += ["--name", args.name] if args.name else []
    manifest = import_vectors(VectorsImport(
        source=args.source, out=Path(args.out), role=args.role, tokenizer=args.tokenizer,
        lowercase=args.lowercase, normalize=not args.no_normalize, name=args.name,
        force=args.force, data_dir=config.data_dir(args.data_dir), command=shlex.join(words)))
    print(json.dumps({"artifact": str(args.out), "kind": manifest.kind, "role": manifest.role,
                      "name": manifest.name, "embedding": manifest.embedding.to_dict(),
                      "tokenizer": manifest.tokenizer.to_dict()}, indent=2))
    return 0


HF_DESCRIPTION = """\
Import a local Hugging Face encoder directory (BERT, MiniLM, DistilBERT, RoBERTa, XLM-R; a
sentence-transformers directory for embed) as a millicent artifact. Nothing is downloaded;
weights load from safetensors only (a pickled pytorch_model.bin, or a config asking for
remote code, is refused). The token-embedding table stays in the model's safetensors: it
is the artifact's vector source (named by its sha256) for embeddings load / pack, and the
artifact holds the rest of the network as ONNX (inputs_embeds + attention_mask [+
token_type_ids]) and the model's tokenizer.json.

  embed     pooled (mean / CLS ...) and normalised as the model's modules.json says
  classify  a sequence-classification head; labels from config.json's id2label
  rank      a cross-encoder: question and answer as one sequence; one logit (sigmoid)
            or two (the positive class second)

--quantize int8 keeps the smallest int8 graph whose served output stays close to fp32 on
1,000 texts (TrecQA raw-dev answers from the data directory, or --check-texts FILE):
embed mean cosine >= 0.99 and min >= 0.95; classify the same label on >= 99 %; rank MAP
within 0.01 (TrecQA raw-dev, or a pairs FILE). Nothing is written when a check fails.
"""


def _register_hf(formats: Any) -> None:
    hf = formats.add_parser("hf", help="a local Hugging Face encoder directory",
                            description=HF_DESCRIPTION,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    hf.add_argument("directory", metavar="DIR", help="the model directory (config.json, "
                    "model.safetensors, tokenizer.json)")
    hf.add_argument("--role", required=True, choices=("embed", "classify", "rank"))
    hf.add_argument("--out", required=True, help="artifact directory to write")
    hf.add_argument("--quantize", default=None, choices=("int8",),
                    help="int8 weights, kept only if the gate passes (figures in the manifest)")
    hf.add_argument("--check-texts", default=None, metavar="FILE",
                    help="the gate's texts (txt: one per line; csv/tsv/jsonl: a text column; "
                         "rank: a pairs file with question, answer, label[, qid])")
    hf.add_argument("--name", default=None, help="the model's name (default: the directory's)")
    hf.add_argument("--task", default="", help="the dataset it is for (eval, --vocab-from)")
    hf.add_argument("--force", action="store_true", help="replace an existing --out artifact")
    add_data_dir(hf)
    hf.set_defaults(func=cmd_import_hf)


def cmd_import_hf(args: argparse.Namespace) -> int:
    from millicent.importer.hf.run import import_hf

    words = ["millicent", "import", "hf", str(args.directory), "--role", args.role, "--out",
             str(args.out)]
    for name in ("quantize", "check_texts", "name", "task"):
        if getattr(args, name):
            words += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    # a directory or file that does not exist as given is looked up in the data directory
    # (as train does), so a recorded command repeats anywhere
    from millicent.cli.train import data_path

    directory = str(data_path(args.directory, args.data_dir))
    check_texts = data_path(args.check_texts, args.data_dir)
    result = import_hf(directory, args.role, args.out, quantize=args.quantize,
                       check_texts=check_texts, data_dir=config.data_dir(args.data_dir),
                       name=args.name or "", task=args.task, force=args.force,
                       command=shlex.join(words))
    m = result.manifest
    section = m.sections["transformer"]
    print(json.dumps({
        "artifact": str(result.path), "role": m.role, "name": m.name, "labels": list(m.labels),
        "tokenizer": m.tokenizer.to_dict(), "table": m.embedding.table,
        "inputs": section["inputs"], "pooling": section.get("pooling"),
        "normalize": section.get("normalize"), "precision": section["precision"],
        "parity": result.parity, "int8": section.get("quantization"), "files": result.files,
    }, indent=2))
    return 0


def _labels(text: str | None) -> tuple[str, ...]:
    if text is None:
        return ()
    return tuple(x.strip() for x in text.split(",") if x.strip())


def _command_line(args: argparse.Namespace) -> str:
    """The command with every option spelt out (recorded in the manifest)."""
    words = ["millicent", "import", "onnx", str(args.model), "--role", args.role, "--out", str(args.out)]
    for name in ("labels", "outputs", "vectors", "learned_table", "tokenizer", "name", "task"):
        value = getattr(args, name)
        if value:
            words += [f"--{name.replace('_', '-')}", str(value)]
    words.append("--lowercase" if args.lowercase else "--no-lowercase")
    return shlex.join(words)


def cmd_import_onnx(args: argparse.Namespace) -> int:
    from millicent.importer.onnx import ImportOptions, import_onnx

    opts = ImportOptions(
        model=Path(args.model), role=args.role, out=Path(args.out), labels=_labels(args.labels),
        outputs=args.outputs, vectors=args.vectors,
        learned_table=Path(args.learned_table) if args.learned_table else None,
        tokenizer=args.tokenizer, lowercase=args.lowercase, name=args.name, task=args.task,
        force=args.force, data_dir=config.data_dir(args.data_dir), command=_command_line(args),
    )
    result = import_onnx(opts)
    section = result.manifest.sections["onnx"]
    print(json.dumps({
        "artifact": str(result.path), "role": result.manifest.role, "name": result.manifest.name,
        "labels": list(result.manifest.labels), "embedding": result.manifest.embedding.to_dict(),
        "inputs": section["inputs"], "output": section["output"], "lengths": section["lengths"],
        "external_data": section["external_data"], "files": result.files,
        "probed": len(result.tried),
    }, indent=2))
    return 0
