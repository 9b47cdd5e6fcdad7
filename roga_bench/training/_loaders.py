"""Infinite per-environment training loaders whose position can be checkpointed.

Each environment gets its own ``torch.Generator``; every epoch is a fresh permutation drawn from it
(reshuffle each epoch, ``drop_last``). The state after each consumed batch is
``{epoch, position, epoch_rng}`` where ``epoch_rng`` is the generator state *before* the current
epoch's permutation was drawn, so a restored loader redraws that permutation and continues at
``position``: the exact batches of an uninterrupted run. Workers may prefetch ahead; the state is
that of the batch the caller has consumed, not of what the sampler has produced.

Augmentation draws from torch's RNG. By default (``sample_seeds=False``, no workers) that is the
process's global stream, as it always was. With ``sample_seeds=True`` each sample is augmented
under its own seed, a function of (loader seed, epoch, position in the epoch), so the batches are
the same with any ``num_workers`` (0 included) and after any resume.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, get_worker_info

__all__ = ["InfiniteLoader"]


_MASK = 2**63 - 1


def sample_seed(loader_seed: int, epoch: int, position: int) -> int:
    """The augmentation seed of the sample at ``position`` of ``epoch`` (splitmix-style mix)."""
    z = (loader_seed * 0x9E3779B97F4A7C15 + epoch * 0xBF58476D1CE4E5B9 + position) & _MASK
    z = ((z ^ (z >> 31)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 29)


class _SeededSamples(Dataset):
    """``dataset[(index, seed)]``: ``dataset[index]`` with torch's RNG seeded by ``seed``."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, item: tuple[int, int]) -> Any:
        index, seed = item
        if get_worker_info() is not None:  # a worker's RNG serves nothing else
            torch.manual_seed(seed)
            return self.dataset[index]
        with torch.random.fork_rng(devices=[]):  # the training stream stays untouched
            torch.manual_seed(seed)
            return self.dataset[index]


class _BatchStream:
    """Endless batch sampler: index lists of one shuffled epoch after another.

    With ``seed`` set, each index comes as ``(index, sample_seed(seed, epoch, position))``.
    """

    def __init__(
        self, size: int, batch_size: int, state: dict[str, Any], seed: int | None = None
    ) -> None:
        self.size = size
        self.batch_size = batch_size
        self.start = state
        self.seed = seed
        self.pending: deque[dict[str, Any]] = deque()  # states of produced, unconsumed batches

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator()
        epoch_rng = self.start["epoch_rng"]
        generator.set_state(epoch_rng)
        epoch, position = self.start["epoch"], self.start["position"]
        perm = torch.randperm(self.size, generator=generator)
        while True:
            if position + self.batch_size > self.size:  # drop_last: start the next epoch
                epoch, position = epoch + 1, 0
                epoch_rng = generator.get_state()
                perm = torch.randperm(self.size, generator=generator)
            batch: list[Any] = perm[position : position + self.batch_size].tolist()
            if self.seed is not None:
                batch = [
                    (i, sample_seed(self.seed, epoch, position + j)) for j, i in enumerate(batch)
                ]
            position += self.batch_size
            self.pending.append({"epoch": epoch, "position": position, "epoch_rng": epoch_rng})
            yield batch


class InfiniteLoader:
    """``next(loader)`` gives one ``(x, y)`` minibatch forever.

    Args:
        dataset: a map-style torch Dataset of ``(image, label)``.
        batch_size: samples per batch (every batch is full: drop_last).
        seed: seeds this loader's generator (use a different one per environment).
        num_workers: DataLoader worker processes (0: load in the calling process).
        state: a ``state_dict()`` from an earlier loader to continue from.
        name: used in error messages (e.g. "env 2 train split").
        pin_memory: page-locked batches (for ``non_blocking`` copies to a GPU).
        sample_seeds: augment each sample under its own seed (results independent of workers).

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
        sample_seeds: bool = False,
    ) -> None:
        size = len(dataset)  # type: ignore[arg-type]
        if size < batch_size:
            raise ValueError(f"{name}: {size} samples, fewer than one batch of {batch_size}")
        if state is None:
            rng = torch.Generator().manual_seed(seed).get_state()
            state = {"epoch": 0, "position": 0, "epoch_rng": rng}
        self._state = state
        self._stream = _BatchStream(size, batch_size, state, seed if sample_seeds else None)
        # A private generator: creating the DataLoader iterator draws a worker base seed from it,
        # which would otherwise consume the global torch RNG and shift it after a resume.
        self._loader = DataLoader(
            _SeededSamples(dataset) if sample_seeds else dataset,
            batch_sampler=self._stream,
            num_workers=num_workers,
            generator=torch.Generator().manual_seed(seed),
            pin_memory=pin_memory,
            prefetch_factor=4 if num_workers else None,
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
