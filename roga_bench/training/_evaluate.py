"""Evaluation at a checkpoint: every split DESIGN §3 names, as ``env{i}_{in|out|test}_{metric}``.

``env{i}_in``/``env{i}_out`` are DomainBed's keys, unchanged. ``env{i}_test`` is the official test
split of *every* environment, so in-domain figures need not reuse ``env{i}_out`` (the split that
selects the checkpoint). For a test environment it is the split ``env{i}_in`` already holds:
each (environment, split) is evaluated once and its metrics copied to every key that names it.

:class:`Evaluator` builds each split's DataLoader once per run (workers persist between
checkpoints). With ``share_frames`` a frame that several environments hold (FF-real under
``real_assignment="shared"``) is scored once per checkpoint and its logits reused; it is off on
the deterministic (CPU) path, where batch composition must stay as it was for bit-exact results.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset

from roga_bench.metrics import compute_metrics
from roga_bench.training._config import TrainingError

__all__ = ["EVAL_BATCH_SIZE", "Evaluator", "eval_splits", "evaluate"]

# Evaluation runs in eval mode without gradients, so the batch size cannot change a result;
# 64 is DomainBed's choice.
EVAL_BATCH_SIZE = 64


def eval_splits(
    n_envs: int, test_envs: Sequence[int], eval_train: bool
) -> list[tuple[str, int, str]]:
    """``(key prefix, env index, split name)`` for every split to evaluate, in key order.

    ``env{i}_out`` = validation split of every environment; ``env{i}_in`` = test split of a test
    environment, and (only with ``eval_train``) train split of a training environment;
    ``env{i}_test`` = test split of every environment (for a test env, the same split as
    ``env{i}_in``; ``evaluate`` computes it once).
    """
    splits = []
    for i in range(n_envs):
        if i in test_envs:
            splits.append((f"env{i}_in", i, "test"))
        elif eval_train:
            splits.append((f"env{i}_in", i, "train"))
        splits.append((f"env{i}_out", i, "val"))
        splits.append((f"env{i}_test", i, "test"))
    return splits


@torch.no_grad()
def _predict(
    algorithm: Any, loader: DataLoader, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Labels and float32 logits of every item the loader yields (on the CPU), and the mean
    cross-entropy summed batch by batch (as it always was, for bit-exact records)."""
    labels, logits, loss_sum = [], [], 0.0
    non_blocking = bool(loader.pin_memory)
    for x, y in loader:
        x, y = x.to(device, non_blocking=non_blocking), y.to(device, non_blocking=non_blocking)
        out = algorithm.predict(x)
        loss_sum += F.cross_entropy(out, y, reduction="sum").item()
        logits.append(out.float().cpu())
        labels.append(y.cpu())
    if not labels:
        raise ValueError("empty evaluation split")
    return torch.cat(labels), torch.cat(logits), loss_sum / sum(len(y) for y in labels)


def _p_fake(logits: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits, dim=1)[:, 1]


class Evaluator:
    """Scores the splits of one run at each checkpoint; loaders are built on first use and kept.

    Args:
        dataset: the run's dataset (``split``, ``video_ids``; ``frame_paths`` for shared frames).
        device: where the model is.
        num_workers, pin_memory: of the evaluation DataLoaders.
        share_frames: score a frame held by several splits once per checkpoint.
    """

    def __init__(
        self,
        dataset: Any,
        device: torch.device,
        num_workers: int = 0,
        pin_memory: bool = False,
        share_frames: bool = False,
    ) -> None:
        self.dataset, self.device = dataset, device
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self.share_frames = share_frames and hasattr(dataset, "frame_paths")
        self._loaders: dict[Any, DataLoader] = {}
        self.frames_scored = 0  # frames forwarded by the last call (for tests and benchmarks)

    def _loader(self, key: Any, data: Any) -> DataLoader:
        if key not in self._loaders:
            self._loaders[key] = DataLoader(
                data,
                batch_size=EVAL_BATCH_SIZE,
                shuffle=False,
                num_workers=self.num_workers,
                pin_memory=self.pin_memory,
                persistent_workers=self.num_workers > 0,
            )
        return self._loaders[key]

    def _split_outputs(
        self, algorithm: Any, env: int, split: str, data: Any, memo: dict
    ) -> tuple[torch.Tensor, torch.Tensor, float]:
        if not self.share_frames:
            loader = self._loader((env, split), data)
            labels, logits, loss = _predict(algorithm, loader, self.device)
            self.frames_scored += len(labels)
            return labels, _p_fake(logits), loss
        paths = [str(p) for p in self.dataset.frame_paths(env, split)]
        missing = tuple(j for j, p in enumerate(paths) if p not in memo)
        if missing:
            loader = self._loader((env, split, missing), Subset(data, list(missing)))
            labels, logits, _ = _predict(algorithm, loader, self.device)
            self.frames_scored += len(labels)
            for j, label, row in zip(missing, labels, logits, strict=True):
                memo[paths[j]] = (label, row)
        if not paths:
            raise ValueError("empty evaluation split")
        labels = torch.stack([memo[p][0] for p in paths])
        logits = torch.stack([memo[p][1] for p in paths])
        loss = F.cross_entropy(logits, labels, reduction="sum").item() / len(labels)
        return labels, _p_fake(logits), loss

    def __call__(self, algorithm: Any, splits: list[tuple[str, int, str]]) -> dict[str, float]:
        """Metrics of every split: ``{prefix}_{acc,auc,ap,eer,loss,video_auc}``.

        The algorithm is put in eval mode for the evaluation and back in train mode afterwards.
        A split named by several prefixes (a test env's ``env{i}_in`` and ``env{i}_test``) is
        evaluated once.

        Raises:
            ValueError: a split is empty (names the environment and split).
            TrainingError: the model predicts NaN or inf (it diverged).
        """
        algorithm.eval()
        self.frames_scored = 0
        results: dict[str, float] = {}
        done: dict[tuple[int, str], dict[str, float]] = {}
        # split objects evaluated, kept alive so an id is never reused by a later split object:
        # a split that *is* another (a cross-dataset target's val is its test) is evaluated once
        by_object: dict[int, tuple[Any, dict[str, float]]] = {}
        memo: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}  # frame path -> label, logits
        try:
            for prefix, env, split in splits:
                if (env, split) not in done:
                    done[(env, split)] = self._split_metrics(algorithm, env, split, by_object, memo)
                results.update({f"{prefix}_{k}": v for k, v in done[(env, split)].items()})
        finally:
            algorithm.train()
        return results

    def _split_metrics(
        self, algorithm: Any, env: int, split: str, by_object: dict, memo: dict
    ) -> dict[str, float]:
        data = self.dataset.split(env, split)
        if id(data) in by_object:
            return by_object[id(data)][1]
        try:
            labels, scores, loss = self._split_outputs(algorithm, env, split, data, memo)
        except ValueError as exc:
            raise ValueError(f"env {env} ({split} split): {exc}") from None
        if not torch.isfinite(scores).all():  # diverged: stop like a NaN loss, no `done`
            raise TrainingError(
                f"non-finite predictions on env {env} ({split} split): the model diverged "
                f"(check lr and the loss in results.jsonl)"
            )
        metrics = compute_metrics(
            labels.numpy(), scores.numpy(), self.dataset.video_ids(env, split)
        )
        metrics["loss"] = loss
        values = {k: float(v) for k, v in metrics.items()}
        by_object[id(data)] = (data, values)
        return values


def evaluate(
    algorithm: Any,
    dataset: Any,
    splits: list[tuple[str, int, str]],
    device: torch.device,
    num_workers: int = 0,
) -> dict[str, float]:
    """Metrics of every split with a one-off :class:`Evaluator` (see ``Evaluator.__call__``)."""
    return Evaluator(dataset, device, num_workers)(algorithm, splits)
