"""``millicent import hf``: a local Hugging Face encoder becomes a millicent artifact whose
token table stays in the model's safetensors and is served from the store.

Modules, in the order an import runs them: :mod:`.source` (what the directory holds,
refused before anything loads), :mod:`.load` (torch, offline, safetensors only),
:mod:`.table` (the table by digest), :mod:`.export` (ONNX without the table, or whole),
:mod:`.reference` / :mod:`.served` (torch vs the served artifact), :mod:`.checkset`,
:mod:`.quantize` and :mod:`.gate` (int8 kept only if it stays close to fp32),
:mod:`.manifest`, :mod:`.run` (:func:`~.run.import_hf`) and :mod:`.whole` (the baseline
with its table inside, :func:`~.whole.export_whole`).

Needs the ``hf`` extra (torch, transformers, safetensors, onnx, onnxscript, onnxruntime,
tokenizers); the served artifact needs only onnxruntime and tokenizers.
"""
