"""The real-scale path on the CPU: loader workers, the eval policy, shared frames, --keep,
per-job peak memory, --pretrained_dir (tiny fake weight files)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from test_training import comparable

from roga_bench.backbones.pretrained_dir import (
    RELEASED_NAMES,
    MissingWeightsError,
    resolve_pretrained,
)
from roga_bench.sweep import main as sweep_main
from roga_bench.training import ConfigError, TrainConfig, read_records, train
from roga_bench.training._evaluate import Evaluator, eval_splits
from roga_bench.training._plan import make_plan
from roga_bench.training._speed import auto_num_workers, resolve_speed
from roga_bench.training._state import memory_gb

TINY = '{"batch_size": 4, "image_size": 32}'
AUGMENTED = '{"batch_size": 4, "image_size": 32, "data_augmentation": true}'


def _config(data: Path, out: Path, **kw) -> TrainConfig:
    args = dict(
        dataset="SynthFFLOMO", algorithm="ERM", data_dir=str(data), test_envs=[0], steps=3,
        checkpoint_freq=2, hparams=TINY, device="cpu", output_dir=str(out),
    )  # fmt: skip
    return TrainConfig.from_args({**args, **kw})


def _weights(folder: Path) -> dict:
    return torch.load(folder / "model.pkl", weights_only=True)["model_dict"]


def _without(records: list[dict], *keys: str) -> list[dict]:
    out = comparable(records)
    for r in out:
        r["args"] = {k: v for k, v in r["args"].items() if k not in keys}
    return out


def test_cpu_defaults_resolve_to_the_old_path():
    speed = resolve_speed(
        {"deterministic": "auto", "channels_last": "auto"}, torch.device("cpu"), None
    )
    assert (speed.deterministic, speed.channels_last, speed.num_workers) == (True, False, 0)
    assert not speed.pin_memory and not speed.sample_seeds
    assert auto_num_workers(torch.device("cuda"), cores=4) == 3
    assert auto_num_workers(torch.device("cuda"), cores=1) == 0
    assert auto_num_workers(torch.device("cpu"), cores=16) == 0


def test_results_with_workers_equal_results_without(tiny_synthff, tmp_path):
    """Augmented training batches: each sample has its own seed, so 2 workers = 0 workers."""
    a = train(_config(tiny_synthff, tmp_path / "w0", num_workers=0, hparams=AUGMENTED))
    b = train(_config(tiny_synthff, tmp_path / "w2", num_workers=2, hparams=AUGMENTED))
    ra, rb = read_records(a / "results.jsonl"), read_records(b / "results.jsonl")
    assert _without(ra, "num_workers") == _without(rb, "num_workers") and len(ra) == 2
    wa, wb = _weights(a), _weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    # the augmentation is live: another seed gives other weights
    c = train(_config(tiny_synthff, tmp_path / "s1", num_workers=0, hparams=AUGMENTED, seed=1))
    assert not all(torch.equal(wa[k], _weights(c)[k]) for k in wa)


def test_eval_targets_selectable_scores_targets_only_where_selection_can_pick(
    tiny_synthff, tmp_path
):
    out = train(_config(tiny_synthff, tmp_path / "sel", steps=5, checkpoint_freq=1,
                        eval_targets="selectable"))  # fmt: skip
    records = read_records(out / "results.jsonl")
    full = train(_config(tiny_synthff, tmp_path / "all", steps=5, checkpoint_freq=1))
    reference = read_records(full / "results.jsonl")
    for r, ref in zip(records, reference, strict=True):
        scored = "env0_in_auc" in r
        assert scored == (r["best_step"] == r["step"] or r["step"] == 4)
        assert r["env1_out_auc"] == ref["env1_out_auc"]  # training envs: always, same values
        if scored:
            assert r["env0_in_auc"] == ref["env0_in_auc"]
    assert "env0_in_auc" in records[-1]
    assert any("env0_in_auc" not in r for r in records)  # 5 checkpoints, not all new bests


def test_shared_frames_are_scored_once(tiny_synthff):
    """SynthFF's FF-real videos sit in every method env: with share_frames they are forwarded
    once per checkpoint, and the metrics match scoring every env on its own."""
    from roga_bench.algorithms import get_algorithm_class
    from roga_bench.datasets import get_dataset_class

    hp = {"batch_size": 4, "image_size": 32}
    dataset = get_dataset_class("SynthFFLOMO")(str(tiny_synthff), [0], hp)
    torch.manual_seed(0)
    alg = get_algorithm_class("ERM")(dataset.input_shape, 2, 3, {**dataset.hparams, **hp})
    splits = eval_splits(len(dataset), [0], False)
    plain = Evaluator(dataset, torch.device("cpu"))
    shared = Evaluator(dataset, torch.device("cpu"), share_frames=True)
    a, b = plain(alg, splits), shared(alg, splits)
    assert a.keys() == b.keys()
    assert np.allclose([a[k] for k in a], [b[k] for k in a], atol=1e-5)
    assert shared.frames_scored < plain.frames_scored
    assert shared(alg, splits) == b  # loaders kept: the second checkpoint scores the same
    # with workers: one persistent loader for every split, started once per run
    pooled = Evaluator(
        dataset, torch.device("cpu"), num_workers=2, share_frames=True, splits=splits
    )
    c = pooled(alg, splits[:3])
    assert np.allclose([a[k] for k in c], [c[k] for k in c], atol=1e-5)
    workers = pooled._pooled.loader._iterator._workers  # noqa: SLF001  (the same processes)
    assert np.allclose([a[k] for k in a], [pooled(alg, splits)[k] for k in a], atol=1e-5)
    assert pooled._pooled.loader._iterator._workers == workers


def test_done_folder_keeps_what_keep_names(tiny_synthff, tmp_path):
    full = train(_config(tiny_synthff, tmp_path / "full"))
    assert {"model.pkl", "model_best.pkl", "done"} <= {p.name for p in full.iterdir()}
    assert not (full / "checkpoint.pt").exists()
    bare = train(_config(tiny_synthff, tmp_path / "bare", keep="none"))
    names = {p.name for p in bare.iterdir()}
    assert "done" in names and not names & {"model.pkl", "model_best.pkl", "checkpoint.pt"}
    with pytest.raises(ConfigError, match="--keep 'weights'"):
        make_plan(_config(tiny_synthff, tmp_path / "x", keep="weights"))


def test_a_job_reports_its_own_peak_memory(tiny_synthff, tmp_path):
    """As in a warm pool worker: a big earlier peak in this process is not this job's."""
    big = np.ones(200_000_000)  # ~1.5 GiB touched, then freed (more than the job's own peak)
    big_gb = big.nbytes / 2**30
    del big
    earlier = memory_gb(torch.device("cpu"))  # the process's peak so far (VmHWM / ru_maxrss)
    out = train(_config(tiny_synthff, tmp_path / "job"))
    mem = read_records(out / "results.jsonl")[-1]["mem_gb"]
    assert earlier >= big_gb
    assert 0 < mem < earlier - big_gb / 2


# --- pretrained_dir ---------------------------------------------------------------------------
def _fake_weights(path: Path) -> Path:
    torch.save({"conv1.weight": torch.zeros(1)}, path)
    return path


def test_released_names_and_weights_json(tmp_path):
    for backbone, name in RELEASED_NAMES.items():
        _fake_weights(tmp_path / name)
        assert resolve_pretrained(backbone, tmp_path) == tmp_path / name
    assert resolve_pretrained("small_cnn", tmp_path) is None  # trains from scratch
    mapped = _fake_weights(tmp_path / "my_r34.pth")
    (tmp_path / "weights.json").write_text(json.dumps({"resnet34": "my_r34.pth"}))
    assert resolve_pretrained("resnet34", tmp_path) == mapped


def test_pretrained_dir_errors(tmp_path):
    with pytest.raises(MissingWeightsError, match="'xception' expects .*xception-b5690688.pth"):
        resolve_pretrained("xception", tmp_path)
    (tmp_path / "weights.json").write_text(json.dumps({"resnet34": "gone.pth"}))
    with pytest.raises(MissingWeightsError, match="'resnet34' expects .*gone.pth .*weights.json"):
        resolve_pretrained("resnet34", tmp_path)
    (tmp_path / "weights.json").write_text("{oops")
    with pytest.raises(MissingWeightsError, match="weights.json: not valid JSON"):
        resolve_pretrained("resnet34", tmp_path)
    with pytest.raises(MissingWeightsError, match="not a folder"):
        resolve_pretrained("resnet34", tmp_path / "nope")


def test_plan_fills_pretrained_or_stops_before_any_folder(tiny_synthff, tmp_path):
    hp = '{"batch_size": 4, "image_size": 32, "backbone": "resnet34"}'
    weights = tmp_path / "weights"
    weights.mkdir()
    out = tmp_path / "run"
    cfg = _config(tiny_synthff, out, hparams=hp, pretrained_dir=str(weights))
    with pytest.raises(ConfigError, match="'resnet34' expects .*resnet34-b627a593.pth"):
        train(cfg)
    assert not out.exists()
    scratch = _config(tiny_synthff, out, hparams=hp, pretrained_dir=str(weights), from_scratch=True)
    assert make_plan(scratch).hparams["pretrained"] == ""
    _fake_weights(weights / "resnet34-b627a593.pth")
    assert make_plan(cfg).hparams["pretrained"] == str(weights / "resnet34-b627a593.pth")


def test_sweep_stops_before_any_job_on_missing_weights(tmp_path, capsys):
    weights = tmp_path / "weights"
    weights.mkdir()
    out = tmp_path / "sweep"
    argv = ["launch", "--algorithms", "ERM", "--backbones", "resnet34", "xception",
            "--output_dir", str(out), "--pretrained_dir", str(weights), "--skip_confirmation",
            "--command_launcher", "dummy", "--steps", "1"]  # fmt: skip
    _fake_weights(weights / "resnet34-b627a593.pth")
    assert sweep_main(argv) == 2
    err = capsys.readouterr().err
    assert "'xception' expects" in err and "xception-b5690688.pth" in err
    assert not out.exists() or not any(out.iterdir())
    _fake_weights(weights / "xception-b5690688.pth")
    assert sweep_main(argv) == 0


def test_sweep_status_prints_the_folder_size(tiny_synthff, tmp_path, capsys):
    out = tmp_path / "sweep"
    (out / "x").mkdir(parents=True)
    (out / "x" / "blob").write_bytes(b"0" * 3000)
    assert sweep_main(["status", "--algorithms", "ERM", "--output_dir", str(out)]) == 0
    assert f"size of {out}: 2.9 KiB in 1 files" in capsys.readouterr().out
