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

from collections.abc import Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import ConcatDataset, DataLoader, Sampler, Subset

from roga_bench.metrics import compute_metrics, delong_se
from roga_bench.records import key_prefix
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
            splits.append((key_prefix(i, "in"), i, "test"))
        elif eval_train:
            splits.append((key_prefix(i, "in"), i, "train"))
        splits.append((key_prefix(i, "out"), i, "val"))
        splits.append((key_prefix(i, "test"), i, "test"))
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


class _ListSampler(Sampler[int]):
    """Yields whatever index list was set last (a persistent loader's sampler, reset per call)."""

    def __init__(self) -> None:
        self.indices: list[int] = []

    def __iter__(self) -> Iterator[int]:
        return iter(list(self.indices))

    def __len__(self) -> int:
        return len(self.indices)


class _Pooled:
    """Every frame a run evaluates behind one persistent DataLoader (its workers start once)."""

    def __init__(self, datasets: list[Any], num_workers: int, pin_memory: bool) -> None:
        self.position = {id(d): k for k, d in enumerate(datasets)}
        self.offsets = [0]
        for d in datasets:
            self.offsets.append(self.offsets[-1] + len(d))
        self.sampler = _ListSampler()
        self.loader = DataLoader(
            ConcatDataset(datasets),
            batch_size=EVAL_BATCH_SIZE,
            sampler=self.sampler,
            num_workers=num_workers,
            pin_memory=pin_memory,
            persistent_workers=True,
        )

    def predict(
        self, algorithm: Any, device: torch.device, requests: list[tuple[Any, list[int]]]
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(labels, logits) of ``data[i] for i in indices`` for each request, in one pass."""
        base = [self.offsets[self.position[id(data)]] for data, _ in requests]
        pairs = zip(base, requests, strict=True)
        self.sampler.indices = [b + i for b, (_, idx) in pairs for i in idx]
        if not self.sampler.indices:
            return [(torch.zeros(0, dtype=torch.long), torch.zeros(0, 2)) for _ in requests]
        labels, logits, _ = _predict(algorithm, self.loader, device)
        sizes = [len(idx) for _, idx in requests]
        return list(zip(labels.split(sizes), logits.split(sizes), strict=True))


class Evaluator:
    """Scores the splits of one run at each checkpoint, with DataLoaders built once per run.

    Without workers, each split has its own loader (batches as they always were: bit-exact
    records). With workers, one persistent loader serves every split, so workers start once per
    run, not once per split and checkpoint.

    Args:
        dataset: the run's dataset (``split``, ``video_ids``; ``frame_paths`` for shared frames).
        device: where the model is.
        num_workers, pin_memory: of the evaluation DataLoader(s).
        share_frames: score a frame held by several splits once per checkpoint.
        splits: every split the run may evaluate (needed up front with workers).
    """

    def __init__(
        self,
        dataset: Any,
        device: torch.device,
        num_workers: int = 0,
        pin_memory: bool = False,
        share_frames: bool = False,
        splits: list[tuple[str, int, str]] | None = None,
    ) -> None:
        self.dataset, self.device = dataset, device
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self.share_frames = share_frames and hasattr(dataset, "frame_paths")
        self._all = splits
        self._loaders: dict[Any, DataLoader] = {}
        self._pooled: _Pooled | None = None
        self.frames_scored = 0  # frames forwarded by the last call (for tests and benchmarks)

    def _pool(self, splits: list[tuple[str, int, str]]) -> _Pooled:
        if self._pooled is None:
            datasets: dict[int, Any] = {}
            for _, env, split in self._all or splits:
                data = self.dataset.split(env, split)
                datasets.setdefault(id(data), data)
            self._pooled = _Pooled(list(datasets.values()), self.num_workers, self.pin_memory)
        return self._pooled

    def _loader(self, key: Any, data: Any) -> DataLoader:
        if key not in self._loaders:
            self._loaders[key] = DataLoader(
                data, batch_size=EVAL_BATCH_SIZE, shuffle=False, num_workers=0
            )
        return self._loaders[key]

    def _unique(
        self, splits: list[tuple[str, int, str]]
    ) -> tuple[list[tuple[int, str, Any]], dict[tuple[int, str], int]]:
        """(env, split, data) of each split object to score, first occurrence first (a split that
        *is* another, as a cross-dataset target's val is its test, is scored once), and the id
        of the object each (env, split) is scored as."""
        key_of: dict[tuple[int, str], int] = {}
        todo: list[tuple[int, str, Any]] = []
        for _, env, split in splits:
            if (env, split) in key_of:
                continue
            data = self.dataset.split(env, split)
            key_of[(env, split)] = id(data)
            if all(id(d) != id(data) for _, _, d in todo):
                todo.append((env, split, data))
        return todo, key_of

    def _frame_keys(self, env: int, split: str, data: Any) -> list[Any]:
        """What identifies each item: its frame file when frames are shared, else its index."""
        if self.share_frames:
            return [str(p) for p in self.dataset.frame_paths(env, split)]
        return [(id(data), j) for j in range(len(data))]

    def _predict_requests(
        self, algorithm: Any, requests: list[tuple[Any, list[int]]], splits: list
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        if self.num_workers > 0:
            return self._pool(splits).predict(algorithm, self.device, requests)
        out = []
        for data, indices in requests:
            if not indices:
                out.append((torch.zeros(0, dtype=torch.long), torch.zeros(0, 2)))
                continue
            loader = self._loader((id(data), tuple(indices)), Subset(data, indices))
            labels, logits, _ = _predict(algorithm, loader, self.device)
            out.append((labels, logits))
        return out

    def _outputs(
        self, algorithm: Any, todo: list[tuple[int, str, Any]], splits: list
    ) -> dict[int, tuple[torch.Tensor, torch.Tensor, float]]:
        """id(data) -> (labels, P(fake), mean loss) for each split object in ``todo``."""
        out: dict[int, tuple[torch.Tensor, torch.Tensor, float]] = {}
        if not self.share_frames and self.num_workers == 0:
            for env, split, data in todo:  # the bit-exact path: whole splits, batch by batch
                try:
                    labels, logits, loss = _predict(
                        algorithm, self._loader((env, split), data), self.device
                    )
                except ValueError as exc:
                    raise ValueError(f"env {env} ({split} split): {exc}") from None
                self.frames_scored += len(labels)
                out[id(data)] = (labels, _p_fake(logits), loss)
            return out
        plan, claimed = [], set()
        for env, split, data in todo:
            frames = self._frame_keys(env, split, data)
            if not frames:
                raise ValueError(f"env {env} ({split} split): empty evaluation split")
            missing = [j for j, f in enumerate(frames) if f not in claimed]
            claimed.update(frames[j] for j in missing)
            plan.append((data, frames, missing))
        requests = [(data, missing) for data, _, missing in plan]
        memo: dict[Any, tuple[torch.Tensor, torch.Tensor]] = {}
        for (_, frames, missing), (labels, logits) in zip(
            plan, self._predict_requests(algorithm, requests, splits), strict=True
        ):
            self.frames_scored += len(labels)
            memo.update({frames[j]: (labels[k], logits[k]) for k, j in enumerate(missing)})
        for data, frames, _ in plan:
            labels = torch.stack([memo[f][0] for f in frames])
            logits = torch.stack([memo[f][1] for f in frames])
            loss = F.cross_entropy(logits, labels, reduction="sum").item() / len(labels)
            out[id(data)] = (labels, _p_fake(logits), loss)
        return out

    def _metrics(
        self, env: int, split: str, labels: torch.Tensor, scores: torch.Tensor, loss: float
    ) -> dict[str, float]:
        if not torch.isfinite(scores).all():  # diverged: stop like a NaN loss, no `done`
            raise TrainingError(
                f"non-finite predictions on env {env} ({split} split): the model diverged "
                f"(check lr and the loss in results.jsonl)"
            )
        ids, flavour = self.dataset.video_ids(env, split), _metrics_flavour(self.dataset)
        metrics = compute_metrics(labels.numpy(), scores.numpy(), ids, flavour)
        metrics["loss"] = loss
        # the test set's part of the AUC's uncertainty, for the tables (DeLong)
        metrics["auc_se"] = delong_se(labels.numpy(), scores.numpy())
        return {k: float(v) for k, v in metrics.items()}

    def __call__(self, algorithm: Any, splits: list[tuple[str, int, str]]) -> dict[str, float]:
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
        self.frames_scored = 0
        try:
            todo, key_of = self._unique(splits)  # todo keeps every scored split object alive
            outputs = self._outputs(algorithm, todo, splits)
            by_data = {id(d): self._metrics(e, s, *outputs[id(d)]) for e, s, d in todo}
            results: dict[str, float] = {}
            for prefix, env, split in splits:
                values = by_data[key_of[(env, split)]]
                results.update({f"{prefix}_{k}": v for k, v in values.items()})
        finally:
            algorithm.train()
        return results


def evaluate(
    algorithm: Any,
    dataset: Any,
    splits: list[tuple[str, int, str]],
    device: torch.device,
    num_workers: int = 0,
) -> dict[str, float]:
    """Metrics of every split with a one-off :class:`Evaluator` (see ``Evaluator.__call__``)."""
    return Evaluator(dataset, device, num_workers)(algorithm, splits)


def _metrics_flavour(dataset: Any) -> str:
    """The dataset hparam ``metrics_flavour`` (roga_bench.metrics; default ``roga_bench``)."""
    return str(getattr(dataset, "hparams", {}).get("metrics_flavour", "roga_bench"))
