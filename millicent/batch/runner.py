"""The batch job: input file → batches → the function, C at a time → ordered result file.

Memory is bounded whatever the input's size: the reader is a generator, and at most
``window`` batches (``2·C + 1``) exist at once — being sent, answered but waiting for an
earlier one, or being written. Results are written strictly in input order; a checkpoint
is recorded every ``checkpoint_s`` seconds, when the job ends, fails or is interrupted
(SIGINT, SIGTERM), and a SIGKILL loses nothing either (:mod:`.output`).
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from millicent.batch.backoff import Backoff
from millicent.batch.journal import Checkpoint, Journal
from millicent.batch.lines import answer_line, error_line, problem_line
from millicent.batch.outcome import Answered, Refused, Split
from millicent.batch.sender import Sender
from millicent.batch.tally import Tally
from millicent.batch.vectors import output_kind, vector_row
from millicent.data.files import Problem
from millicent.errors import ConfigError, MillicentError, missing_extra
from millicent.progress import Progress

#: a batch closes at ``batch_size`` texts, or at this many times as many records when
#: most of them are bad rows (which need no request), so a run of bad rows stays bounded
MAX_RECORDS_PER_TEXT = 4


@dataclass(frozen=True)
class BatchJob:
    """What ``millicent batch`` was asked to do."""

    input: Path
    out: Path
    endpoint: str
    function: str | None = None
    fmt: str | None = None
    text_column: str = "text"
    batch_size: int = 64
    #: an embedding job's blocks: input lines (k·N, (k+1)·N] sorted by length and cut into
    #: batches together, whatever the run (:func:`blocks`)
    block_lines: int = 1024
    concurrency: int = 4
    api_key: str | None = None
    timeout_s: float = 60.0
    retry_deadline_s: float = 300.0
    checkpoint_s: float = 1.0
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("batch_size", "concurrency", "block_lines"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be ≥ 1")
        if min(self.timeout_s, self.retry_deadline_s, self.checkpoint_s) <= 0:
            raise ConfigError("--timeout and --retry-deadline must be positive")
        if self.function is not None and ("/" in self.function.strip("/") or not self.function.strip("/")):
            raise ConfigError(f"--function must be a name without '/', got {self.function!r}")
        if not self.endpoint.startswith(("http://", "https://")):
            raise ConfigError(f"--endpoint must be an http(s) URL, got {self.endpoint!r}")

    @property
    def url(self) -> str:
        path = "/" + self.function.strip("/") if self.function else "/classify"
        return self.endpoint.rstrip("/") + path

    @property
    def output(self) -> str | None:
        """``npy`` / ``parquet`` for an embedding job's vectors, None for result lines."""
        return output_kind(self.out)

    def result_args(self, fmt: str) -> dict[str, Any]:
        """The arguments a resumed job must repeat (they decide what the lines say; an
        embedding job's vectors also depend on how the input was cut into batches)."""
        args: dict[str, Any] = {"endpoint": self.endpoint.rstrip("/"), "function": self.function,
                                "format": fmt, "text_column": self.text_column}
        if self.output is not None:
            args.update(output=self.output, batch_size=self.batch_size,
                        block_lines=self.block_lines)
        return args


@dataclass
class Entry:
    """One input record and, once known, its encoded result line."""

    line: int
    text: str | None
    result: bytes | None = None
    error: bool = False


def cut(items: Iterable[tuple[int, str | Problem]], size: int) -> Iterator[list[Entry]]:
    """Consecutive records in batches of ``size`` texts; a bad row is answered at once."""
    batch: list[Entry] = []
    texts = 0
    for line, value in items:
        if isinstance(value, Problem):
            batch.append(Entry(line, None, problem_line(line, value), error=True))
        else:
            batch.append(Entry(line, value))
            texts += 1
        if texts >= size or len(batch) >= MAX_RECORDS_PER_TEXT * size:
            yield batch
            batch, texts = [], 0
    if batch:
        yield batch


def blocks(items: Iterable[tuple[int, str | Problem]], lines: int) -> Iterator[list[Entry]]:
    """Records in blocks fixed by input line numbers: block ``k`` holds the records of lines
    ``(k·lines, (k+1)·lines]``, wherever a run starts — so a resumed embedding job cuts the
    same batches as an uninterrupted one (:meth:`Pipeline.resolve_block`)."""
    block: list[Entry] = []
    current = None
    for line, value in items:
        k = (line - 1) // lines
        if block and k != current:
            yield block
            block = []
        current = k
        block.append(Entry(line, None, problem_line(line, value), error=True)
                     if isinstance(value, Problem) else Entry(line, value))
    if block:
        yield block


def by_length(block: list[Entry], size: int) -> list[list[Entry]]:
    """A block's texts sorted by length (line number breaks ties) and cut into batches of
    ``size``: little padding, and the same batches every run."""
    todo = sorted((e for e in block if e.result is None), key=lambda e: (len(str(e.text)), e.line))
    return chunks(todo, size)


#: a batch and the future that answers it
Pending = tuple[list[Entry], "asyncio.Future[list[Entry]]"]


def chunks(part: list[Entry], size: int) -> list[list[Entry]]:
    return [part[i:i + size] for i in range(0, len(part), size)]


class Results(Protocol):
    """Where answered entries go, in input order (:class:`~.output.ResultFile`,
    :class:`~.vectors.VectorFile`)."""

    @property
    def state(self) -> Checkpoint: ...

    def append(self, line: int, encoded: bytes, error: bool) -> None: ...

    def sync(self) -> Checkpoint: ...

    def close(self) -> None: ...


@dataclass
class Pipeline:
    """The running job: :meth:`run` sends, writes and checkpoints until the input ends.

    A JSONL job's unit is a batch; an embedding job's (``job.output``) is a block, whose
    batches are sent together and which is written whole or not at all.
    """

    job: BatchJob
    sender: Sender
    results: Results
    journal: Journal
    tally: Tally
    progress: Progress
    start: Checkpoint
    #: the most texts per request: ``batch_size``, lowered when the function says so
    limit: int = 0
    t0: float = field(default_factory=time.monotonic)
    _synced: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.limit = self.limit or self.job.batch_size
        self.encode: Callable[[int, dict[str, Any]], bytes] = (
            answer_line if self.job.output is None else vector_row)

    async def resolve_block(self, block: list[Entry]) -> list[Entry]:
        """Every text of a block answered: its batches by length, C at a time."""
        await asyncio.gather(*(self.resolve(b) for b in by_length(block, self.job.batch_size)))
        return block

    async def resolve(self, batch: list[Entry]) -> list[Entry]:
        """Answer every text of ``batch``: its result or error line (see :mod:`.outcome`)."""
        parts = deque([[e for e in batch if e.result is None]])
        while parts:
            part = parts.popleft()
            if not part:  # a batch of bad rows only: nothing to send
                continue
            if len(part) > self.limit:
                parts.extendleft(reversed(chunks(part, self.limit)))
                continue
            try:
                outcome = await self.sender.answer([str(e.text) for e in part])
            except MillicentError as exc:
                where = f"input line {part[0].line}" if len(part) == 1 else \
                    f"input lines {part[0].line}–{part[-1].line}"
                raise type(exc)(f"{where}: {exc.message}", **exc.details) from exc
            self._apply(outcome, part, parts)
        return batch

    def _apply(self, outcome: Answered | Refused | Split, part: list[Entry],
               parts: deque[list[Entry]]) -> None:
        if isinstance(outcome, Answered):
            for e, result in zip(part, outcome.results, strict=True):
                e.result = self.encode(e.line, result)
        elif isinstance(outcome, Refused):
            bad = part[outcome.index]
            bad.result = error_line(bad.line, outcome.code, outcome.message, outcome.status)
            bad.error = True
            rest = part[:outcome.index] + part[outcome.index + 1:]
            if rest:
                parts.appendleft(rest)
        else:
            self.tally.splits += 1
            if outcome.limit is not None and outcome.limit < len(part):
                self.limit = min(self.limit, outcome.limit)
                parts.appendleft(part)  # cut to the function's limit on the next round
            else:
                half = len(part) // 2
                parts.extendleft([part[half:], part[:half]])

    async def run(self, batches: Iterator[list[Entry]]) -> None:
        """Send and write every batch (block); checkpoint however it ends."""
        window = 2 * self.job.concurrency + 1
        if self.job.output is not None:  # blocks of many batches each
            per_block = max(1, self.job.block_lines // self.job.batch_size)
            window = max(2, -(-window // per_block))
        queue: asyncio.Queue[Pending | None] = asyncio.Queue(maxsize=window)
        producer = asyncio.create_task(self._produce(batches, queue))
        try:
            while (item := await queue.get()) is not None:
                batch, answered = item
                try:
                    await answered
                except BaseException:
                    # the job stops at this batch: keep what it answered before the failure
                    # (an embedding job's block is redone whole: its batches are fixed)
                    if self.job.output is None:
                        self._write(list(itertools.takewhile(lambda e: e.result is not None,
                                                             batch)))
                    raise
                self._write(batch)
        finally:
            producer.cancel()
            while not queue.empty():
                if (rest := queue.get_nowait()) is not None:
                    rest[1].cancel()
            self.checkpoint()

    async def _produce(self, batches: Iterator[list[Entry]],
                       queue: asyncio.Queue[Pending | None]) -> None:
        try:
            resolve = self.resolve if self.job.output is None else self.resolve_block
            for batch in batches:
                await queue.put((batch, asyncio.ensure_future(resolve(batch))))
        except Exception as exc:  # a file-level fault of the input: the writer raises it
            failed: asyncio.Future[list[Entry]] = asyncio.get_running_loop().create_future()
            failed.set_exception(exc)
            await queue.put(([], failed))
            return
        await queue.put(None)

    def _write(self, batch: list[Entry]) -> None:
        for e in batch:
            if e.result is None:  # resolve() answers every entry or raises
                raise MillicentError(f"input line {e.line} has no result (a bug in millicent batch)")
            self.results.append(e.line, e.result, e.error)
        st = self.results.state
        self.progress.update_to(st.last_line, errors=st.errors, retries=self.tally.retries)
        if time.monotonic() - self._synced >= self.job.checkpoint_s:
            self.checkpoint()

    def checkpoint(self) -> None:
        """fsync the result lines, then record them (and this session) in the journal."""
        self.journal.checkpoint = self.results.sync()
        st, s0 = self.journal.checkpoint, self.start
        self.journal.sessions[-1] = self.tally.session(
            time.monotonic() - self.t0, st.records - s0.records, st.ok - s0.ok,
            st.errors - s0.errors)
        self.journal.save()
        self._synced = time.monotonic()


async def drive(job: BatchJob, journal: Journal, results: Results, tally: Tally,
                progress: Progress, batches: Iterator[list[Entry]]) -> None:
    """Run the job after ``journal``'s checkpoint over an HTTP session of C connections;
    SIGTERM stops it as cleanly as SIGINT (checkpointed)."""
    try:
        import aiohttp
    except ImportError as exc:  # pragma: no cover - aiohttp is in the batch extra
        raise missing_extra("aiohttp", "batch") from exc
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    if task is not None:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    headers = {"x-api-key": job.api_key} if job.api_key else {}
    connector = aiohttp.TCPConnector(limit=job.concurrency, limit_per_host=job.concurrency)
    try:
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
            sender = Sender(session, job.url, asyncio.Semaphore(job.concurrency),
                            Backoff(deadline_s=job.retry_deadline_s), tally, job.timeout_s)
            pipeline = Pipeline(job, sender, results, journal, tally, progress, journal.checkpoint)
            await pipeline.run(batches)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
