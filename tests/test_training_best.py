"""Issue 11.2/11.7: every env's test split is evaluated, the best checkpoint is saved, and
``checkpoint.pt`` outlives the moment ``done`` is written."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from test_training_standins import ALGORITHM, DATASET, TinyERM, TinyTrainDataset

from roga_bench.reporting import load_records, select
from roga_bench.training import TrainConfig, read_records, train
from roga_bench.training._best import BestCheckpoint, validation_score
from roga_bench.training._evaluate import eval_splits, evaluate
from roga_bench.training._loop import _Run

METRICS = ("acc", "auc", "ap", "eer", "loss", "video_auc")


def config(tmp_path: Path, name: str = "run", **kw) -> TrainConfig:
    # lr 0.01, seed 0, a checkpoint every step: the training-env validation AUC peaks at step 2
    # and ties it at steps 3-6, so the best step is neither the first nor the last one
    args = dict(dataset=DATASET, algorithm=ALGORITHM, test_envs=[1], device="cpu")
    args.update(hparams='{"lr": 0.01}', checkpoint_freq=1)
    args.update(kw)
    return TrainConfig.from_args({**args, "output_dir": str(tmp_path / name)})


class CountingDataset(TinyTrainDataset):
    calls: list[tuple[int, str]] = []

    def split(self, i: int, name: str):
        self.calls.append((i, name))
        return super().split(i, name)


def test_every_env_test_split_is_evaluated_once() -> None:
    ds = CountingDataset(None, [1], {})
    model = TinyERM(ds.input_shape, 2, 2, {"lr": 0.1, "momentum": 0.0})
    CountingDataset.calls = []
    out = evaluate(model, ds, eval_splits(3, [1], False), torch.device("cpu"))
    # training envs 0 and 2: val and test; test env 1: val and test, its test split only once
    assert sorted(CountingDataset.calls) == [
        (0, "test"),
        (0, "val"),
        (1, "test"),
        (1, "val"),
        (2, "test"),
        (2, "val"),
    ]
    for m in METRICS:
        assert out[f"env1_test_{m}"] == out[f"env1_in_{m}"]
    # a training env's test split is its own data, not its validation split
    assert out["env0_test_loss"] != out["env0_out_loss"]
    assert {k.rsplit("_", 1)[0] for k in out if not k.endswith(("video_auc", "auc_se"))} == {
        "env0_out",
        "env0_test",
        "env1_in",
        "env1_out",
        "env1_test",
        "env2_out",
        "env2_test",
    }


def test_training_env_test_metrics_match_the_saved_model(tmp_path: Path) -> None:
    out = train(config(tmp_path))
    last = read_records(out / "results.jsonl")[-1]
    saved = torch.load(out / "model.pkl", weights_only=True)
    ds = TinyTrainDataset(None, [1], {})
    model = TinyERM(ds.input_shape, 2, 2, {"lr": 0.1, "momentum": 0.0})
    model.load_state_dict(saved["model_dict"])
    again = evaluate(model, ds, [("x", 0, "test")], torch.device("cpu"))
    assert last["env0_test_loss"] == pytest.approx(again["x_loss"])
    assert last["env0_test_auc"] == pytest.approx(again["x_auc"])


def test_model_best_is_the_checkpoint_iid_selection_picks(tmp_path: Path) -> None:
    out = train(config(tmp_path, save_model_every_checkpoint=True))
    records = read_records(out / "results.jsonl")
    scores = [validation_score(r, [0, 2]) for r in records]
    best = scores.index(max(scores))  # the first maximum: ties go to the earlier step
    assert best == 2 and scores[3] == scores[2]  # the case this config was chosen for
    assert [r["best_step"] for r in records] == [0, 1, 2, 2, 2, 2, 2]
    saved = torch.load(out / "model_best.pkl", weights_only=True)
    step2 = torch.load(out / "model_step2.pkl", weights_only=True)
    last = torch.load(out / "model.pkl", weights_only=True)
    assert saved["step"] == 2 and last["step"] == 6
    assert set(saved) == set(last)  # same format as model.pkl
    for key, value in step2["model_dict"].items():
        assert torch.equal(saved["model_dict"][key], value)
    assert not torch.equal(
        saved["model_dict"]["network.2.weight"], last["model_dict"]["network.2.weight"]
    )
    row = select(load_records(tmp_path).df, "iid").iloc[0]
    assert row.step == saved["step"]


def test_best_checkpoint_ranks_nan_last_and_keeps_the_first_of_ties() -> None:
    best = BestCheckpoint([0, 2])
    nan = float("nan")
    assert best.offer({"step": 0, "env0_out_auc": nan, "env2_out_auc": nan})
    assert best.offer({"step": 1, "env0_out_auc": 0.6, "env2_out_auc": nan})  # NaN skipped
    assert not best.offer({"step": 2, "env0_out_auc": 0.5, "env2_out_auc": 0.7})  # tie: keep 1
    assert not best.offer({"step": 3, "env0_out_auc": nan, "env2_out_auc": nan})
    assert best.offer({"step": 4, "env0_out_auc": 0.9, "env2_out_auc": 0.5, "env1_out_auc": 0.0})
    assert (best.step, best.score) == (4, pytest.approx(0.7))


def test_kill_before_model_best_is_written_is_repaired_on_resume(tmp_path, monkeypatch) -> None:
    full = train(config(tmp_path, "full"))
    real = _Run.save_model

    def killed(self, name: str, step: int) -> None:
        if name == "model_best.pkl" and step == 2:
            raise KeyboardInterrupt("killed after the step-2 checkpoint")
        real(self, name, step)

    monkeypatch.setattr(_Run, "save_model", killed)
    with pytest.raises(KeyboardInterrupt):
        train(config(tmp_path, "resumed"))
    out = tmp_path / "resumed"
    assert torch.load(out / "model_best.pkl", weights_only=True)["step"] == 1  # stale
    monkeypatch.setattr(_Run, "save_model", real)
    train(config(tmp_path, "resumed"))
    assert "starting after step 2" in (out / "out.txt").read_text()
    a = torch.load(full / "model_best.pkl", weights_only=True)
    b = torch.load(out / "model_best.pkl", weights_only=True)
    assert a["step"] == b["step"] == 2
    assert all(torch.equal(a["model_dict"][k], v) for k, v in b["model_dict"].items())


def test_checkpoint_is_removed_only_after_done(tmp_path, monkeypatch) -> None:
    """A kill between the two must not lose the resume point (old code removed it first)."""
    seen: list[bool] = []
    real_unlink = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self.name == "checkpoint.pt":
            seen.append((self.parent / "done").exists())
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    out = train(config(tmp_path, steps=2))
    assert seen == [True]
    assert (out / "done").exists() and not (out / "checkpoint.pt").exists()


def test_kill_after_done_before_cleanup_is_cleaned_on_rerun(tmp_path, monkeypatch) -> None:
    real_unlink = Path.unlink

    def killed(self: Path, missing_ok: bool = False) -> None:
        if self.name == "checkpoint.pt":
            raise KeyboardInterrupt("killed after done")
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", killed)
    with pytest.raises(KeyboardInterrupt):
        train(config(tmp_path, steps=2))
    out = tmp_path / "run"
    assert (out / "done").exists() and (out / "checkpoint.pt").exists()
    monkeypatch.setattr(Path, "unlink", real_unlink)
    before = (out / "results.jsonl").read_text()
    train(config(tmp_path, steps=2))
    assert not (out / "checkpoint.pt").exists()
    assert (out / "results.jsonl").read_text() == before


def test_kill_after_the_last_checkpoint_resumes_without_retraining(tmp_path, monkeypatch) -> None:
    full = train(config(tmp_path, "full", steps=3))
    real = _Run.save_model

    def killed(self, name: str, step: int) -> None:
        if name == "model.pkl":
            raise KeyboardInterrupt("killed before model.pkl")
        real(self, name, step)

    monkeypatch.setattr(_Run, "save_model", killed)
    with pytest.raises(KeyboardInterrupt):
        train(config(tmp_path, "resumed", steps=3))
    monkeypatch.setattr(_Run, "save_model", real)
    out = train(config(tmp_path, "resumed", steps=3))
    assert "starting after step 2; dropped 0" in (out / "out.txt").read_text()
    a = torch.load(full / "model.pkl", weights_only=True)["model_dict"]
    b = torch.load(out / "model.pkl", weights_only=True)["model_dict"]
    assert all(torch.equal(a[k], v) for k, v in b.items()) and (out / "done").exists()
