"""The bad-input contract: one clear line, exit 2, nothing created (train, sweep launch), and
``python -m roga_bench.datasets check`` finding a corrupt frame a short run never reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from roga_bench.datasets import FFppLOMO
from roga_bench.datasets.__main__ import main as datasets_main
from roga_bench.datasets.check import BatchSizeError, check_batch_size, check_frames
from roga_bench.datasets.testing import write_tree
from roga_bench.sweep import main as sweep_main
from roga_bench.train import main as train_main

# 4 train videos per label x 2 frames: every method env's train split holds (4 + 4) x 2 = 16.
HP = {"image_size": 16, "frames_per_video": 2, "backbone": "small_cnn"}


@pytest.fixture(scope="module")
def ffpp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("ffpp"), frames=3, compressions=("c23",))


def test_check_batch_size_names_env_and_split_sizes(ffpp: Path) -> None:
    ds = FFppLOMO(ffpp, [0], HP)
    check_batch_size(ds, [0], 16)  # exactly one batch fits
    with pytest.raises(BatchSizeError) as info:
        check_batch_size(ds, [0], 17)
    message = str(info.value)
    assert "\n" not in message and "batch_size 17" in message
    assert "env 1=F2F (16 frames)" in message
    assert "1=F2F 16, 2=FS 16, 3=NT 16" in message and "0=DF" not in message


def _error_lines(err: str, prefix: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(prefix)]


def test_train_batch_larger_than_a_split_exits_2_creating_nothing(ffpp, tmp_path, capsys):
    out = tmp_path / "runs" / "job"
    argv = ["--dataset", "FFppLOMO", "--algorithm", "ERM", "--data_dir", str(ffpp),
            "--test_envs", "0", "--device", "cpu", "--output_dir", str(out),
            "--hparams", json.dumps({**HP, "batch_size": 32})]  # fmt: skip
    assert train_main(argv) == 2
    lines = _error_lines(capsys.readouterr().err, "python -m roga_bench.train: error:")
    assert len(lines) == 1 and "batch_size 32" in lines[0] and "1=F2F 16" in lines[0]
    assert list(tmp_path.iterdir()) == []  # no run folder, no out.txt/err.txt


def test_sweep_launch_batch_larger_than_a_split_exits_2_creating_nothing(ffpp, tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = ["launch", "--datasets", "FFppLOMO", "--algorithms", "ERM", "--data_dir", str(ffpp),
            "--output_dir", str(out), "--n_trials", "1", "--steps", "1",
            "--hparams", json.dumps({**HP, "batch_size": 32}), "--skip_confirmation",
            "--command_launcher", "local"]  # fmt: skip
    assert sweep_main(argv) == 2
    lines = _error_lines(capsys.readouterr().err, "error:")
    assert len(lines) == 1 and "FFppLOMO with --test_envs" in lines[0]
    assert "batch_size 32" in lines[0] and "train split sizes:" in lines[0]
    assert not out.exists()


def test_datasets_check_reports_counts_and_every_bad_file(tmp_path, capsys):
    write_tree(tmp_path, frames=3, compressions=("c23",))
    argv = ["check", "--dataset", "FFppLOMO", "--data_dir", str(tmp_path), "--hparams",
            json.dumps({"frames_per_video": 2})]  # fmt: skip
    assert datasets_main(argv) == 0
    out = capsys.readouterr().out
    assert "0=DF             train        16" in out and "0 bad" in out
    # frame 001 is never read with frames_per_video 2 (frames 000 and 002 are): a short run
    # passes it silently; check --all_frames finds it.
    bad = tmp_path / "FaceForensics++/manipulated_sequences/Deepfakes/c23/frames/006_009/001.png"
    bad.write_bytes(b"not a png")
    assert datasets_main(argv) == 0
    capsys.readouterr()
    assert datasets_main([*argv, "--all_frames"]) == 1
    out = capsys.readouterr().out
    assert f"bad frame: {bad}: cannot decode image" in out and "1 bad" in out
    assert "0=DF             train        24" in out


def test_check_frames_decodes_shared_frames_once(tmp_path):
    write_tree(tmp_path, frames=2, compressions=("c23",))
    ds = FFppLOMO(tmp_path, [0], HP)
    seen = []
    report = check_frames(ds, decoder=lambda path, size: seen.append(path))
    assert report.ok and len(seen) == len(set(seen)) == report.decoded
    reals = len(ds.split(0, "train").paths) // 2
    # FF-real frames sit in all four envs but are decoded once
    assert report.decoded == sum(report.counts.values()) - 3 * (reals + 2 * 2 * 2)


def test_cross_dataset_targets_are_never_training_envs_in_the_batch_check(tmp_path):
    from roga_bench.datasets import FFppCrossDataset
    from roga_bench.datasets.check import check_runs_batch_size

    write_tree(tmp_path, frames=3, compressions=("c23",), targets=("CDF-v2",))
    ds = FFppCrossDataset(tmp_path, [4], HP)
    assert len(ds.split(4, "train")) == 0 and ds.test_only_envs == [4]
    check_batch_size(ds, [], 16)  # the empty target train split is not a training split
    hp = {**HP, "batch_size": 16}
    runs = [
        ("FFppCrossDataset", str(tmp_path), [4], hp),
        ("FFppCrossDataset", str(tmp_path), [0, 4], hp),
    ]
    check_runs_batch_size(runs)  # one build, both runs fit
    with pytest.raises(
        BatchSizeError, match="FFppCrossDataset with --test_envs 0 4: batch_size 17"
    ):
        check_runs_batch_size([(*runs[1][:3], {**HP, "batch_size": 17})])
