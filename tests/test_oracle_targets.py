"""Issue 11.3: oracle selection on a cross-dataset target, whose val split is its test split."""

from __future__ import annotations

import warnings

import pytest

from roga_bench.reporting import load_records, select
from roga_bench.reporting._synthetic import checkpoint, write_run

NAMES = ["DF", "F2F", "FS", "NT", "CDF-v2", "DFDC"]


def _run(root, test_envs, mirrored: bool, dataset="FFppCrossDataset", names=NAMES) -> None:
    def value(key: str) -> float:
        env, split, metric = key.split("_", 2)
        base = 0.6 + 0.01 * int(env[3:])
        # a target's env{t}_out is its env{t}_in when val mirrors test, as training writes it
        return base + (0.0 if mirrored or split != "out" else 0.05) + (metric == "loss") * 0.1

    write_run(
        root,
        dataset=dataset,
        algorithm="RoGA",
        test_envs=test_envs,
        checkpoints=[
            {**checkpoint(s, len(names), value), "dataset_environments": names} for s in (0, 1)
        ],
    )


def test_oracle_warns_when_a_test_envs_val_is_its_test(tmp_path):
    _run(tmp_path, [4, 5], mirrored=True)
    df = load_records(tmp_path).df
    with pytest.warns(UserWarning, match=r"validation split is their test split \(CDF-v2, DFDC"):
        out = select(df, "oracle")
    assert list(out.env_name) == ["CDF-v2", "DFDC"]  # still selected: a warning, not a refusal
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        select(df, "iid")  # training-domain validation never looks at the targets


def test_oracle_is_silent_when_val_and_test_differ(tmp_path):
    _run(tmp_path, [0], mirrored=False, dataset="FFppLOMO", names=NAMES[:4])
    df = load_records(tmp_path).df
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(select(df, "oracle")) == 1
