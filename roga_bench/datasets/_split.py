"""One split of one environment as a torch Dataset of ``(image float32 [3,S,S], label int)``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from roga_bench.datasets._frames import decode_frame
from roga_bench.datasets._index import Video
from roga_bench.datasets._lmdb import register_lmdb_dir

__all__ = ["MemoryBudget", "FrameSplit"]


class MemoryBudget:
    """A byte budget shared by the in-memory frame caches of one dataset (0 = no caching)."""

    def __init__(self, megabytes: float) -> None:
        self.left = int(megabytes * 2**20)

    def take(self, nbytes: int) -> bool:
        if nbytes > self.left:
            return False
        self.left -= nbytes
        return True


class FrameSplit(Dataset):
    """The frames of some videos, decoded, resized and transformed on access.

    Args:
        videos: the videos, each contributing its (already sampled) frames in order.
        image_size: output side in pixels.
        transform: decoded ``uint8 [S,S,3]`` frame -> ``float32 [3,S,S]`` tensor.
        frame_cache: folder of a decoded-frame cache (``datasets.frame_cache``); empty: decode.
        budget: memory budget for keeping decoded frames (bounded, opt-in via hparam).
        lmdb_dir: the frames are LMDB paths under this folder (``datasets._lmdb``); registered
            here and again wherever the split is unpickled (a spawned loader worker).
    """

    def __init__(
        self,
        videos: Sequence[Video],
        image_size: int,
        transform: Callable[[np.ndarray], torch.Tensor],
        frame_cache: str = "",
        budget: MemoryBudget | None = None,
        lmdb_dir: str = "",
    ) -> None:
        self.lmdb_dir = lmdb_dir
        if lmdb_dir:
            register_lmdb_dir(lmdb_dir)
        self.paths: list[str] = [f for v in videos for f in v.frames]
        self.labels: list[int] = [v.label for v in videos for _ in v.frames]
        self.video_ids: list[str] = [v.key for v in videos for _ in v.frames]
        # Each frame's mask file as the index lists it ("": listed without one), or None: derive
        # it from the frame path (roga_bench.datasets.mask_path).
        self.mask_paths: list[str | None] = [
            m for v in videos for m in (v.masks if v.masks is not None else [None] * len(v.frames))
        ]
        self.image_size = image_size
        self.transform = transform
        self._budget = budget
        self._memory: dict[int, np.ndarray] = {}
        self._cache: Any = None
        if frame_cache and self.paths:
            from roga_bench.datasets.frame_cache import open_frame_cache  # lazy: optional

            self._cache = open_frame_cache(frame_cache, self.paths, image_size)

    def __len__(self) -> int:
        return len(self.paths)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self.__dict__.get("lmdb_dir"):
            register_lmdb_dir(self.lmdb_dir)

    def frame(self, i: int) -> np.ndarray:
        """The decoded ``uint8 [S,S,3]`` frame ``i`` (before the transform)."""
        if i in self._memory:
            return self._memory[i]
        if self._cache is not None:
            return np.asarray(self._cache[i])
        frame = decode_frame(self.paths[i], self.image_size)
        if self._budget is not None and self._budget.take(frame.nbytes):
            self._memory[i] = frame
        return frame

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.frame(i)), self.labels[i]
