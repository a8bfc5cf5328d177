"""Start or resume a batch job: check the input and the journal, recover, run, report."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TextIO

from millicent.batch import vectors
from millicent.batch.identity import InputIdentity, identify
from millicent.batch.journal import Checkpoint, Journal
from millicent.batch.output import ResultFile, recover
from millicent.batch.runner import BatchJob, Results, blocks, cut, drive
from millicent.batch.summary import JobReport
from millicent.batch.tally import Tally
from millicent.data.files import infer_format, iter_texts
from millicent.economics.cost import CostOptions
from millicent.economics.prices import PriceSheet
from millicent.errors import ConfigError, DataError
from millicent.progress import Progress


def open_job(job: BatchJob, identity: InputIdentity, fmt: str) -> Journal:
    """The job's journal, checkpoint recovered from what the result file holds; a new
    journal (saved before the first result line) for a new job."""
    path = Journal.path_for(job.out)
    args = job.result_args(fmt)
    recovered = recover if job.output is None else vectors.recover
    if path.exists():
        journal = Journal.load(path)
        journal.refuse_other_job(identity, args)
        if not journal.complete:
            journal.checkpoint = recovered(job.out, journal.checkpoint)
        return journal
    if job.out.exists() and job.out.stat().st_size > 0:
        raise DataError(f"{job.out} exists and is no batch job's result file (there is no "
                        f"{path.name}); remove it or choose another --out")
    journal = Journal(path, identity, args)
    journal.save()
    journal.checkpoint = recovered(job.out, Checkpoint())
    return journal


def _check_paths(job: BatchJob) -> None:
    src = job.input.resolve()
    if src in (job.out.resolve(), Journal.path_for(job.out).resolve()):
        raise ConfigError("--out must not be the input file")
    if not job.out.parent.is_dir():
        raise ConfigError(f"--out {job.out}: no directory {job.out.parent}")


def _check_input(job: BatchJob, fmt: str) -> None:
    """The input's file-level faults — an encoding it cannot read, a header without the text
    column — before a journal or a result file is written (a rerun would not mend them)."""
    for _ in iter_texts(job.input, fmt, job.text_column):
        break


def run_job(job: BatchJob, prices: PriceSheet, options: CostOptions,
            err: TextIO | None = None) -> JobReport:
    """Run (or resume) ``job`` to its end; the report. KeyboardInterrupt when stopped by
    SIGINT / SIGTERM (checkpointed: running it again resumes)."""
    _check_paths(job)
    fmt = infer_format(job.input, job.fmt)
    identity = identify(job.input)
    _check_input(job, fmt)
    journal = open_job(job, identity, fmt)
    report = JobReport(identity.path, str(job.out), journal.checkpoint, journal.complete,
                       journal.sessions, already_complete=journal.complete)
    if journal.complete:
        _drop_working_rows(job)
        return report
    start = journal.checkpoint
    tally = Tally(prices, options)
    journal.sessions.append(tally.session(0.0, 0, 0, 0))
    journal.save()  # this run is on record even if it is killed before its first checkpoint
    results: Results = (ResultFile(job.out, start) if job.output is None
                        else vectors.VectorFile(job.out, start, vectors.width(start)))
    progress = Progress("batch", identity.lines, unit="lines", initial=start.last_line,
                        enabled=job.progress, stream=err)
    records = ((line, value) for line, value in
               iter_texts(job.input, fmt, job.text_column, blank_lines=True)
               if line > start.last_line)
    units = cut(records, job.batch_size) if job.output is None else blocks(records, job.block_lines)
    try:
        asyncio.run(drive(job, journal, results, tally, progress, units))
        if isinstance(results, vectors.VectorFile):
            _finish_vectors(job, results, fmt, journal)
    except asyncio.CancelledError:  # SIGTERM: checkpointed on the way out
        raise KeyboardInterrupt from None
    finally:
        results.close()
        progress.close()
        report.checkpoint = journal.checkpoint
    journal.complete = True
    journal.save()
    _drop_working_rows(job)
    report.complete = True
    return report


def _drop_working_rows(job: BatchJob) -> None:
    """A complete Parquet job's working rows (kept until the journal says complete, so a job
    killed while converting converts again)."""
    if job.output == "parquet":
        vectors.rows_path(job.out).unlink(missing_ok=True)


def _finish_vectors(job: BatchJob, results: vectors.VectorFile, fmt: str,
                    journal: Journal) -> None:
    """The header's final shape (rows that waited for a width written, checkpointed); a
    Parquet output written from the rows, with each record's input line (the working rows
    are dropped once the journal records the job complete)."""
    results.finish()
    journal.checkpoint = results.state
    journal.save()
    if job.output == "parquet":
        lines = [line for line, _ in iter_texts(job.input, fmt, job.text_column, blank_lines=True)]
        vectors.write_parquet(job.out, lines)


def job_report(out: Path) -> JobReport:
    """The report of a job from its journal alone (e.g. after it was interrupted)."""
    journal = Journal.load(Journal.path_for(out))
    return JobReport(journal.input.path, str(out), journal.checkpoint, journal.complete,
                     journal.sessions)
