"""Copy the run's stdout/stderr into ``out.txt``/``err.txt`` (DomainBed's ``Tee``, as a context)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["Tee", "tee_output"]


class Tee:
    """A stream writing to both ``stream`` and ``file`` (flushed at every write)."""

    def __init__(self, stream: IO[str], file: IO[str]) -> None:
        self.stream = stream
        self.file = file

    def write(self, message: str) -> int:
        self.stream.write(message)
        self.file.write(message)
        self.flush()
        return len(message)

    def flush(self) -> None:
        self.stream.flush()
        self.file.flush()

    def isatty(self) -> bool:
        return False  # a log file is never a terminal: no progress bars or colours in it

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, ... of the real stream
        return getattr(self.stream, name)


@contextlib.contextmanager
def tee_output(output_dir: Path) -> Iterator[tuple[IO[str], IO[str]]]:
    """Tee ``sys.stdout`` to ``out.txt`` and ``sys.stderr`` to ``err.txt`` (appending).

    Yields:
        The two log files, e.g. to write a traceback into ``err.txt`` only.
    """
    old_out, old_err = sys.stdout, sys.stderr
    with (
        open(output_dir / "out.txt", "a", encoding="utf-8") as out_file,
        open(output_dir / "err.txt", "a", encoding="utf-8") as err_file,
    ):
        sys.stdout, sys.stderr = Tee(old_out, out_file), Tee(old_err, err_file)
        try:
            yield out_file, err_file
        finally:
            sys.stdout, sys.stderr = old_out, old_err
