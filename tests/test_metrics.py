"""Tests for roga_bench.metrics: hand-computed values, brute-force counts, EER, video grouping."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from roga_bench import metrics as M


def test_scores_from_logits_matches_softmax_and_is_stable() -> None:
    logits = np.array([[0.0, 0.0], [1.0, 3.0], [1000.0, -1000.0], [-800.0, 800.0]])
    s = M.scores_from_logits(logits)
    assert s.dtype == np.float64
    np.testing.assert_allclose(s, [0.5, 1 / (1 + math.exp(-2.0)), 0.0, 1.0], atol=1e-12)
    t = torch.tensor([[2.0, -1.0, 0.5]], requires_grad=True)
    expected = torch.softmax(t, dim=1)[0, 1].item()
    assert M.scores_from_logits(t)[0] == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match=r"\[N, C>=2\]"):
        M.scores_from_logits(np.zeros(3))


def test_hand_computed_values() -> None:
    y = [0, 0, 1, 1]
    s = [0.1, 0.6, 0.4, 0.9]
    # predictions at 0.5: 0, 1, 0, 1 -> two of four right
    assert M.accuracy(y, s) == 0.5
    assert M.accuracy(y, s, threshold=0.3) == 0.75  # 0, 1, 1, 1
    # pairs (pos, neg): (0.4,0.1) ok, (0.4,0.6) wrong, (0.9,*) ok -> 3/4
    assert M.auc(y, s) == 0.75
    # ranking 0.9(P) 0.6(N) 0.4(P) 0.1(N): precision at the positives = 1, 2/3
    assert M.average_precision(y, s) == pytest.approx((1 + 2 / 3) / 2)
    # ROC points (0,0) (0,.5) (.5,.5) (.5,1) (1,1): FNR = FPR = .5 exactly at (.5,.5)
    assert M.eer(y, s) == pytest.approx(0.5)
    assert M.accuracy([1, 0], [0.5, 0.4999]) == 1.0  # threshold is inclusive


def _pair_count_auc(y: np.ndarray, s: np.ndarray) -> float:
    """Mann-Whitney: P(score of a positive > score of a negative), ties counting one half."""
    pos, neg = s[y == 1], s[y == 0]
    wins = sum(float(p > n) + 0.5 * float(p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def _step_ap(y: np.ndarray, s: np.ndarray) -> float:
    """AP = sum over distinct thresholds t (descending) of (R(t) - R(prev)) * P(t), by counting."""
    ap, prev_recall = 0.0, 0.0
    for t in sorted(set(s.tolist()), reverse=True):
        chosen = s >= t
        tp = int((chosen & (y == 1)).sum())
        recall = tp / int((y == 1).sum())
        ap += (recall - prev_recall) * tp / int(chosen.sum())
        prev_recall = recall
    return ap


def test_auc_and_ap_with_ties_by_hand() -> None:
    y = np.array([0, 1, 0, 1, 1, 0])
    s = np.array([0.3, 0.3, 0.1, 0.8, 0.5, 0.5])
    # positives 0.3, 0.8, 0.5 vs negatives 0.3, 0.1, 0.5:
    # 0.3 -> tie + win + loss = 1.5; 0.8 -> 3; 0.5 -> win + win + tie = 2.5; 7 of 9 pairs
    assert M.auc(y, s) == pytest.approx(7 / 9, abs=1e-12)
    # thresholds 0.8 (P 1, R 1/3), 0.5 (P 2/3, R 2/3), 0.3 (P 3/5, R 1): (1 + 2/3 + 3/5) / 3
    assert M.average_precision(y, s) == pytest.approx(34 / 45, abs=1e-12)
    assert _pair_count_auc(y, s) == pytest.approx(7 / 9) and _step_ap(y, s) == pytest.approx(
        34 / 45
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_and_ap_match_brute_force_counts_on_random_data_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    s = np.clip(rng.normal(0.4 + 0.2 * y, 0.25), 0, 1).round(2)  # rounding creates ties
    pos, neg = s[y == 1], s[y == 0]
    ties = int((pos[:, None] == neg[None, :]).sum())
    assert ties > 100  # ties really occur, so their half weight is tested
    expected = _pair_count_auc(y, s)
    assert M.auc(y, s) == pytest.approx(expected, abs=1e-12)
    assert M.average_precision(y, s) == pytest.approx(_step_ap(y, s), abs=1e-12)
    videos = [f"v{i}" for i in range(len(y))]  # one frame per video: video AUC = frame AUC
    metrics = M.compute_metrics(y, s, videos)
    assert metrics["auc"] == pytest.approx(expected, abs=1e-12)
    assert metrics["video_auc"] == pytest.approx(expected, abs=1e-12)
    assert 0.6 < expected < 0.9  # the data is informative but not separable


def test_eer_extremes() -> None:
    y = [0, 0, 0, 1, 1]
    assert M.eer(y, [0.1, 0.2, 0.3, 0.8, 0.9]) == 0.0
    assert M.eer(y, [0.9, 0.8, 0.7, 0.2, 0.1]) == 1.0
    assert M.eer(y, [0.5] * 5) == pytest.approx(0.5)  # all tied: the diagonal


def test_eer_interpolates_between_roc_points() -> None:
    # negatives 0.2, 0.7; positives 0.5, 0.8, 0.9. ROC: (0,0) (0,1/3) (0,2/3) (.5,2/3) (.5,1) (1,1).
    # FNR stays 1/3 on the segment (0,2/3)-(.5,2/3), so FPR = FNR = 1/3 is interpolated there;
    # no threshold reaches it (the nearest points give FPR 0 / FNR 1/3 and FPR .5 / FNR 1/3).
    y = [0, 1, 0, 1, 1]
    s = [0.2, 0.5, 0.7, 0.8, 0.9]
    assert M.eer(y, s) == pytest.approx(1 / 3)


def test_eer_on_tied_scores_diagonal_segment() -> None:
    # a tie between a negative and a positive gives the diagonal (0,.5)-(1,1); on it
    # FNR = .5 - .5 f and FPR = f cross at f = 1/3
    assert M.eer([0, 1, 1], [0.5, 0.5, 0.9]) == pytest.approx(1 / 3)


def test_eer_is_where_fpr_equals_fnr_on_random_data() -> None:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 2000)
    s = rng.normal(y * 1.0, 1.0)
    e = M.eer(y, s)
    # a threshold near the EER point has FPR ~ FNR ~ EER (Gaussian overlap: Phi(-0.5) ~ 0.31)
    assert e == pytest.approx(0.3085, abs=0.03)
    thr = np.quantile(s[y == 0], 1 - e)
    fnr = np.mean(s[y == 1] < thr)
    assert fnr == pytest.approx(e, abs=0.02)


def test_video_auc_groups_by_full_id_not_folder_name() -> None:
    # two methods reuse the folder name 000_003; a real video 000 and another fake video 111
    ids = ["FF-DF/000_003"] * 2 + ["FF-F2F/000_003"] * 2 + ["FF-real/000"] * 2 + ["FF-NT/111"]
    y = [1, 1, 1, 1, 0, 0, 1]
    s = [0.9, 0.7, 0.1, 0.3, 0.4, 0.2, 0.6]
    # video means: DF 0.8, F2F 0.2, real 0.3, NT 0.6 -> fakes {0.8, 0.2, 0.6} vs real {0.3}: 2/3
    assert M.video_auc(y, s, ids) == pytest.approx(2 / 3)
    # grouping by folder name would merge DF and F2F into one fake video (mean 0.5): AUC 1
    folder_ids = [i.split("/")[1] for i in ids]
    assert M.video_auc(y, s, folder_ids) == pytest.approx(1.0)


def test_video_auc_rejects_mixed_label_video() -> None:
    with pytest.raises(ValueError, match="v1"):
        M.video_auc([0, 1, 0], [0.1, 0.9, 0.2], ["v1", "v1", "v2"])


def test_compute_metrics_matches_individual_functions() -> None:
    rng = np.random.default_rng(3)
    y = np.repeat(rng.integers(0, 2, 40), 4)
    ids = np.repeat([f"L{i}/vid" for i in range(40)], 4).tolist()
    s = rng.uniform(0, 1, y.size)
    m = M.compute_metrics(y, s, ids)
    assert set(m) == {"acc", "auc", "ap", "eer", "video_auc"}
    assert all(type(v) is float for v in m.values())
    assert m["acc"] == M.accuracy(y, s)
    assert m["auc"] == M.auc(y, s)
    assert m["ap"] == M.average_precision(y, s)
    assert m["eer"] == M.eer(y, s)
    assert m["video_auc"] == M.video_auc(y, s, ids)


@pytest.mark.parametrize("fn", [M.auc, M.average_precision, M.eer])
def test_one_class_gives_nan_and_warning(fn) -> None:
    with pytest.warns(M.OneClassWarning, match="only class 1"):
        assert math.isnan(fn([1, 1, 1], [0.2, 0.5, 0.9]))


def test_one_class_compute_metrics_warns_once_and_keeps_accuracy() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = M.compute_metrics([0, 0, 0], [0.2, 0.7, 0.1], ["a", "b", "b"])
    assert [w.category for w in caught] == [M.OneClassWarning]
    assert issubclass(M.OneClassWarning, RuntimeWarning)
    assert m["acc"] == pytest.approx(2 / 3)
    assert all(math.isnan(m[k]) for k in ("auc", "ap", "eer", "video_auc"))
    with pytest.warns(M.OneClassWarning):
        assert math.isnan(M.video_auc([0, 0], [0.1, 0.2], ["a", "b"]))


@pytest.mark.parametrize(
    ("labels", "scores", "match"),
    [
        ([], [], "empty"),
        ([0, 1], [0.5], "2 entries"),
        ([0, 2], [0.1, 0.2], "0 \\(real\\) or 1"),
        ([0, 1], [0.1, float("nan")], "non-finite"),
        ([[0, 1]], [[0.1, 0.2]], "1-D"),
    ],
)
def test_bad_input_raises_value_error(labels, scores, match) -> None:
    with pytest.raises(ValueError, match=match):
        M.auc(labels, scores)
    with pytest.raises(ValueError, match=match):
        M.accuracy(labels, scores)


def test_compute_metrics_rejects_wrong_number_of_video_ids() -> None:
    with pytest.raises(ValueError, match="video_ids has 1"):
        M.compute_metrics([0, 1], [0.1, 0.9], ["a"])
