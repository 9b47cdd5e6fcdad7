"""ACC and EER as roga_bench defines them and as DeepfakeBench does (docs/reporting.md).

DeepfakeBench (training/metrics/utils.py, get_test_metrics): ``acc`` predicts fake at
``y_pred > 0.5``; ``eer = fpr[nanargmin(|fnr - fpr|)]`` on sklearn's default (thinned) ROC.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from roga_bench.datasets import FFppLOMO
from roga_bench.metrics import METRIC_FLAVOURS, accuracy, compute_metrics, eer
from roga_bench.training._evaluate import evaluate


def test_accuracy_at_exactly_one_half():
    labels, scores = [1, 0], [0.5, 0.2]
    assert accuracy(labels, scores) == 1.0  # 0.5 >= 0.5: fake, right
    assert accuracy(labels, scores, flavour="deepfakebench") == 0.5  # 0.5 > 0.5 is false: real


def test_eer_interpolated_versus_nearest_roc_point():
    # ROC: (0, 0), (0, .5), (1, .5), (1, 1); FNR - FPR = 1, .5, -.5, -1.
    labels, scores = [0, 1, 1], [0.5, 0.3, 0.9]
    assert eer(labels, scores) == pytest.approx(0.5)  # crossing halfway along (0,.5)-(1,.5)
    assert eer(labels, scores, flavour="deepfakebench") == 0.0  # tie .5/.5: first point, FPR 0


def test_flavours_agree_where_the_roc_hits_the_diagonal_and_away_from_one_half():
    labels, scores = [0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9]  # ROC point (.5, .5) lies on FPR = FNR
    for fn in (eer, accuracy):
        assert fn(labels, scores) == fn(labels, scores, flavour="deepfakebench")
    assert eer(labels, scores) == 0.5 and accuracy(labels, scores) == 0.5


def test_compute_metrics_flavour_changes_only_acc_and_eer():
    labels, scores, ids = [0, 1, 1], [0.5, 0.3, 0.9], ["r/0", "f/1", "f/2"]
    ours = compute_metrics(labels, scores, ids)
    theirs = compute_metrics(labels, scores, ids, flavour="deepfakebench")
    assert (ours["acc"], theirs["acc"]) == (pytest.approx(1 / 3), pytest.approx(2 / 3))
    assert (ours["eer"], theirs["eer"]) == (pytest.approx(0.5), 0.0)
    for key in ("auc", "ap", "video_auc"):
        assert ours[key] == theirs[key]


def test_unknown_flavour_is_an_error():
    with pytest.raises(ValueError, match="metrics flavour must be one of"):
        eer([0, 1], [0.2, 0.8], flavour="sklearn")
    assert METRIC_FLAVOURS == ("roga_bench", "deepfakebench")


class _Half:
    """Every input scores exactly P(fake) = 0.5."""

    def predict(self, x):
        return torch.zeros(len(x), 2)

    def eval(self):
        return self

    def train(self):
        return self


class _Data:
    def __init__(self, flavour):
        self.hparams = {"metrics_flavour": flavour}
        self.data = TensorDataset(torch.zeros(4, 1), torch.tensor([1, 1, 1, 0]))

    def split(self, env, split):
        return self.data

    def video_ids(self, env, split):
        return ["f/0", "f/1", "f/2", "r/0"]


@pytest.mark.parametrize(("flavour", "acc"), [("roga_bench", 0.75), ("deepfakebench", 0.25)])
def test_evaluation_reads_the_metrics_flavour_hparam(flavour, acc):
    out = evaluate(_Half(), _Data(flavour), [("env0_out", 0, "val")], torch.device("cpu"))
    assert out["env0_out_acc"] == acc
    # all scores tie: interpolated EER 0.5; nearest ROC point of (0,0),(1,1) is a tie -> FPR 0
    assert out["env0_out_eer"] == (0.5 if flavour == "roga_bench" else 0.0)


def test_metrics_flavour_is_a_dataset_hparam():
    hp = FFppLOMO.resolve_hparams({})
    assert hp["metrics_flavour"] == "roga_bench"
    assert set(FFppLOMO.HPARAMS["metrics_flavour"].choices) == set(METRIC_FLAVOURS)
    assert np.isfinite(eer([0, 1], [0.2, 0.8], flavour="deepfakebench"))
