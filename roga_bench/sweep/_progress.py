"""Sweep progress: one tqdm line (jobs done / total, ETA) on a terminal, plain lines otherwise.

Off a terminal (a log file, CI, nohup) every job end prints one line with the count, the job,
its outcome, the elapsed time and an ETA from the mean wall time per finished job so far.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from roga_bench.sweep._jobs import Job
from roga_bench.sweep._run import JobOutcome

__all__ = ["Progress", "format_seconds"]


def format_seconds(seconds: float) -> str:
    """``1h02m03s`` / ``2m03s`` / ``3s``."""
    s = int(round(max(0.0, seconds)))
    h, m, s = s // 3600, s // 60 % 60, s % 60
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class Progress:
    """Counts finished jobs of a launch; a context manager that closes the tqdm bar."""

    def __init__(self, total: int, stream: IO[str] | None = None) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.time()
        self.bar: Any = None
        if getattr(self.stream, "isatty", lambda: False)():
            from tqdm import tqdm

            self.bar = tqdm(total=total, file=self.stream, unit="job", dynamic_ncols=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()

    def started(self, job: Job) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(f"{job.train_args['algorithm']} {job.name[:8]}", False)

    def eta(self) -> float | None:
        """Seconds left at the mean wall time per finished job (None before the first)."""
        if not self.done:
            return None
        return (time.time() - self.start) / self.done * (self.total - self.done)

    def finished(self, outcome: JobOutcome) -> None:
        self.done += 1
        self.failed += outcome.status == "failed"
        if self.bar is not None:
            self.bar.update(1)
            if outcome.status != "ok":
                self.bar.write(f"{outcome.status}: {outcome.message.splitlines()[0]}")
            return
        eta = self.eta()
        line = (
            f"[{self.done}/{self.total}] {outcome.status}: {outcome.job.describe()} "
            f"({outcome.job.name}); elapsed {format_seconds(time.time() - self.start)}, "
            f"ETA {format_seconds(eta) if eta is not None else '?'}"
        )
        if outcome.status != "ok":
            line += f"\n    {outcome.message.splitlines()[0]}"
        print(line, file=self.stream, flush=True)
