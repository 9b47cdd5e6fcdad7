"""Sweep env indices resolve like training does, and cross-dataset jobs pin their targets.

Issue 11 item 4: the grid used to call ``present_environments(data_dir)`` without the job's
hparams (``json_dir``/``targets``), and a job's hash held only indices, so the same hash could mean
other targets once the data on disk changed.
"""

from __future__ import annotations

import json
import shutil

import pytest

from roga_bench.datasets import DatasetError, get_dataset_class
from roga_bench.datasets.testing import write_tree
from roga_bench.sweep import make_args_list, make_jobs

ARGS = dict(
    n_trials=1,
    algorithms=["ERM"],
    n_hparams_from=0,
    n_hparams=1,
    steps=None,
    task="domain_generalization",
    holdout_fraction=0.2,
)


def _tree(tmp_path, targets=("CDF-v2", "UADFV", "DFDCP")):
    return write_tree(tmp_path / "rgb", targets=targets, compressions=("c23",), counts={
        "train": 1, "val": 1, "test": 1})  # fmt: skip


def test_json_dir_from_hparams_decides_the_environments(tmp_path):
    root = _tree(tmp_path)
    moved = tmp_path / "json_elsewhere"
    shutil.move(root / "dataset_json", moved)
    hparams = json.dumps({"json_dir": str(moved)})
    args = make_args_list(
        dataset_names=["FFppCrossDataset"], data_dir=str(root), hparams=hparams,
        test_envs_mode="crossdataset", **ARGS,
    )  # fmt: skip
    assert [a["test_envs"] for a in args] == [[4, 5, 6]]
    assert json.loads(args[0]["hparams"])["targets"] == "CDF-v2,UADFV,DFDCP"
    assert json.loads(args[0]["hparams"])["json_dir"] == str(moved)


def test_targets_hparam_limits_the_indices(tmp_path):
    root = _tree(tmp_path)
    args = make_args_list(
        dataset_names=["FFppCrossDataset"], data_dir=str(root),
        hparams=json.dumps({"targets": "UADFV"}), test_envs_mode="crossdataset", **ARGS,
    )  # fmt: skip
    assert [a["test_envs"] for a in args] == [[4]]
    assert json.loads(args[0]["hparams"]) == {"targets": "UADFV"}


def test_same_indices_other_targets_hash_differently(tmp_path):
    a = make_args_list(
        dataset_names=["FFppCrossDataset"], data_dir=str(_tree(tmp_path / "a", ("CDF-v2",))),
        test_envs_mode="crossdataset", **ARGS,
    )  # fmt: skip
    b = make_args_list(
        dataset_names=["FFppCrossDataset"], data_dir=str(_tree(tmp_path / "b", ("UADFV",))),
        test_envs_mode="crossdataset", **ARGS,
    )  # fmt: skip
    for args in (a, b):
        args[0]["data_dir"] = "/same/place"  # only the targets differ now
    assert a[0]["test_envs"] == b[0]["test_envs"] == [4]
    ja, jb = make_jobs(a, tmp_path / "s"), make_jobs(b, tmp_path / "s")
    assert ja[0].output_dir != jb[0].output_dir


def test_pinned_targets_are_required_at_training_time(tmp_path):
    root = _tree(tmp_path)
    args = make_args_list(
        dataset_names=["FFppCrossDataset"], data_dir=str(root),
        test_envs_mode="crossdataset", **ARGS,
    )  # fmt: skip
    hparams = json.loads(args[0]["hparams"])
    shutil.rmtree(root / "UADFV")  # a target vanished after the sweep was planned
    cls = get_dataset_class("FFppCrossDataset")
    with pytest.raises(DatasetError, match="UADFV"):
        cls(str(root), args[0]["test_envs"], hparams)


def test_lomo_jobs_gain_no_targets_key(tmp_path):
    root = _tree(tmp_path)
    args = make_args_list(dataset_names=["FFppLOMO"], data_dir=str(root), **ARGS)
    assert [a["test_envs"] for a in args] == [[0], [1], [2], [3]]
    assert all("hparams" not in a for a in args)
