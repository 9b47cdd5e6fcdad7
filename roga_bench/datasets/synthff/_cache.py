"""``ensure_synthff``: generate SynthFF once per (version, seed) into a cache folder and reuse it.

A build goes to a temporary sibling folder that is renamed into place only when complete, so a
crashed build never looks finished; a lock file makes concurrent callers (parallel sweep jobs)
wait for one build instead of each starting their own.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from roga_bench.datasets.synthff._generate import SYNTHFF_VERSION, generate

__all__ = ["cache_root", "ensure_synthff"]

ENV_VAR = "ROGA_BENCH_DATA"


def cache_root() -> Path:
    """``$ROGA_BENCH_DATA`` if set, else ``~/.cache/roga_bench``."""
    env = os.environ.get(ENV_VAR, "")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "roga_bench"


@contextmanager
def _locked(path: Path, poll: float = 0.2) -> Iterator[None]:
    """An exclusive lock on ``path`` (flock where available, else an O_EXCL lock file)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        fcntl = None
    if fcntl is not None:
        with open(path, "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # released when fh closes, even on a crash
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return
    while True:  # pragma: no cover - Windows
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            time.sleep(poll)
    try:  # pragma: no cover - Windows
        yield
    finally:  # pragma: no cover - Windows
        os.close(fd)
        os.unlink(path)


def ensure_synthff(seed: int = 0, root: str | os.PathLike | None = None, **kwargs: int) -> Path:
    """Returns the data_dir of SynthFF for ``seed``, generating it first if it is not cached.

    Args:
        seed: the build's seed.
        root: cache root; default :func:`cache_root`.
        **kwargs: videos/frames/size passed to :func:`generate`; non-defaults go in the folder name.

    Returns:
        ``<root>/synthff-<SYNTHFF_VERSION>-<seed>`` (with ``-<key><value>`` suffixes for non-default
        sizes), a complete build.
    """
    from roga_bench.datasets.synthff._generate import DEFAULTS

    base = Path(root) if root is not None else cache_root()
    extra = "".join(f"-{k}{v}" for k, v in sorted(kwargs.items()) if DEFAULTS.get(k) != v)
    final = base / f"synthff-{SYNTHFF_VERSION}-{seed}{extra}"
    if final.is_dir():
        return final
    base.mkdir(parents=True, exist_ok=True)
    with _locked(base / f".{final.name}.lock"):
        if final.is_dir():  # another process finished it while we waited
            return final
        tmp = base / f".{final.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            generate(tmp, seed=seed, **kwargs)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return final
