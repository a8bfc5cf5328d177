"""``millicent import onnx``: a user's ONNX graph becomes a millicent artifact.

Steps, each refusing with a clear :class:`~millicent.errors.InvalidInput` (and writing
nothing: the artifact is staged in a temporary directory beside ``--out`` and renamed
into place only at the end):

1. read the file's declaration (:mod:`.graph`): a valid ONNX model, its external data
   files present;
2. the vectors: ``--vectors`` (a spec, default ``glove-50``) or ``--learned-table``; their
   dimension is the one the graph must take;
3. match the declared inputs and output to the contract (:mod:`.contract`);
4. load the graph in onnxruntime with the function's session options, run it once to see
   its output's width, check the labels against it;
5. stage the artifact (graph, external data, learned table, typed manifest), load it with
   the runtime's own registry and run it at every probe shape (:mod:`.probe`);
6. rename the staged directory to ``--out``.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from millicent.errors import ArtifactError, InvalidInput
from millicent.importer.contract import check_labels, declared_width, match_inputs, section_for
from millicent.importer.graph import GraphInfo, read_graph
from millicent.importer.probe import observe, probe, probe_feeds
from millicent.importer.staging import check_out, publish
from millicent.runtime.artifact import (
    LEARNED,
    EmbeddingSpec,
    Manifest,
    TokenizerSpec,
    read_table,
    save_artifact,
)
from millicent.runtime.onnx_model import OnnxClassifier, OnnxRanker, describe, open_session
from millicent.runtime.onnx_section import GRAPH_FILE, SECTION, TEXT_ROLES, OnnxSection
from millicent.runtime.registry import load_model


@dataclass(frozen=True)
class ImportOptions:
    """What ``millicent import onnx`` was asked to do."""

    #: the user's ONNX graph file
    model: Path
    role: str
    out: Path
    labels: tuple[str, ...] = ()
    #: the output's kind (logits | probabilities | score); None: by role and width
    outputs: str | None = None
    #: a vector spec (``glove-50``, a file); None with ``learned_table``
    vectors: str | None = None
    learned_table: Path | None = None
    tokenizer: str = "ptb"
    lowercase: bool = True
    name: str | None = None
    #: the dataset the model is for (``sst-2``, ``trecqa`` ...): ``eval`` and
    #: ``embeddings --vocab-from`` read it
    task: str = ""
    force: bool = False
    data_dir: Path | None = None
    #: the command line, recorded in the manifest
    command: str = ""


@dataclass
class Vectors:
    """The vectors the graph reads: their spec for the manifest and a learned table."""

    spec: EmbeddingSpec
    label: str
    table: tuple[list[str], np.ndarray] | None = None


@dataclass
class ImportResult:
    """The written artifact and what the import found."""

    path: Path
    manifest: Manifest
    tried: list[str] = field(default_factory=list)
    output_shape: tuple[int, ...] = ()
    files: dict[str, int] = field(default_factory=dict)


def resolve_vectors(opts: ImportOptions) -> Vectors:
    """The embedding spec of ``--vectors`` / ``--learned-table`` (dimension read from them)."""
    if opts.learned_table is not None:
        if opts.vectors is not None:
            raise InvalidInput("give --vectors or --learned-table, not both")
        words, matrix = read_table(Path(opts.learned_table))
        spec = EmbeddingSpec(dim=int(matrix.shape[1]), source=LEARNED, variant="learned",
                             pretrained=None, words=len(words))
        return Vectors(spec, f"the learned table {Path(opts.learned_table).name}", (words, matrix))
    from millicent.data.vectors import load_vectors

    name = opts.vectors or "glove-50"
    first = load_vectors(name, opts.data_dir, limit=1)  # one row: its dimension
    path = Path(name).expanduser()
    source = str(path.resolve()) if path.is_file() else name  # a file: wherever serve runs
    return Vectors(EmbeddingSpec(dim=first.dim, source=source, variant="static", pretrained=source),
                   name)


def _manifest(opts: ImportOptions, graph: GraphInfo, vectors: Vectors, section: OnnxSection) -> Manifest:
    return Manifest(
        kind="onnx", role="classify" if opts.role == "classify" else "rank",
        embedding=vectors.spec, labels=opts.labels,
        tokenizer=TokenizerSpec.of(opts.tokenizer, opts.lowercase),
        task=opts.task, name=opts.name or opts.model.stem,
        training={"command": opts.command, "imported_from": str(opts.model.resolve()),
                  "producer": graph.producer},
        sections={SECTION: section.to_dict()},
    )


def _stage(graph: GraphInfo, manifest: Manifest, vectors: Vectors,
           stage: Path) -> None:
    """Write the artifact into ``stage``: graph, external data files, learned table, manifest."""
    shutil.copyfile(graph.path, stage / GRAPH_FILE)
    for name in graph.external_data:
        if name == GRAPH_FILE:
            raise InvalidInput(f"{graph.path}: its external data file is called {GRAPH_FILE}, "
                               "the artifact's graph file name: rename it and re-export")
        target = stage / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(graph.path.parent / name, target)
    save_artifact(stage, manifest, None, embeddings=vectors.table)


def _width(opts: ImportOptions, graph: GraphInfo, inputs: dict[str, str], dim: int) -> tuple[
        int | None, tuple[int, ...]]:
    """The output's width (None for ``[batch]``) as the graph really answers, checked
    against its declaration and the labels."""
    if not graph.outputs:
        raise InvalidInput(f"{graph.path}: the graph has no output")
    declared = declared_width(graph.outputs[0], opts.role)
    try:
        session = open_session(graph.path)
    except ArtifactError as exc:
        raise InvalidInput(f"refused: {exc.message}") from exc
    shape = observe(session, inputs, opts.role, dim)
    width = shape[1] if len(shape) == 2 else None
    if len(shape) > 2 or (declared is not None and width != declared):
        raise InvalidInput(f"the graph declares output {graph.outputs[0].describe()} but answers "
                           f"shape {list(shape)} for 2 inputs")
    check_labels(opts.role, opts.labels, width, graph.outputs[0].name)
    return width, shape


@contextlib.contextmanager
def _naming(model: Path) -> Iterator[None]:
    """Prefix the graph's path to an InvalidInput that does not name it."""
    try:
        yield
    except InvalidInput as exc:
        if str(model) in exc.message:
            raise
        raise type(exc)(f"{model}: {exc.message}", **exc.details) from exc


def import_onnx(opts: ImportOptions) -> ImportResult:
    """Check ``opts.model`` against the contract, run it, and write the artifact to ``opts.out``."""
    if opts.role not in TEXT_ROLES:  # the roles an ONNX graph over word vectors plays
        raise InvalidInput(f"--role must be classify or rank, got {opts.role!r}")
    out = Path(opts.out)
    check_out(out, opts.force)
    graph = read_graph(opts.model)
    vectors = resolve_vectors(opts)
    dim = vectors.spec.dim
    with _naming(opts.model):  # what the graph's checks refuse is about this file
        inputs = match_inputs(graph, opts.role, dim, vectors.label)
        width, shape = _width(opts, graph, inputs, dim)
        section = section_for(graph, opts.role, dim, vectors.label, opts.outputs, width)
    section = replace(section, info=_info(graph, section, dim))
    manifest = _manifest(opts, graph, vectors, section)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.import-", dir=out.parent))
    try:
        _stage(graph, manifest, vectors, stage)
        model = load_model(stage)  # the runtime's own loader: what serve and the function do
        if not isinstance(model, OnnxClassifier | OnnxRanker):
            raise ArtifactError(f"{stage}: the registry built a {type(model).__name__}")
        tried = probe(model.graph, dim)
        files = {f.name: f.stat().st_size for f in sorted(stage.rglob("*")) if f.is_file()}
        publish(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return ImportResult(out, manifest, tried, shape, files)


def _info(graph: GraphInfo, section: OnnxSection, dim: int) -> dict[str, Any]:
    """Provenance for the manifest: the graph's digest and producer, the shapes it was run at."""
    return {"sha256": graph.sha256, "ir_version": graph.ir_version, "opset": graph.opset,
            "producer": graph.producer,
            "probed": [describe(f) for f in probe_feeds(section.role, section.lengths, dim)]}
