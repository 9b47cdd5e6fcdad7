"""``python -m roga_bench.train``: every argument parses to the right type; bad input exits 2."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_training_standins import ALGORITHM, DATASET, NAN_ALGORITHM

from roga_bench.train import main
from roga_bench.training import TrainConfig, build_parser, config_from_argv

FLAGS = ("skip_model_save", "save_model_every_checkpoint", "eval_train")


def test_parser_has_one_option_per_config_field() -> None:
    dests = {a.dest for a in build_parser()._actions if a.dest != "help"}
    assert dests == set(TrainConfig.field_names())


def test_defaults_equal_the_config_defaults() -> None:
    assert config_from_argv([]) == TrainConfig()


def test_every_argument_parses_to_its_type() -> None:
    argv = (
        '--data_dir /d --dataset X --algorithm RoGA --hparams {"lr":0.1} --hparams_seed 3 '
        "--trial_seed 2 --seed 9 --steps 11 --checkpoint_freq 4 --test_envs 0 2 --output_dir o "
        "--holdout_fraction 0.3 --uda_holdout_fraction 0.1 --skip_model_save "
        "--save_model_every_checkpoint --eval_train --frames_per_video 8 --compression c40 "
        "--device cpu --num_workers 2"
    )
    cfg = config_from_argv(argv.split())
    assert cfg.data_dir == "/d" and cfg.dataset == "X" and cfg.algorithm == "RoGA"
    assert cfg.hparams == '{"lr":0.1}' and (cfg.hparams_seed, cfg.trial_seed, cfg.seed) == (3, 2, 9)
    assert (cfg.steps, cfg.checkpoint_freq, cfg.test_envs) == (11, 4, (0, 2))
    assert cfg.output_dir == "o" and cfg.holdout_fraction == 0.3 and cfg.uda_holdout_fraction == 0.1
    assert all(getattr(cfg, flag) is True for flag in FLAGS)
    assert (cfg.frames_per_video, cfg.compression, cfg.device, cfg.num_workers) == (
        8,
        "c40",
        "cpu",
        2,
    )


@pytest.mark.parametrize("flag", FLAGS)
def test_flags_are_store_true(flag: str) -> None:
    assert getattr(config_from_argv([]), flag) is False
    assert getattr(config_from_argv([f"--{flag}"]), flag) is True
    with pytest.raises(SystemExit):  # no type=bool: "--flag False" is an error, not True
        config_from_argv([f"--{flag}", "False"])


def test_help_runs_as_a_module() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "roga_bench.train", "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "--test_envs" in proc.stdout and "--eval_train" in proc.stdout


def base(out: Path) -> list[str]:
    return ["--dataset", DATASET, "--algorithm", ALGORITHM, "--device", "cpu",
            "--output_dir", str(out)]  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--dataset", "NoSuchSet"], "unknown dataset 'NoSuchSet'; valid names: .*SynthFFLOMO"),
        (
            ["--algorithm", "NoSuchAlg"],
            "unknown algorithm 'NoSuchAlg'; valid names: .*_TestTinyERM",
        ),
        (["--test_envs", "3"], r"--test_envs 3 out of range .*3 envs: 0=A, 1=B, 2=C"),
        (["--test_envs", "0", "1", "2"], "leaves no training environment"),
        (["--hparams", "{lr: 1"], "--hparams is not valid JSON"),
        (["--hparams", "[1]"], "--hparams must be a JSON object"),
        (["--hparams", '{"lrr": 0.1}'], "unknown hparam 'lrr'; valid hparams: .*batch_size"),
        (["--hparams", '{"lr": -1}'], "--hparams: hparam 'lr' = -1 is out of range; .* >= 0"),
        (["--steps", "0"], "--steps 0; expected a positive integer"),
        (["--data_dir", "/no/such/dir"], "--data_dir /no/such/dir is not a folder"),
        (["--task", "domain_adaptation"], "invalid choice: 'domain_adaptation'"),
    ],
)
def test_bad_input_exits_2_and_creates_nothing(tmp_path, capsys, extra, message) -> None:
    out = tmp_path / "job" / "sub"
    assert main([*base(out), *extra]) == 2
    err = capsys.readouterr().err
    assert "python -m roga_bench.train: error: " in err
    assert re.search(message, err), err
    assert list(tmp_path.iterdir()) == []


def test_cuda_without_a_gpu(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert main([*base(tmp_path / "job"), "--device", "cuda"]) == 2
    assert "--device cuda but no CUDA device is available" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_output_dir_that_is_a_file(tmp_path: Path, capsys) -> None:
    file = tmp_path / "f"
    file.write_text("x")
    assert main(base(file)) == 2
    assert f"output_dir {file} is a file, expected a folder" in capsys.readouterr().err
    assert main(base(file / "below")) == 2
    assert "is a file, expected a folder" in capsys.readouterr().err
    assert sorted(tmp_path.iterdir()) == [file]


def test_non_writable_output_dir(tmp_path: Path, capsys, monkeypatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    if os.geteuid() == 0:  # root ignores modes: make access() answer as for another user
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, m: False if Path(p) == locked else real(p, m))
    assert main(base(locked / "job")) == 2
    assert f"folder {locked} is not writable" in capsys.readouterr().err
    assert list(locked.iterdir()) == []


def test_nan_loss_exits_1_without_done(tmp_path: Path, capsys) -> None:
    out = tmp_path / "nan"
    assert main([*base(out), "--algorithm", NAN_ALGORITHM, "--steps", "3"]) == 1
    assert "training failed: non-finite loss at step 1" in capsys.readouterr().err
    assert "non-finite loss at step 1" in (out / "err.txt").read_text()
    assert not (out / "done").exists()


def test_module_exit_code_on_bad_input(tmp_path: Path) -> None:
    """The real process exits 2 (a malformed number: fails in argparse, before torch loads)."""
    out = tmp_path / "job"
    proc = subprocess.run(
        [sys.executable, "-m", "roga_bench.train", "--steps", "ten", "--output_dir", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "argument --steps: invalid int value: 'ten'" in proc.stderr
    assert not out.exists()
