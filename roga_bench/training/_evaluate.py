"""Evaluation at a checkpoint: every split DESIGN §3 names, as ``env{i}_{in|out|test}_{metric}``.

``env{i}_in``/``env{i}_out`` are DomainBed's keys, unchanged. ``env{i}_test`` is the official test
split of *every* environment, so in-domain figures need not reuse ``env{i}_out`` (the split that
selects the checkpoint). For a test environment it is the split ``env{i}_in`` already holds:
each (environment, split) is evaluated once and its metrics copied to every key that names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from roga_bench.metrics import compute_metrics, delong_se
from roga_bench.training._config import TrainingError

__all__ = ["EVAL_BATCH_SIZE", "eval_splits", "evaluate"]

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
def _predict_split(
    algorithm: Any, data: Any, device: torch.device, num_workers: int
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Labels, P(fake) scores and the mean cross-entropy over one split."""
    loader = DataLoader(data, batch_size=EVAL_BATCH_SIZE, shuffle=False, num_workers=num_workers)
    labels, scores, loss_sum = [], [], 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        logits = algorithm.predict(x)
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        scores.append(torch.softmax(logits.float(), dim=1)[:, 1].cpu())
        labels.append(y.cpu())
    n = sum(len(y) for y in labels)
    if n == 0:
        raise ValueError("empty evaluation split")
    return torch.cat(labels), torch.cat(scores), loss_sum / n


def evaluate(
    algorithm: Any,
    dataset: Any,
    splits: list[tuple[str, int, str]],
    device: torch.device,
    num_workers: int = 0,
) -> dict[str, float]:
    """Metrics of every split: ``{prefix}_{acc,auc,ap,eer,loss,video_auc,auc_se}``
    (``auc_se``: DeLong's standard error of the AUC).

    The algorithm is put in eval mode for the evaluation and back in train mode afterwards.
    A split named by several prefixes (a test env's ``env{i}_in`` and ``env{i}_test``) is
    evaluated once.

    Raises:
        ValueError: a split is empty (names the environment and split).
        TrainingError: the model predicts NaN or inf (it diverged).
    """
    algorithm.eval()
    results: dict[str, float] = {}
    done: dict[tuple[int, str], dict[str, float]] = {}
    # split objects evaluated, kept alive so an id is never reused by a later split object:
    # a split that *is* another (a cross-dataset target's val is its test) is evaluated once
    by_object: dict[int, tuple[Any, dict[str, float]]] = {}
    try:
        for prefix, env, split in splits:
            if (env, split) in done:
                results.update({f"{prefix}_{k}": v for k, v in done[(env, split)].items()})
                continue
            data = dataset.split(env, split)
            if id(data) in by_object:
                done[(env, split)] = by_object[id(data)][1]
                results.update({f"{prefix}_{k}": v for k, v in done[(env, split)].items()})
                continue
            try:
                labels, scores, loss = _predict_split(algorithm, data, device, num_workers)
            except ValueError as exc:
                raise ValueError(f"env {env} ({split} split): {exc}") from None
            if not torch.isfinite(scores).all():  # diverged: stop like a NaN loss, no `done`
                raise TrainingError(
                    f"non-finite predictions on env {env} ({split} split): the model diverged "
                    f"(check lr and the loss in results.jsonl)"
                )
            ids, flavour = dataset.video_ids(env, split), _metrics_flavour(dataset)
            metrics = compute_metrics(labels.numpy(), scores.numpy(), ids, flavour)
            metrics["loss"] = loss
            # the test set's part of the AUC's uncertainty, for the tables (DeLong)
            metrics["auc_se"] = delong_se(labels.numpy(), scores.numpy())
            done[(env, split)] = {k: float(v) for k, v in metrics.items()}
            by_object[id(data)] = (data, done[(env, split)])
            results.update({f"{prefix}_{k}": v for k, v in done[(env, split)].items()})
    finally:
        algorithm.train()
    return results


def _metrics_flavour(dataset: Any) -> str:
    """The dataset hparam ``metrics_flavour`` (roga_bench.metrics; default ``roga_bench``)."""
    return str(getattr(dataset, "hparams", {}).get("metrics_flavour", "roga_bench"))
