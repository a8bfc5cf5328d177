"""``millicent import vectors SOURCE --out DIR``: a table of word vectors as an ``embed`` model.

The artifact is a manifest and nothing else: kind ``mean_vectors`` (a text's embedding is
the mean of its known words' vectors, L2-normalised — sentence-transformers'
``average_word_embeddings_glove.6B.300d`` is this with GloVe 300-d), the vectors it reads
(``glove-50`` or a vector file: the store serves them, loaded with ``millicent embeddings
load DIR``) and the tokenizer that splits and keys its texts. The artifact is staged,
loaded by the runtime's own registry and run once before it is written to ``--out``.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from millicent.errors import ArtifactError, InvalidInput
from millicent.importer.staging import check_out, publish
from millicent.runtime.artifact import EmbeddingSpec, Manifest, TokenizerSpec, save_artifact
from millicent.runtime.registry import load_model
from millicent.runtime.roles import Embedder
from millicent.types import Role

#: the roles a table of vectors can play
TABLE_ROLES: tuple[Role, ...] = ("embed",)


@dataclass(frozen=True)
class VectorsImport:
    """What ``millicent import vectors`` was asked to do."""

    source: str  #: ``glove-50`` or a vector file
    out: Path
    role: str = "embed"
    tokenizer: str = "ptb"
    lowercase: bool = True
    normalize: bool = True
    name: str | None = None
    force: bool = False
    data_dir: Path | None = None
    command: str = ""  #: the command line, recorded in the manifest


def _embedding(opts: VectorsImport) -> EmbeddingSpec:
    """The source's spec (its dimension read from its first row); a file by its absolute
    path, so the artifact finds it wherever it is served."""
    from millicent.data.vectors import load_vectors

    first = load_vectors(opts.source, opts.data_dir, limit=1)
    if not len(first):
        raise InvalidInput(f"{opts.source} holds no vector")
    path = Path(opts.source).expanduser()
    source = str(path.resolve()) if path.is_file() else opts.source
    return EmbeddingSpec(dim=first.dim, source=source, variant="static", pretrained=source)


def _manifest(opts: VectorsImport, embedding: EmbeddingSpec) -> Manifest:
    name = opts.name or f"{Path(opts.source).name.split('.')[0]}-mean"
    return Manifest(
        kind="mean_vectors", role="embed", embedding=embedding,
        tokenizer=TokenizerSpec.of(opts.tokenizer, opts.lowercase), name=name,
        config={"pooling": "mean", "normalize": opts.normalize},
        training={"command": opts.command, "imported_from": embedding.source})


def import_vectors(opts: VectorsImport) -> Manifest:
    """Write the ``mean_vectors`` artifact of ``opts.source`` to ``opts.out``; its manifest."""
    if opts.role not in TABLE_ROLES:
        raise InvalidInput(f"--role must be one of {TABLE_ROLES} for a table of vectors, got {opts.role!r}")
    out = Path(opts.out)
    check_out(out, opts.force)
    manifest = _manifest(opts, _embedding(opts))
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.import-", dir=out.parent))
    try:
        save_artifact(stage, manifest, None)
        model = load_model(stage)  # the runtime's own loader: what serve and the function do
        if not isinstance(model, Embedder):
            raise ArtifactError(f"{stage}: the registry built a {type(model).__name__}")
        row = np.ones((1, model.dim), dtype=np.float32)
        if model.embed_batch([row], [model.encode("the")]).shape != (1, model.out_dim):
            raise ArtifactError(f"{stage}: the model answers the wrong shape")
        publish(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return manifest
