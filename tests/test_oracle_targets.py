"""Oracle selection on a cross-dataset target, whose val split is its test split: refused unless
asked for (issue 11.3 warned; issue 16 refuses, since it picks hparams on the reported frames)."""

from __future__ import annotations

import warnings

import pytest

from roga_bench.reporting import build_tables, load_records, select
from roga_bench.reporting.selection import SelectionError
from roga_bench.reporting.testing import checkpoint, write_run
from roga_bench.tables import main

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


def test_oracle_refuses_a_test_env_whose_val_is_its_test(tmp_path):
    _run(tmp_path, [4, 5], mirrored=True)
    df = load_records(tmp_path).df
    with pytest.raises(SelectionError, match=r"validation split of CDF-v2, DFDC is its test"):
        select(df, "oracle")
    out = select(df, "oracle", allow_test_frames=True)  # explicitly asked for
    assert list(out.env_name) == ["CDF-v2", "DFDC"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        select(df, "iid")  # training-domain validation never looks at the targets


def test_oracle_on_test_frames_says_so_in_the_title_and_cli_refuses_without_it(tmp_path, capsys):
    _run(tmp_path, [4, 5], mirrored=True)
    argv = ["--input_dir", str(tmp_path), "--tables", "I", "--selection", "oracle"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: oracle selection refused") and "CDF-v2, DFDC" in err
    assert "--oracle_on_test" in err
    tables, _ = build_tables(
        tmp_path, "I", "oracle", paper_dir=tmp_path / "no", oracle_on_test=True
    )
    assert tables["I"].title.endswith("(oracle on test frames)")
    assert main([*argv, "--oracle_on_test"]) == 0
    assert "oracle on test frames" in capsys.readouterr().out


def test_oracle_is_silent_when_val_and_test_differ(tmp_path):
    _run(tmp_path, [0], mirrored=False, dataset="FFppLOMO", names=NAMES[:4])
    df = load_records(tmp_path).df
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(select(df, "oracle")) == 1
