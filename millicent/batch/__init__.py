"""The batch runner: a file of texts through a deployed function, resumably.

``millicent batch --input FILE --endpoint URL --out results.jsonl`` streams a user's file
through a classification function in batch requests::

    reader ──> batcher ──> sender (C requests in flight, retries) ──> ordered writer ──> journal
    iter_texts   N texts     {"sentences": [...]}                     one line per       fsync'd
    (blank and   per batch   429 / 5xx / no answer: jittered          input record,      checkpoints
    bad rows     (bounded    backoff to a deadline; a refused         in input order
    are Problems) window)    item → its error line, the rest resent

Modules: :mod:`.identity` (what input a job read), :mod:`.journal` (the job's arguments
and checkpoints), :mod:`.output` (the result file: append, checkpoint, recover after a
crash), :mod:`.lines` (result lines), :mod:`.outcome` (what an answer means), :mod:`.backoff`,
:mod:`.sender` (one request, and retries), :mod:`.tally` (counts and cost per text),
:mod:`.progress`, :mod:`.runner` (the pipeline).
"""
