"""Infinite per-environment training loaders whose position can be checkpointed.

Each environment gets its own ``torch.Generator``; every epoch is a fresh permutation drawn from it
(reshuffle each epoch, ``drop_last``). The state after each consumed batch is
``{epoch, position, epoch_rng}`` where ``epoch_rng`` is the generator state *before* the current
epoch's permutation was drawn, so a restored loader redraws that permutation and continues at
``position``: the exact batches of an uninterrupted run. Workers may prefetch ahead; the state is
that of the batch the caller has consumed, not of what the sampler has produced.

Augmentation draws come from the loader too: with each epoch's permutation the generator draws one
seed per sample, and the sample is loaded under that seed (a forked torch RNG). So the batches and
their augmentations depend only on the loader's seed: not on what the algorithm draws from the
global RNG between batches (common random numbers across algorithms), nor on ``num_workers``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

__all__ = ["InfiniteLoader"]

_SEED_BOUND = 2**62  # per-sample augmentation seeds are drawn from [0, 2**62)


class _SeededSamples(Dataset):
    """``dataset[(index, seed)]``: ``dataset[index]`` loaded with the CPU RNG seeded by ``seed``.

    Only the CPU generator is seeded (and restored after): ``torch.manual_seed`` would also
    reseed every CUDA generator, which ``fork_rng(devices=[])`` does not restore, so loading in
    the main process of a GPU run would reset the CUDA RNG at every sample (and the checkpoint
    would save that state). The CPU numbers are the same as with ``torch.manual_seed``.
    """

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: tuple[int, int]) -> Any:
        index, seed = key
        with torch.random.fork_rng(devices=[]):  # the caller's CPU stream is left untouched
            torch.default_generator.manual_seed(seed)  # CPU only; CUDA generators untouched
            return self.dataset[index]


class _BatchStream:
    """Endless batch sampler: ``(index, augmentation seed)`` lists of one shuffled epoch after
    another."""

    def __init__(self, size: int, batch_size: int, state: dict[str, Any]) -> None:
        self.size = size
        self.batch_size = batch_size
        self.start = state
        self.pending: deque[dict[str, Any]] = deque()  # states of produced, unconsumed batches

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator()
        epoch_rng = self.start["epoch_rng"]
        generator.set_state(epoch_rng)
        epoch, position = self.start["epoch"], self.start["position"]
        perm, seeds = self._draw(generator)
        while True:
            if position + self.batch_size > self.size:  # drop_last: start the next epoch
                epoch, position = epoch + 1, 0
                epoch_rng = generator.get_state()
                perm, seeds = self._draw(generator)
            span = slice(position, position + self.batch_size)
            batch = list(zip(perm[span].tolist(), seeds[span].tolist(), strict=True))
            position += self.batch_size
            self.pending.append({"epoch": epoch, "position": position, "epoch_rng": epoch_rng})
            yield batch

    def _draw(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """One epoch: the permutation, then one augmentation seed per position."""
        perm = torch.randperm(self.size, generator=generator)
        return perm, torch.randint(_SEED_BOUND, (self.size,), generator=generator)


class InfiniteLoader:
    """``next(loader)`` gives one ``(x, y)`` minibatch forever.

    Args:
        dataset: a map-style torch Dataset of ``(image, label)``.
        batch_size: samples per batch (every batch is full: drop_last).
        seed: seeds this loader's generator (use a different one per environment).
        num_workers: DataLoader worker processes (0: load in the calling process).
        state: a ``state_dict()`` from an earlier loader to continue from.
        name: used in error messages (e.g. "env 2 train split").

    Raises:
        ValueError: the dataset holds fewer samples than one batch.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        seed: int,
        num_workers: int = 0,
        state: dict[str, Any] | None = None,
        name: str = "dataset",
        pin_memory: bool = False,
    ) -> None:
        size = len(dataset)  # type: ignore[arg-type]
        if size < batch_size:
            raise ValueError(f"{name}: {size} samples, fewer than one batch of {batch_size}")
        if state is None:
            rng = torch.Generator().manual_seed(seed).get_state()
            state = {"epoch": 0, "position": 0, "epoch_rng": rng}
        self._state = state
        self._stream = _BatchStream(size, batch_size, state)
        # A private generator: creating the DataLoader iterator draws a worker base seed from it,
        # which would otherwise consume the global torch RNG and shift it after a resume.
        self._loader = DataLoader(
            _SeededSamples(dataset),
            batch_sampler=self._stream,
            num_workers=num_workers,
            pin_memory=pin_memory,  # page-locked batches, for non_blocking copies to a GPU
            generator=torch.Generator().manual_seed(seed),
        )
        self._iterator: Iterator[Any] | None = None

    def __iter__(self) -> InfiniteLoader:
        return self

    def __next__(self) -> Any:
        if self._iterator is None:  # lazily: workers start only when the first batch is needed
            self._iterator = iter(self._loader)
        batch = next(self._iterator)
        self._state = self._stream.pending.popleft()
        return batch

    def state_dict(self) -> dict[str, Any]:
        """Plain types and a uint8 tensor: loadable with ``torch.load(weights_only=True)``."""
        return dict(self._state)
