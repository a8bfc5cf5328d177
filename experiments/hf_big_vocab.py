"""Beyond what fits in a zip (issue 21, item 5): a BERT with a 250,000-token vocabulary
(random weights; MiniLM's shape: hidden 384, 6 layers, 12 heads, FFN 1536 — the table
alone is 250,000 × 384 × 4 B = 384 MB, past Lambda's 250 MB unzipped limit) imported with
``millicent import hf``, packaged with its table in DynamoDB (dynalite), served on the
local platform; its Max Memory Used against the whole model in onnxruntime.

Steps (each timed; the model, artifact and whole export are kept in ``--work``):

1. build the model with ``transformers`` (seeded random weights, the default init) and a
   WordPiece ``tokenizer.json``: all-MiniLM-L6-v2's 30,522 tokens (so English text meets
   real word pieces), then ``w000000``-style filler up to the vocabulary size; the
   sentence-transformers files (mean pooling, normalised) — an ``embed`` model;
2. ``millicent import hf DIR --role embed --out A`` (the real CLI; fp32);
3. the token table into dynalite (float16 rows, the store's own loader) and a float16
   pack of its ``--pack-top`` most frequent tokens;
4. ``millicent package --via-s3`` (the real CLI; ``deploy`` uploads through S3, so the
   limit is Lambda's 250 MB unzipped) with the pack: the zip's sizes, checked to hold no
   table;
5. ``millicent serve`` with the DynamoDB store and the pack (``--memory-mb`` enforced),
   ``--requests`` ``/embed`` bodies of one SST sentence: the REPORT's Max Memory Used;
6. the whole model (``importer.hf.whole.export_whole``: the table inside, token ids in)
   served the same ``--requests`` in a fresh process by onnxruntime + tokenizers (the
   child of ``hf_memory.py``): its peak RSS (VmHWM — what Max Memory Used reads) and
   the size of its graph (it cannot ship as a zip: past 250 MB unzipped).

    python experiments/hf_big_vocab.py --work /tmp/big --out runs/hf_big_vocab.json
    python experiments/hf_big_vocab.py --short --work DIR   # what the test runs: 4,000
        tokens, hidden 32, 2 layers, 5 requests
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "experiments"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
MINILM_VOCAB = "models/all-MiniLM-L6-v2/vocab.txt"
MB = 2**20


def vocabulary(size: int, data_dir: Path) -> list[str]:
    """all-MiniLM-L6-v2's tokens (as many as fit), then filler tokens up to ``size``."""
    base = (data_dir / MINILM_VOCAB).read_text(encoding="utf-8").splitlines()[:size]
    filler = (f"w{i:06d}" if i % 2 else f"##w{i:06d}" for i in range(size))
    seen = set(base)
    out = list(base)
    for t in filler:
        if len(out) >= size:
            break
        if t not in seen:
            out.append(t)
    return out


def build(directory: Path, size: int, shape: dict[str, int], data_dir: Path) -> Path:
    """The model directory: safetensors weights, tokenizer.json, sentence-transformers files."""
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    vocab = vocabulary(size, data_dir)
    ids = {t: i for i, t in enumerate(vocab)}
    tok = Tokenizer(models.WordPiece(ids, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])])
    directory.mkdir(parents=True, exist_ok=True)
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                            cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]"
                            ).save_pretrained(directory)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=shape["hidden"],
                        num_hidden_layers=shape["layers"], num_attention_heads=shape["heads"],
                        intermediate_size=shape["intermediate"], max_position_embeddings=512)
    BertModel(config).eval().save_pretrained(directory, safe_serialization=True)
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]
    (directory / "modules.json").write_text(json.dumps(modules))
    (directory / "1_Pooling").mkdir(exist_ok=True)
    (directory / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": shape["hidden"], "pooling_mode_mean_tokens": True}))
    (directory / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 256}))
    return directory


def cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "millicent.cli.main", *args], cwd=REPO,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"millicent {' '.join(args[:2])}: {done.stderr[-2000:]}")
    return done.stdout


def load_dynalite(artifact: Path, endpoint: str, data_dir: Path, pack: Path, top: int) -> str:
    """The token table into dynalite (float16) and a float16 pack of its ``top`` most
    frequent tokens; the store URL."""
    from millicent.data.token_table import token_table
    from millicent.runtime.artifact import vectors_source
    from millicent.store import open_store
    from millicent.store.loader import load_store
    from millicent.store.pack import write_pack

    source = vectors_source(artifact)
    vectors = token_table(source, data_dir)  # most frequent first
    url = f"dynamodb://{source.slug}?endpoint={endpoint}&region=us-east-1"
    with open_store(url) as store:
        load_store(store, vectors.words, vectors.matrix, source=source.label, distinct=True,
                   dtype="float16", progress=False)
    write_pack(pack, vectors.words[:top], vectors.matrix[:top], source=source.label,
               dtype="float16", by="wordfreq tokens")
    return url


def package(artifact: Path, pack: Path, out: Path, wheel_dir: str | None) -> dict[str, Any]:
    """``millicent package`` (the real CLI); the report's sizes, and what the zip holds."""
    cli("package", "--model", f"big={artifact}", "--pack", str(pack), "--out", str(out), "--via-s3",
        *(["--wheel-dir", wheel_dir] if wheel_dir else []))
    (report,) = out.glob("millicent-function-*.json")
    sizes = json.loads(report.read_text())["sizes"]
    (zip_path,) = out.glob("millicent-function-*.zip")
    names = zipfile.ZipFile(zip_path).namelist()
    return {"zipped_mb": round(sizes["zipped_bytes"] / MB, 2),
            "unzipped_mb": round(sizes["unzipped_bytes"] / MB, 2),
            "artifact_files": sorted(n for n in names if n.startswith("artifacts/")),
            "table_inside": any(n.endswith((".safetensors", ".npz", ".npy")) for n in names)}


def whole_peak(source: Path, out: Path, texts: Path, requests: int) -> dict[str, Any]:
    """The whole model exported (fp32) and served in a fresh process: its peak RSS."""
    from hf_memory import child  # type: ignore[import-not-found]

    from millicent.importer.hf.whole import export_whole

    if not (out / "model.onnx").exists():
        export_whole(source, "embed", out)
    graph = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    got: dict[str, Any] = child("whole", out, {"store": "", "texts": texts}, 1, requests)
    return {**got, "files_mb": round(graph / MB, 1)}


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from hf_serve_memory import memory_run, texts  # type: ignore[import-not-found]

    from millicent.testing import loopback

    shape = ({"hidden": 32, "layers": 2, "heads": 4, "intermediate": 64} if args.short else
             {"hidden": 384, "layers": 6, "heads": 12, "intermediate": 1536})
    out: dict[str, Any] = {"vocab": args.vocab, **shape, "seconds": {}}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        out["seconds"][name] = round(time.perf_counter() - clock, 1)
        clock = time.perf_counter()

    source, artifact = work / "model", work / "artifact"
    if not (source / "model.safetensors").exists():
        build(source, args.vocab, shape, args.data_dir)
    out["safetensors_mb"] = round((source / "model.safetensors").stat().st_size / MB, 1)
    lap("build")
    if not (artifact / "manifest.json").exists():
        cli("import", "hf", str(source), "--role", "embed", "--out", str(artifact),
            "--data-dir", str(args.data_dir))
    out["artifact_mb"] = round(sum(f.stat().st_size for f in artifact.iterdir()) / MB, 1)
    lap("import hf")
    sentences = texts(args.data_dir)
    (work / "texts.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    dynalite = loopback.start_dynalite()
    try:
        url = load_dynalite(artifact, dynalite.endpoint, args.data_dir, work / "top.pack", args.pack_top)
        lap("table into dynalite")
        out["package"] = package(artifact, work / "top.pack", work / "dist", args.wheel_dir)
        lap("package")
        out["millicent"] = memory_run(artifact, url, str(work / "top.pack"), 1, args.memory_mb,
                                      sentences, args.requests, work / "serve-log")
        lap("serve")
    finally:
        dynalite.stop()
    out["whole"] = whole_peak(source, work / "whole", work / "texts.txt", args.requests)
    lap("whole")
    out["ratio_whole_over_millicent"] = round(
        out["whole"]["peak_rss_mb"] / out["millicent"]["max_memory_used_mb"], 2)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--vocab", type=int, default=250_000)
    p.add_argument("--requests", type=int, default=100)
    p.add_argument("--pack-top", type=int, default=2000)
    p.add_argument("--memory-mb", type=int, default=256, help="the function's Memory Size (enforced)")
    p.add_argument("--work", type=Path, default=None)
    p.add_argument("--wheel-dir", default=os.environ.get("MILLICENT_WHEEL_DIR"))
    p.add_argument("--data-dir", type=Path, default=Path(os.environ.get("MILLICENT_DATA_DIR", "../shared/data")))
    p.add_argument("--short", action="store_true", help="4,000 tokens, hidden 32, 2 layers, 5 requests")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.short:
        args.vocab, args.requests, args.pack_top = min(args.vocab, 4000), 5, 200
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")  # dynalite: any credentials sign
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    with tempfile.TemporaryDirectory(prefix="hf-big-vocab-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        result = run(args, work)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
