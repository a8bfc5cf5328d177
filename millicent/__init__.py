"""millicent: NLP CNNs as pay-per-request serverless functions, embeddings in a key-value store.

The package is layered (imports point downwards only):

    cli/                                composition root
    train/ export/ bench/ deploy/ platform/   tooling (dev-time, offline)
    models/                             PyTorch models (training only)
    data/                               datasets, vectors, catalog
    runtime/                            ships in the function: artifacts, tokenizer, numpy CNNs, handler
    store/                              ships in the function: embedding stores, pack, LRU
    errors.py types.py config.py words.py   base (stdlib only)
"""

__version__ = "0.1.0"
