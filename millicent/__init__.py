"""millicent: NLP CNNs as pay-per-request serverless functions, embeddings in a key-value store.

The package is layered (imports point downwards only):

    cli/                                composition root (one module per verb)
    train/ importer/ bench/ deploy/ platform/ plan/ batch/   tooling (dev-time, offline)
    progress.py                         tooling: the one progress display
    torch_models/                       PyTorch networks (training and the torch baseline)
    data/                               datasets, the user's files, vector files, catalog
    runtime/                            ships in the function: manifest, tokenizers, model kinds, request edge, handler
    store/                              ships in the function: embedding stores, tiers (pack, LRU)
    errors.py types.py config.py jsonfile.py   base (stdlib only)
"""

__version__ = "0.1.0"
