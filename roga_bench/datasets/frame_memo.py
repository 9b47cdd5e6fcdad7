"""A process-wide memo of decoded frames, for long-lived worker processes.

A pool worker (the sweep's ``pool`` launcher) runs many jobs on the same frames; each job builds
its own dataset, whose in-memory cache starts empty. :func:`install_frame_memo` makes every frame
split of the process decode through one :class:`DecodedFrameMemo` (via the decoder hook
``roga_bench.datasets._frames.set_frame_decoder``), so only a worker's first job decodes a frame.
"""

from __future__ import annotations

import os

import numpy as np

from roga_bench.datasets._frames import Decoder, frame_decoder, frame_stamp, set_frame_decoder
from roga_bench.datasets.frame_cache import cache_key

__all__ = ["DecodedFrameMemo", "install_frame_memo"]


class DecodedFrameMemo:
    """Decoded frames kept for the whole process, shared by every dataset it builds.

    Keyed by (absolute path, size) and checked against the source's size and mtime on every
    hit, so a changed file is decoded again: a hit returns exactly what decoding would.

    Args:
        decoder: ``fn(path, size) -> uint8 [S, S, 3]``, e.g. ``_frames.decode_and_resize``.
        max_mb: frames stop being added once they take this much memory.
    """

    def __init__(self, decoder: Decoder, max_mb: float) -> None:
        self.decoder = decoder
        self.limit = int(max_mb * 2**20)
        self.used = 0
        self.hits = self.misses = 0
        self._frames: dict[tuple[str, int], tuple[tuple[int, int], np.ndarray]] = {}

    def __call__(self, path: str | os.PathLike[str], size: int) -> np.ndarray:
        key = (cache_key(path), int(size))
        try:
            stamp = frame_stamp(key[0])  # a file's (size, mtime), or an LMDB entry's
        except OSError:
            return self.decoder(path, size)  # the decoder's own error names the file
        hit = self._frames.get(key)
        if hit is not None and hit[0] == stamp:
            self.hits += 1
            return hit[1]
        self.misses += 1
        frame = self.decoder(path, size)
        if hit is None and self.used + frame.nbytes <= self.limit:
            self._frames[key] = (stamp, frame)
            self.used += frame.nbytes
        elif hit is not None:  # a changed source: keep the new frame in its place
            self._frames[key] = (stamp, frame)
        return frame


def install_frame_memo(max_mb: float) -> DecodedFrameMemo:
    """Make every frame split of this process decode through one :class:`DecodedFrameMemo`.

    For long-lived worker processes (the sweep's ``pool`` launcher); a second call returns the
    memo already installed.
    """
    current = frame_decoder()
    if isinstance(current, DecodedFrameMemo):
        return current
    memo = DecodedFrameMemo(current, max_mb)
    set_frame_decoder(memo)
    return memo
