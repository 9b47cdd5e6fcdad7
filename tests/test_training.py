"""One run end to end on the test-only stand-ins: results.jsonl, done, model.pkl, NaN, resume."""

from __future__ import annotations

import io
import json
import math
import sys
from pathlib import Path

import pytest
import torch
from test_training_standins import ALGORITHM, DATASET, NAN_ALGORITHM, TinyERM

from roga_bench.training import (
    ConfigError,
    TrainConfig,
    TrainingError,
    read_records,
    repair_results,
    train,
)
from roga_bench.training._loaders import InfiniteLoader

METRICS = ("acc", "auc", "ap", "eer", "loss", "video_auc", "auc_se")  # auc_se: DeLong


def comparable(records: list[dict]) -> list[dict]:
    """Records without timing keys and without the (run-specific) output_dir."""
    out = []
    for r in records:
        r = {k: v for k, v in r.items() if k not in ("step_time", "mem_gb")}
        r["args"] = {k: v for k, v in r["args"].items() if k != "output_dir"}
        out.append(r)
    return out


def config(tmp_path: Path, name: str = "run", **kw) -> TrainConfig:
    args = dict(dataset=DATASET, algorithm=ALGORITHM, test_envs=[1], device="cpu")
    args.update(kw)
    return TrainConfig.from_args({**args, "output_dir": str(tmp_path / name)})


def test_run_writes_domainbed_records(tmp_path: Path) -> None:
    out = train(config(tmp_path))
    records = read_records(out / "results.jsonl")
    # N_STEPS 7, CHECKPOINT_FREQ 3: DomainBed records steps 0, 3, 6 (the last one).
    assert [r["step"] for r in records] == [0, 3, 6]
    evaluated = {f"env{i}_out_{m}" for i in range(3) for m in METRICS}
    evaluated |= {f"env{i}_test_{m}" for i in range(3) for m in METRICS}
    evaluated |= {f"env1_in_{m}" for m in METRICS}
    expected = {
        "step",
        "epoch",
        "step_time",
        "mem_gb",
        "loss",
        "n",
        "args",
        "hparams",
        "dataset_environments",
        "best_step",
    } | evaluated
    assert set(records[0]) == expected
    # 2 training envs of 24 samples, batch 4: epoch = step * 4 / 24.
    assert records[1]["epoch"] == pytest.approx(3 * 4 / 24)
    assert records[0]["n"] == 8.0  # two minibatches of 4 per step
    assert records[0]["args"]["test_envs"] == [1]
    assert records[0]["args"]["output_dir"] == str(out)
    assert records[0]["hparams"]["batch_size"] == 4
    assert 0.0 <= records[-1]["env0_out_acc"] <= 1.0 and records[-1]["mem_gb"] > 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["done", "err.txt", "model.pkl", "model_best.pkl", "out.txt", "results.jsonl"]
    assert (out / "done").stat().st_mtime_ns >= (out / "model.pkl").stat().st_mtime_ns
    assert "hparams:" in (out / "out.txt").read_text()


def test_model_pkl_loads_with_weights_only(tmp_path: Path) -> None:
    out = train(config(tmp_path, steps=2))
    saved = torch.load(out / "model.pkl", weights_only=True)
    assert saved["model_input_shape"] == (3, 8, 8)
    assert saved["model_num_classes"] == 2 and saved["model_num_domains"] == 2
    assert saved["args"]["dataset"] == DATASET and saved["model_hparams"]["batch_size"] == 4
    assert "network.2.weight" in saved["model_dict"]


def test_same_args_give_identical_records(tmp_path: Path) -> None:
    a = read_records(train(config(tmp_path, "a")) / "results.jsonl")
    b = read_records(train(config(tmp_path, "b")) / "results.jsonl")
    assert comparable(a) == comparable(b)
    c = read_records(train(config(tmp_path, "c", seed=1)) / "results.jsonl")
    assert comparable(a) != comparable(c)  # the seed matters, so the equality above means something


def test_eval_train_and_multiple_test_envs(tmp_path: Path) -> None:
    out = train(config(tmp_path, steps=1, test_envs=[0, 2], eval_train=True))
    (record,) = read_records(out / "results.jsonl")
    prefixes = {k.rsplit("_", 1)[0] for k in record if k.startswith("env")}
    prefixes = {p.replace("_video", "").replace("_auc", "") for p in prefixes}  # video_auc, auc_se
    domainbed = {"env0_in", "env0_out", "env1_in", "env1_out", "env2_in", "env2_out"}
    assert prefixes == domainbed | {"env0_test", "env1_test", "env2_test"}


def test_nan_loss_raises_and_leaves_no_done(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match=r"step 1.*'loss'"):
        train(config(tmp_path, algorithm=NAN_ALGORITHM, steps=3))
    out = tmp_path / "run"
    assert not (out / "done").exists()
    assert "TrainingError: non-finite loss at step 1" in (out / "err.txt").read_text()


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_never_in_logs(tmp_path: Path, monkeypatch) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    out = train(config(tmp_path, steps=2))
    assert "2/2" in terminal.getvalue()  # tqdm drew the bar on the terminal
    assert "2/2" not in (out / "err.txt").read_text() + (out / "out.txt").read_text()
    plain = io.StringIO()  # not a terminal: no bar at all
    monkeypatch.setattr(sys, "stderr", plain)
    train(config(tmp_path, "plain", steps=2))
    assert "2/2" not in plain.getvalue()


def test_done_folder_is_not_rerun(tmp_path: Path) -> None:
    out = train(config(tmp_path, steps=2))
    before = (out / "results.jsonl").read_text()
    train(config(tmp_path, steps=2))
    assert (out / "results.jsonl").read_text() == before


def test_resume_in_process_matches_uninterrupted(tmp_path: Path) -> None:
    full_dir = train(config(tmp_path, "full", save_model_every_checkpoint=True))
    full = read_records(full_dir / "results.jsonl")
    steps = sorted(p.name for p in full_dir.glob("model_step*.pkl"))
    assert steps == ["model_step0.pkl", "model_step3.pkl", "model_step6.pkl"]
    TinyERM.crash_at_call = 6  # step 5: after the step-3 checkpoint, before the last line
    try:
        with pytest.raises(RuntimeError, match="simulated crash"):
            train(config(tmp_path, "resumed", save_model_every_checkpoint=True))
    finally:
        TinyERM.crash_at_call = None
    out = tmp_path / "resumed"
    assert (out / "checkpoint.pt").exists() and not (out / "done").exists()
    assert "simulated crash" in (out / "err.txt").read_text()
    with open(out / "results.jsonl", "a") as f:  # plus a line torn by a kill mid-write
        f.write('{"step": 6, "env0_out_acc": 0.')
    train(config(tmp_path, "resumed", save_model_every_checkpoint=True))
    assert comparable(read_records(out / "results.jsonl")) == comparable(full)
    assert (out / "done").exists() and not (out / "checkpoint.pt").exists()
    assert "starting after step 3; dropped 1" in (out / "out.txt").read_text()


def test_resume_refuses_other_args(tmp_path: Path) -> None:
    TinyERM.crash_at_call = 2
    try:
        with pytest.raises(RuntimeError):
            train(config(tmp_path, checkpoint_freq=1))
    finally:
        TinyERM.crash_at_call = None
    with pytest.raises(ConfigError, match=r"checkpoint.pt: written by a run with other args.*seed"):
        train(config(tmp_path, checkpoint_freq=1, seed=3))


def test_torn_and_late_lines_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text('{"step": 0}\n{"step": 5}\n{"step": 10}\n{"step": 1')
    assert repair_results(path, 5) == 2
    assert path.read_text() == '{"step": 0}\n{"step": 5}\n'
    assert repair_results(path, None) == 2 and path.read_text() == ""
    path.write_text('{"step": 0}\n{"st\n{"step": 1}\n')
    with pytest.raises(ValueError, match="results.jsonl:2"):
        repair_results(path, 5)


def test_loader_state_reproduces_batches() -> None:
    data = torch.utils.data.TensorDataset(torch.arange(10).float(), torch.arange(10))
    loader = InfiniteLoader(data, 3, seed=7)
    first = [next(loader)[1].tolist() for _ in range(4)]  # crosses an epoch (3 batches each)
    state = loader.state_dict()
    rest = [next(loader)[1].tolist() for _ in range(5)]
    resumed = InfiniteLoader(data, 3, seed=999, state=state)  # the state wins over the seed
    assert [next(resumed)[1].tolist() for _ in range(5)] == rest
    assert all(len(set(b)) == 3 for b in first + rest)
    assert sorted(sum(first[:3], [])) != list(range(9))  # shuffled, and drop_last leaves one out
    with pytest.raises(ValueError, match="fewer than one batch"):
        InfiniteLoader(data, 11, seed=0, name="env 0 train split")


def test_loader_with_workers_tracks_the_consumed_batch() -> None:
    """Workers prefetch ahead; the state must still be that of the batch the caller consumed."""
    data = torch.utils.data.TensorDataset(torch.arange(10).float(), torch.arange(10))
    plain, workers = InfiniteLoader(data, 3, seed=3), InfiniteLoader(data, 3, seed=3, num_workers=1)
    for _ in range(4):
        assert torch.equal(next(plain)[1], next(workers)[1])
    a, b = plain.state_dict(), workers.state_dict()
    assert (a["epoch"], a["position"]) == (b["epoch"], b["position"]) == (1, 3)
    assert torch.equal(a["epoch_rng"], b["epoch_rng"])


def test_nan_check_covers_inf() -> None:
    from roga_bench.training._loop import _check_finite

    with pytest.raises(TrainingError, match="step 4"):
        _check_finite({"loss": math.inf, "acc": 1.0}, 4)
    _check_finite({"loss": 0.5}, 4)


def test_from_args_rejects_unknown_keys_and_accepts_dict_hparams() -> None:
    with pytest.raises(ConfigError, match="unknown train argument.*bogus.*valid: data_dir"):
        TrainConfig.from_args({"bogus": 1})
    cfg = TrainConfig.from_args({"hparams": {"lr": 0.1, "batch_size": 2}, "test_envs": 3})
    assert json.loads(cfg.hparams) == {"batch_size": 2, "lr": 0.1} and cfg.test_envs == (3,)
