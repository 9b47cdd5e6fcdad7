"""Detection metrics as pure functions on arrays (DESIGN §6).

Every function takes ``labels`` (1 = fake, 0 = real) and ``scores`` = P(fake) =
``softmax(logits)[:, 1]`` (see :func:`scores_from_logits`) and returns a python ``float``.
Ranking metrics (AUC, AP, EER, video AUC) are undefined when only one class is present: they
return NaN and emit :class:`OneClassWarning`, never raise, so an evaluation split that happens to
hold one class cannot stop a sweep. Empty or malformed input raises ``ValueError``.

Two flavours (``flavour=``, hparam ``metrics_flavour``; docs/reporting.md states both):

- ``"roga_bench"`` (default): ACC predicts fake at ``score >= 0.5``; EER is where the
  piecewise-linear ROC curve crosses FPR = FNR (interpolated between the two ROC points around it).
- ``"deepfakebench"``: DeepfakeBench's ``get_test_metrics``: ACC predicts fake at ``score > 0.5``;
  EER is the FPR of the ROC point (sklearn's ``roc_curve`` with its default
  ``drop_intermediate=True``) nearest to FPR = FNR, the first such point on a tie.

AUC and AP are the same in both.

Example::

    from roga_bench.metrics import compute_metrics, scores_from_logits
    m = compute_metrics(labels, scores_from_logits(logits), video_ids)
    # {"acc": ..., "auc": ..., "ap": ..., "eer": ..., "video_auc": ...}
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

# sklearn (with scipy) costs ~3 s of CPU to import: it is loaded on first use, not at import time,
# so `--help`, the sweep's grid building and every job's start-up stay fast.


def roc_auc_score(*args: Any, **kwargs: Any) -> float:
    from sklearn.metrics import roc_auc_score as impl

    return impl(*args, **kwargs)


def average_precision_score(*args: Any, **kwargs: Any) -> float:
    from sklearn.metrics import average_precision_score as impl

    return impl(*args, **kwargs)


def roc_curve(*args: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.metrics import roc_curve as impl

    return impl(*args, **kwargs)


__all__ = [
    "METRIC_FLAVOURS",
    "OneClassWarning",
    "accuracy",
    "auc",
    "average_precision",
    "compute_metrics",
    "delong_se",
    "eer",
    "scores_from_logits",
    "video_auc",
]


METRIC_FLAVOURS = ("roga_bench", "deepfakebench")


def _check_flavour(flavour: str) -> None:
    if flavour not in METRIC_FLAVOURS:
        raise ValueError(f"metrics flavour must be one of {METRIC_FLAVOURS}, got {flavour!r}")


class OneClassWarning(RuntimeWarning):
    """A ranking metric was asked for on input holding a single class; the result is NaN."""


def scores_from_logits(logits: Any) -> np.ndarray:
    """P(fake) = ``softmax(logits)[:, 1]``, computed stably (max subtracted before ``exp``).

    Args:
        logits: ``[N, C]`` array-like or torch tensor with ``C >= 2``; class 1 is "fake".

    Returns:
        float64 numpy array ``[N]``.

    Raises:
        ValueError: ``logits`` is not 2-D with at least two columns.
    """
    if hasattr(logits, "detach"):  # torch tensor: avoid importing torch here
        logits = logits.detach().cpu().double().numpy()
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"logits: expected shape [N, C>=2], got {list(z.shape)}")
    z = z - z.max(axis=1, keepdims=True)  # exp never overflows; softmax is shift-invariant
    e = np.exp(z)
    return e[:, 1] / e.sum(axis=1)


def _as_arrays(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate; return (int64 labels in {0, 1}, float64 scores), 1-D and of equal length."""
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 1 or s.ndim != 1:
        raise ValueError(
            f"labels and scores must be 1-D, got shapes {list(y.shape)} and {list(s.shape)}"
        )
    if y.size == 0:
        raise ValueError("labels/scores are empty: cannot compute a metric on no samples")
    if y.size != s.size:
        raise ValueError(f"labels has {y.size} entries but scores has {s.size}")
    bad = ~np.isin(y, (0, 1))
    if bad.any():
        raise ValueError(f"labels must be 0 (real) or 1 (fake), got {y[bad][0]!r}")
    if not np.isfinite(s).all():
        raise ValueError(f"scores contain {int((~np.isfinite(s)).sum())} non-finite values")
    return y.astype(np.int64), s


def _two_classes(y: np.ndarray, metric: str) -> bool:
    """True if both classes are present; otherwise warn that ``metric`` is NaN."""
    if y.min() == y.max():
        warnings.warn(
            f"{metric}: only class {int(y[0])} present in {y.size} samples; returning NaN",
            OneClassWarning,
            stacklevel=3,
        )
        return False
    return True


def accuracy(
    labels: Any, scores: Any, threshold: float = 0.5, flavour: str = "roga_bench"
) -> float:
    """Fraction of samples with ``(score >= threshold) == label`` (``>`` for ``deepfakebench``).

    Args:
        labels: ``[N]`` 0/1 labels.
        scores: ``[N]`` P(fake).
        threshold: scores at or above it (above it: ``deepfakebench``) are predicted fake.
        flavour: one of :data:`METRIC_FLAVOURS`.

    Returns:
        Accuracy in [0, 1] (defined for one-class input too).

    Raises:
        ValueError: empty, mismatched or non-binary input; an unknown flavour.
    """
    _check_flavour(flavour)
    y, s = _as_arrays(labels, scores)
    fake = s > threshold if flavour == "deepfakebench" else s >= threshold
    return float(np.mean(fake.astype(np.int64) == y))


def auc(labels: Any, scores: Any) -> float:
    """ROC-AUC; NaN with :class:`OneClassWarning` when one class only.

    Raises:
        ValueError: empty, mismatched or non-binary input.
    """
    y, s = _as_arrays(labels, scores)
    return float(roc_auc_score(y, s)) if _two_classes(y, "auc") else math.nan


def average_precision(labels: Any, scores: Any) -> float:
    """Average precision (area under the step precision-recall curve, sklearn's definition).

    Raises:
        ValueError: empty, mismatched or non-binary input.
    """
    y, s = _as_arrays(labels, scores)
    return float(average_precision_score(y, s)) if _two_classes(y, "ap") else math.nan


def _eer_from_roc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    # d = FNR - FPR is non-increasing along the ROC curve, from +1 at (0, 0) to -1 at (1, 1),
    # so it has one sign change; the EER is where the straight ROC segment crossing it has d = 0.
    d = (1.0 - tpr) - fpr
    i = int(np.argmax(d <= 0))  # first point at or past the crossing (exists: d[-1] = -1)
    if d[i] == 0 or i == 0:
        return float(fpr[i])
    t = d[i - 1] / (d[i - 1] - d[i])  # in (0, 1]: fraction of the segment before d hits 0
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def _eer_nearest_point(y: np.ndarray, s: np.ndarray) -> float:
    """DeepfakeBench's EER: FPR of the (default, thinned) ROC point nearest to FPR = FNR."""
    fpr, tpr, _ = roc_curve(y, s)
    return float(fpr[np.nanargmin(np.abs((1.0 - tpr) - fpr))])


def eer(labels: Any, scores: Any, flavour: str = "roga_bench") -> float:
    """Equal error rate: the FPR (= FNR) where the ROC curve crosses FPR = 1 - TPR.

    ``roga_bench``: the crossing is linearly interpolated between the two ROC points around it,
    so the value is exact for the piecewise-linear ROC curve (perfect separation -> 0, fully
    inverted -> 1). ``deepfakebench``: the FPR of the ROC point nearest to the crossing.

    Raises:
        ValueError: empty, mismatched or non-binary input; an unknown flavour.
    """
    _check_flavour(flavour)
    y, s = _as_arrays(labels, scores)
    if not _two_classes(y, "eer"):
        return math.nan
    if flavour == "deepfakebench":
        return _eer_nearest_point(y, s)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    return _eer_from_roc(fpr, tpr)


def _video_level(
    y: np.ndarray, s: np.ndarray, video_ids: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-video (label, mean score); a video is keyed by its full id string."""
    ids = np.asarray(video_ids, dtype=object)
    if ids.ndim != 1 or ids.size != y.size:
        raise ValueError(f"video_ids has {ids.size} entries but labels has {y.size}")
    _, inv = np.unique(ids.astype(str), return_inverse=True)
    counts = np.bincount(inv)
    mean_score = np.bincount(inv, weights=s) / counts
    n_fake = np.bincount(inv, weights=y)
    mixed = (n_fake > 0) & (n_fake < counts)
    if mixed.any():
        vid = ids[np.flatnonzero(inv == int(np.argmax(mixed)))[0]]
        raise ValueError(f"video_ids: video {vid!r} has frames labelled both real and fake")
    return (n_fake > 0).astype(np.int64), mean_score


def video_auc(labels: Any, scores: Any, video_ids: Sequence[str]) -> float:
    """ROC-AUC of per-video mean scores; a video's label is its frames' (common) label.

    Args:
        labels: ``[N]`` frame labels.
        scores: ``[N]`` frame P(fake).
        video_ids: ``[N]`` ids unique per video, e.g. ``"FF-DF/000_003"``: frames with equal ids
            are one video, so ``"FF-DF/000_003"`` and ``"FF-F2F/000_003"`` are two videos.

    Returns:
        Video-level ROC-AUC, or NaN with :class:`OneClassWarning` if all videos share a class.

    Raises:
        ValueError: bad input, or one video id whose frames carry both labels.
    """
    y, s = _as_arrays(labels, scores)
    vy, vs = _video_level(y, s, video_ids)
    return float(roc_auc_score(vy, vs)) if _two_classes(vy, "video_auc") else math.nan


def compute_metrics(
    labels: Any, scores: Any, video_ids: Sequence[str], flavour: str = "roga_bench"
) -> dict[str, float]:
    """All detection metrics at once: ``{"acc", "auc", "ap", "eer", "video_auc"}``.

    One-class input gives ``acc`` plus NaN for the rest, with a single :class:`OneClassWarning`.
    ``flavour`` picks the ACC and EER definitions (module docstring).

    Raises:
        ValueError: empty, mismatched or non-binary input; a video with mixed labels; an unknown
            flavour.
    """
    _check_flavour(flavour)
    y, s = _as_arrays(labels, scores)
    vy, vs = _video_level(y, s, video_ids)
    out = {"acc": accuracy(y, s, flavour=flavour)}
    if not _two_classes(y, "compute_metrics (auc, ap, eer, video_auc)"):
        return {**out, "auc": math.nan, "ap": math.nan, "eer": math.nan, "video_auc": math.nan}
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    out["auc"] = float(roc_auc_score(y, s))
    out["ap"] = float(average_precision_score(y, s))
    out["eer"] = _eer_nearest_point(y, s) if flavour == "deepfakebench" else _eer_from_roc(fpr, tpr)
    out["video_auc"] = float(roc_auc_score(vy, vs))  # two frame classes -> two video classes
    return out


def delong_se(labels: Any, scores: Any) -> float:
    """DeLong's standard error of the ROC-AUC (DeLong, DeLong & Clarke-Pearson 1988).

    With placement values ``V10(x) = P(score of a negative < x)`` over the positives (fakes) and
    ``V01(y) = P(score of a positive > y)`` over the negatives (ties count 1/2, computed from
    mid-ranks), ``Var(AUC) = s²(V10)/n1 + s²(V01)/n0`` (sample variances). This is the finite
    test set's part of a run's uncertainty; frames of one video are correlated, so it is a lower
    bound on the video-level one. NaN when a class has fewer than two items.

    Raises:
        ValueError: empty, mismatched or non-binary input.
    """
    from scipy.stats import rankdata

    y, s = _as_arrays(labels, scores)
    pos, neg = s[y == 1], s[y == 0]
    n1, n0 = len(pos), len(neg)
    if n1 < 2 or n0 < 2:
        return math.nan
    combined = rankdata(np.concatenate([pos, neg]))  # mid-ranks: ties count 1/2
    v10 = (combined[:n1] - rankdata(pos)) / n0
    v01 = 1.0 - (combined[n1:] - rankdata(neg)) / n1
    return float(math.sqrt(v10.var(ddof=1) / n1 + v01.var(ddof=1) / n0))
