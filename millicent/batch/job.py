"""Start or resume a batch job: check the input and the journal, recover, run, report."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TextIO

from millicent.batch.identity import InputIdentity, identify
from millicent.batch.journal import Checkpoint, Journal
from millicent.batch.output import ResultFile, recover
from millicent.batch.runner import BatchJob, cut, drive
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
    if path.exists():
        journal = Journal.load(path)
        journal.refuse_other_job(identity, args)
        journal.checkpoint = recover(job.out, journal.checkpoint)
        return journal
    if job.out.exists() and job.out.stat().st_size > 0:
        raise DataError(f"{job.out} exists and is no batch job's result file (there is no "
                        f"{path.name}); remove it or choose another --out")
    journal = Journal(path, identity, args)
    journal.save()
    journal.checkpoint = recover(job.out, Checkpoint())
    return journal


def _check_paths(job: BatchJob) -> None:
    src = job.input.resolve()
    if src in (job.out.resolve(), Journal.path_for(job.out).resolve()):
        raise ConfigError("--out must not be the input file")
    if not job.out.parent.is_dir():
        raise ConfigError(f"--out {job.out}: no directory {job.out.parent}")


def run_job(job: BatchJob, prices: PriceSheet, options: CostOptions,
            err: TextIO | None = None) -> JobReport:
    """Run (or resume) ``job`` to its end; the report. KeyboardInterrupt when stopped by
    SIGINT / SIGTERM (checkpointed: running it again resumes)."""
    _check_paths(job)
    fmt = infer_format(job.input, job.fmt)
    identity = identify(job.input)
    journal = open_job(job, identity, fmt)
    report = JobReport(identity.path, str(job.out), journal.checkpoint, journal.complete,
                       journal.sessions, already_complete=journal.complete)
    if journal.complete:
        return report
    start = journal.checkpoint
    tally = Tally(prices, options)
    journal.sessions.append(tally.session(0.0, 0, 0, 0))
    journal.save()  # this run is on record even if it is killed before its first checkpoint
    results = ResultFile(job.out, start)
    progress = Progress("batch", identity.lines, unit="lines", initial=start.last_line,
                        enabled=job.progress, stream=err)
    records = ((line, value) for line, value in
               iter_texts(job.input, fmt, job.text_column, blank_lines=True)
               if line > start.last_line)
    try:
        asyncio.run(drive(job, journal, results, tally, progress, cut(records, job.batch_size)))
    except asyncio.CancelledError:  # SIGTERM: checkpointed on the way out
        raise KeyboardInterrupt from None
    finally:
        results.close()
        progress.close()
        report.checkpoint = journal.checkpoint
    journal.complete = True
    journal.save()
    report.complete = True
    return report


def job_report(out: Path) -> JobReport:
    """The report of a job from its journal alone (e.g. after it was interrupted)."""
    journal = Journal.load(Journal.path_for(out))
    return JobReport(journal.input.path, str(out), journal.checkpoint, journal.complete,
                     journal.sessions)
