"""Loading sweep folders into records: finished runs only, flattened args/hparams, NaN kept."""

from __future__ import annotations

import json
import math

import pytest

from roga_bench.records import TornLineWarning
from roga_bench.reporting import RecordsError, display_algorithm, load_records
from roga_bench.reporting.testing import checkpoint, write_run


def _ck(step: int, value: float = 0.5) -> dict:
    return checkpoint(step, 4, lambda key: value)


def test_loads_finished_runs_flattens_and_skips_unfinished(tmp_path):
    write_run(
        tmp_path,
        dataset="FFppLOMO",
        algorithm="ERM",
        test_envs=[1],
        checkpoints=[_ck(0), _ck(100)],
        trial_seed=2,
        hparams={"optimizer": "adam"},
    )
    write_run(
        tmp_path,
        dataset="FFppLOMO",
        algorithm="RoGA",
        test_envs=[1],
        done=False,
        checkpoints=[_ck(0)],
    )
    (tmp_path / "0123456789abcdef0123456789abcdef").mkdir()  # a job that has not written yet
    (tmp_path / "tables").mkdir()  # the sweep's report folder is not a job
    recs = load_records(tmp_path)
    assert recs.n_done == 1 and len(recs.skipped) == 2
    assert "1 finished runs" in recs.summary() and "2 incomplete" in recs.summary()
    df = recs.df
    assert len(df) == 2 and list(df["step"]) == [0, 100]
    row = df.iloc[0]
    assert row["args.algorithm"] == "ERM" and row["algorithm"] == "ERM (Adam)"
    assert row["hparams.optimizer"] == "adam" and row["hparams.rho"] == 0.1
    assert row["backbone"] == "small_cnn" and row["trial_seed"] == 2
    assert row["test_envs"] == (1,) and row["dataset"] == "FFppLOMO"
    assert row["env3_out_video_auc"] == 0.5


def test_nan_metric_line_is_kept(tmp_path):
    job = write_run(
        tmp_path, dataset="FFppLOMO", algorithm="ERM", test_envs=[0], checkpoints=[_ck(0, math.nan)]
    )
    assert "NaN" in (job / "results.jsonl").read_text()  # json writes NaN; we must read it
    df = load_records(tmp_path).df
    assert len(df) == 1 and math.isnan(df.iloc[0]["env0_in_auc"])


def test_unreadable_line_names_file_and_line(tmp_path):
    job = write_run(
        tmp_path, dataset="FFppLOMO", algorithm="ERM", test_envs=[0], checkpoints=[_ck(0), _ck(1)]
    )
    lines = (job / "results.jsonl").read_text().splitlines()
    (job / "results.jsonl").write_text(lines[0] + "\n{truncated\n" + lines[1] + "\n")
    with pytest.raises(RecordsError, match=r"results\.jsonl:2: not valid JSON"):
        load_records(tmp_path)
    # the same cut as the last line is a torn write: left out, said, the rest read
    (job / "results.jsonl").write_text(lines[0] + "\n" + lines[1][:30])
    with pytest.warns(TornLineWarning, match=r"results\.jsonl:2: torn last line"):
        assert list(load_records(tmp_path).df["step"]) == [0]
    (job / "results.jsonl").write_text(json.dumps({"step": 0}) + "\n")
    with pytest.raises(RecordsError, match=r"results\.jsonl:1: expected a JSON object"):
        load_records(tmp_path)


@pytest.mark.parametrize(
    "setup, message",
    [
        ("missing", "not a folder"),
        ("empty", "no job folders"),
        ("unfinished", "no finished jobs"),
    ],
)
def test_bad_folders_raise_clear_errors(tmp_path, setup, message):
    root = tmp_path / "sweep"
    if setup != "missing":
        root.mkdir()
    if setup == "job_folder":
        root = write_run(
            root, dataset="FFppLOMO", algorithm="ERM", test_envs=[0], checkpoints=[_ck(0)]
        )
    if setup == "unfinished":
        write_run(
            root,
            dataset="FFppLOMO",
            algorithm="ERM",
            test_envs=[0],
            done=False,
            checkpoints=[_ck(0)],
        )
    with pytest.raises(RecordsError, match=message):
        load_records(root)


@pytest.mark.parametrize(
    "algorithm, optimizer, label",
    [
        ("ERM", "sgd", "ERM"),
        ("ERM", "adam", "ERM (Adam)"),
        ("ERM", None, "ERM"),
        ("SAM", "Adam", "SAM (Adam)"),
        ("RoGA", float("nan"), "RoGA"),
        ("ERM", "lion", "ERM (lion)"),
    ],
)
def test_display_algorithm(algorithm, optimizer, label):
    assert display_algorithm(algorithm, optimizer) == label
