"""``validate_jobs`` (sweep/_jobs.py) before a sweep writes anything: the weights a job would
load from ``--pretrained_dir`` and every job's batch against its own data, each bad input named.

Kills the mutants ``benchmarks/mutation.py jobs`` found alive (none of these paths had a test).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from roga_bench.backbones.pretrained_dir import RELEASED_NAMES
from roga_bench.datasets.check import BatchSizeError
from roga_bench.datasets.testing import write_tree
from roga_bench.sweep import make_jobs, validate_jobs

# 4 train videos per label x 2 frames: every FF++ method env's train split holds 16 frames
HP = {"image_size": 16, "frames_per_video": 2, "backbone": "small_cnn", "batch_size": 16}


@pytest.fixture(scope="module")
def ffpp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("ffpp"), frames=3, compressions=("c23",))


def _args(data_dir: Path, **hp) -> dict:
    return {
        "dataset": "FFppLOMO",
        "algorithm": "ERM",
        "test_envs": [0],
        "hparams_seed": 0,
        "trial_seed": 0,
        "data_dir": str(data_dir),
        "hparams": json.dumps({**HP, **hp}),
    }


def test_jobs_that_fit_pass_and_a_batch_too_large_names_the_job(ffpp, tmp_path):
    fits = _args(ffpp)
    validate_jobs(make_jobs([fits, {**fits, "test_envs": [1]}], tmp_path))
    big = {**_args(ffpp, batch_size=17), "test_envs": [0, 2]}
    with pytest.raises(BatchSizeError, match="^FFppLOMO with --test_envs 0 2: batch_size 17"):
        validate_jobs(make_jobs([fits, big], tmp_path))
    assert not any(tmp_path.iterdir())  # nothing written


def test_the_batch_is_checked_against_the_jobs_own_data_dir(ffpp, tmp_path):
    # a data_dir with too few videos for the batch: only read from the job's own data_dir
    small = write_tree(tmp_path / "small", frames=3, compressions=("c23",), counts={
        "train": 1, "val": 1, "test": 1})  # fmt: skip
    validate_jobs(make_jobs([_args(ffpp)], tmp_path / "sweep"))
    with pytest.raises(BatchSizeError, match="batch_size 16"):
        validate_jobs(make_jobs([_args(small)], tmp_path / "sweep"))


def test_jobs_sharing_hparams_do_not_end_the_check(ffpp, tmp_path):
    # the second job's hparams equal the first's (test envs do not change them): skipped, and
    # the third, with other hparams, is still checked
    fits = _args(ffpp)
    bad = _args(ffpp, no_such_hparam=1)
    with pytest.raises(ValueError, match=r"no_such_hparam.*\(job ERM on FFppLOMO\)$"):
        validate_jobs(make_jobs([fits, {**fits, "test_envs": [1]}, bad], tmp_path))
    big = _args(ffpp, batch_size=17)
    with pytest.raises(BatchSizeError, match="batch_size 17"):
        validate_jobs(make_jobs([fits, {**fits, "test_envs": [1]}, big], tmp_path))


def test_a_pretrained_dir_without_the_backbones_weights_fails_before_any_job(ffpp, tmp_path):
    weights = tmp_path / "weights"
    weights.mkdir()
    job = {**_args(ffpp, backbone="resnet34"), "pretrained_dir": str(weights)}
    expected = weights / RELEASED_NAMES["resnet34"]
    with pytest.raises(
        ValueError,
        match=rf"--pretrained_dir {weights}: backbone 'resnet34' expects {expected} .*"
        r"\(job ERM on FFppLOMO\)$",
    ):
        validate_jobs(make_jobs([job], tmp_path / "sweep"))
    assert not (tmp_path / "sweep").exists()
    expected.write_bytes(b"weights")  # the file is there: the jobs may start
    validate_jobs(make_jobs([job], tmp_path / "sweep"))


def test_weights_are_not_looked_up_for_jobs_that_load_none_from_the_folder(ffpp, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    resnet = _args(ffpp, backbone="resnet34")
    # trained from scratch, or given a weights file of its own (hparam pretrained)
    validate_jobs(make_jobs([{**resnet, "pretrained_dir": str(empty), "from_scratch": True}],
                            tmp_path))  # fmt: skip
    own = {**_args(ffpp, backbone="resnet34", pretrained=str(tmp_path / "mine.pth"))}
    validate_jobs(make_jobs([{**own, "pretrained_dir": str(empty)}], tmp_path))
    # no --pretrained_dir at all
    validate_jobs(make_jobs([resnet], tmp_path))
