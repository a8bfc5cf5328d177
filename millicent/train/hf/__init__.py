"""Fine-tune a Hugging Face encoder on the user's files (``millicent train hf``).

Modules, in the order a run uses them:

* :mod:`.options` — :class:`HFOptions`, everything that determines a run, and its identity
  (what a rerun must repeat to resume).
* :mod:`.base` — the base model directory: checked (safetensors only, no remote code, a
  ``tokenizer.json``), then loaded offline with a fresh classification head.
* :mod:`.outdir` — the ``--out`` directory's claim: a new run, the same command resumed,
  or another command refused with the reason.
* :mod:`.encode` — texts and question/answer pairs as token ids and token types, with the
  ``tokenizer.json`` the served model will run.
* :mod:`.batches` — length-bucketed batches, a pure function of (seed, epoch).
* :mod:`.checkpoint` — atomic checkpoints (model, optimizer, scheduler, RNG, position).
* :mod:`.fit` — the loop: steps, checkpoints, the dev score per epoch, the best epoch kept.
* :mod:`.scores` — the metrics of the model in torch, with the project's metric functions.
* :mod:`.output` — the fine-tuned model as a Hugging Face directory, the training record,
  and where the conversion to a servable artifact goes.
* :mod:`.run` — :func:`train_hf`, which puts them together.

Tooling layer: imports torch, transformers, tokenizers and safetensors (the ``train``
extra); nothing of the function imports it.
"""
