"""One lock per job folder, so two launchers never run the same job at once.

``<job>/.lock`` is held with ``fcntl.flock`` for as long as the job runs, and holds the pid of
the holder for messages. A job's child process inherits the lock's descriptor, so the job stays
locked while it runs even if its launcher is killed. The kernel drops a flock once every process
holding it has exited, so a crash never leaves a stale lock behind (the file stays; only the
flock matters). flock is advisory and works on local disks and on most cluster file systems
(NFSv4, Lustre with ``flock`` mounts).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from roga_bench.records import LOCK_NAME

__all__ = ["LOCK_NAME", "JobLocked", "job_lock", "lock_holder"]


class JobLocked(RuntimeError):
    """The job is being run by another live process."""

    def __init__(self, job_dir: Path, pid: str) -> None:
        super().__init__(f"{job_dir}: locked by live process {pid}; skipping it")
        self.job_dir = job_dir
        self.pid = pid


def _read_pid(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 64).decode("ascii", "replace").strip() or "?"


@contextlib.contextmanager
def job_lock(job_dir: Path) -> Iterator[int]:
    """Hold ``job_dir/.lock`` (creating the folder) for the duration of the block.

    Yields the lock's file descriptor: a child process that inherits it (``pass_fds``) keeps the
    job locked even if this process dies first.

    Raises:
        JobLocked: another process holds it.
    """
    job_dir = Path(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(job_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise JobLocked(job_dir, _read_pid(fd)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield fd
    finally:
        # close, never LOCK_UN: a child that inherited the fd keeps the lock until it exits
        os.close(fd)


def lock_holder(job_dir: Path) -> str | None:
    """The pid holding the job's lock, or None when no live process holds it."""
    path = Path(job_dir) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
